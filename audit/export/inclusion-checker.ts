import { nodeHash, verifyInclusion } from '../merkle/index.ts'

/**
 * An ancestor whose hash is known to lead to the root: walking up from `node` of its level with
 * `hash` and the hashes `path[rest]`, `path[rest + 1]`, … gives the tree's root.
 */
interface KnownAncestor {
  node: number
  hash: Uint8Array
  path: readonly string[]
  rest: number
}

/**
 * Checks inclusion proofs (RFC 9162 §2.1.3.2) of leaves of one tree, as an export's verifier
 * meets them: entry after entry, each proof to the same anchor.
 *
 * Neighbouring leaves share most of their path. Once a proof has led to the root, the hash it
 * computed for each ancestor is known to lead there; a later proof that computes the same hash
 * for the same ancestor, and goes on with the same remaining hashes, must reach the same root,
 * and stops. A proof with no such ancestor is checked by `verifyInclusion`, which alone
 * reports failures. About 2 node hashes per leaf instead of log2(n).
 */
export class InclusionChecker {
  readonly treeSize: number
  readonly #root: Buffer
  /** By level: known[l - 1] is the ancestor at level l. */
  #known: KnownAncestor[] = []

  constructor(treeSize: number, root: Uint8Array) {
    this.treeSize = treeSize
    this.#root = Buffer.from(root)
  }

  /**
   * Checks that `leaf` is leaf `index` of the tree: `path` is the proof as hex (each checked to
   * be 64 hex digits), `proof` the same hashes as bytes.
   *
   * @throws {MerkleError} from `verifyInclusion`, naming what is wrong, unless the proof holds.
   */
  check(index: number, leaf: Uint8Array, path: readonly string[], proof: Uint8Array[]): void {
    const walked: KnownAncestor[] = []
    let hash = leaf
    let used = 0
    for (let level = 0; 2 ** level < this.treeSize; level++) {
      const width = 2 ** level
      const node = Math.floor(index / width)
      const sibling = node % 2 === 0 ? node + 1 : node - 1
      // A node with no sibling (the tree's right edge) goes up unchanged.
      if (sibling * width < this.treeSize) {
        const next = proof[used++]
        if (next === undefined) break
        hash = sibling < node ? nodeHash(next, hash) : nodeHash(hash, next)
      }
      const ancestor = { node: Math.floor(node / 2), hash, path, rest: used }
      walked.push(ancestor)
      if (this.#leadsToRoot(level + 1, ancestor)) {
        this.#known = [...walked, ...this.#known.slice(walked.length)]
        return
      }
    }

    verifyInclusion({
      leafIndex: index,
      treeSize: this.treeSize,
      leafHash: leaf,
      proof,
      root: this.#root,
    })
    // Kept only when this walk agrees with the library's, as it always should.
    if (used === proof.length && this.#root.equals(hash)) this.#known = walked
  }

  #leadsToRoot(level: number, ancestor: KnownAncestor): boolean {
    const known = this.#known[level - 1]
    if (known === undefined || known.node !== ancestor.node) return false

    if (!bytes(known.hash).equals(ancestor.hash)) return false

    const left = ancestor.path.length - ancestor.rest
    if (left !== known.path.length - known.rest) return false
    for (let i = 0; i < left; i++) {
      if (ancestor.path[ancestor.rest + i] !== known.path[known.rest + i]) return false
    }
    return true
  }
}

function bytes(hash: Uint8Array): Buffer {
  return Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength)
}
