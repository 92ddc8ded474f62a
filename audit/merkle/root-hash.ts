import { emptyRoot, nodeHash } from './hash.ts'

/**
 * The Merkle Tree Hash of a list of leaf hashes, MTH(D[n]) of RFC 9162 §2.1.1: SHA-256() for no
 * leaves, the leaf hash itself for one, and for more node(MTH(D[0:k]), MTH(D[k:n])) with k the
 * largest power of two below n.
 *
 * Hashing pairs level by level, carrying an odd last node up unchanged, gives the same tree:
 * every left subtree RFC 9162 splits off is perfect, and a perfect subtree is exactly what
 * pairing builds. It runs in O(n) with no recursion.
 *
 * @param leafHashes the leaves' hashes (see `leafHash`), not the entries.
 * @example rootHash([leafHash(a), leafHash(b)]) // nodeHash(leafHash(a), leafHash(b))
 */
export function rootHash(leafHashes: readonly Uint8Array[]): Uint8Array {
  if (leafHashes.length === 0) return emptyRoot()
  let level = leafHashes
  while (level.length > 1) {
    const next: Uint8Array[] = []
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!))
    if (level.length % 2 === 1) next.push(level[level.length - 1]!)
    level = next
  }
  return level[0]!
}
