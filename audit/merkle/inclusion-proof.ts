import { checkIndex } from './_check.ts'
import { inclusionRanges } from './_ranges.ts'
import { rootHash } from './root-hash.ts'

/**
 * The inclusion proof PATH(m, D[n]) of RFC 9162 §2.1.3.1 for leaf `leafIndex` of the tree made of
 * all `leafHashes`: the sibling hashes from the leaf up to the root.
 *
 * This reads every leaf it is given; it is the reference for small trees and offline tools. A
 * log reads leaves from a store and keeps subtree hashes between proofs: use `ProofBuilder`.
 *
 * @throws {MerkleError} `PAL_PROOF_INDEX_OUT_OF_RANGE` unless 0 <= leafIndex < leafHashes.length.
 * @example inclusionProof(0, [h0, h1, h2]) // [h1, h2]
 */
export function inclusionProof(leafIndex: number, leafHashes: readonly Uint8Array[]): Uint8Array[] {
  checkIndex(leafIndex, leafHashes.length)

  const ranges = inclusionRanges(leafIndex, leafHashes.length)
  return ranges.map(({ start, end }) => rootHash(leafHashes.slice(start, end)))
}
