import { bitLength, isOdd, popCount, shiftRight, xor } from './_bits.ts'
import { bytesEqual, checkHash, checkIndex, checkProof, hex, shapeMismatch } from './_check.ts'
import { nodeHash } from './hash.ts'
import { MerkleError } from './merkle-error.ts'

/** What an inclusion proof claims: this leaf hash is at this index of the tree of this root. */
export interface InclusionClaim {
  readonly leafIndex: number
  readonly treeSize: number
  readonly leafHash: Uint8Array
  readonly proof: readonly Uint8Array[]
}

/**
 * Checks that `leafHash` is leaf `leafIndex` of the tree of `treeSize` leaves whose root is
 * `root` (RFC 9162 §2.1.3.2). Returns normally when the proof holds.
 *
 * @throws {MerkleError} naming the first thing wrong: `PAL_PROOF_INDEX_OUT_OF_RANGE`,
 *   `PAL_PROOF_SIZE_INVALID`, `PAL_PROOF_MALFORMED_HASH`, `PAL_PROOF_WRONG_LENGTH`, or
 *   `PAL_PROOF_ROOT_MISMATCH` when the proof leads to another root.
 * @example verifyInclusion({ leafIndex: 3, treeSize: 8, leafHash, proof, root: checkpoint.root })
 */
export function verifyInclusion(claim: InclusionClaim & { readonly root: Uint8Array }): void {
  const computed = rootFromInclusionProof(claim)

  if (!bytesEqual(computed, claim.root)) {
    throw new MerkleError(
      'PAL_PROOF_ROOT_MISMATCH',
      `root: the inclusion proof for leaf ${claim.leafIndex} of ${claim.treeSize} leads to ` +
        `${hex(computed)}, not to the given root ${hex(claim.root)}`,
      { field: 'root', leafIndex: claim.leafIndex, treeSize: claim.treeSize },
    )
  }
}

/**
 * The root an inclusion proof leads to, for a caller that compares it itself (for instance
 * against several checkpoints). RFC 9162 §2.1.3.2 steps 1 to 4; the caller does step 5.
 *
 * @throws {MerkleError} as `verifyInclusion`, except `PAL_PROOF_ROOT_MISMATCH`.
 */
export function rootFromInclusionProof(claim: InclusionClaim): Uint8Array {
  const { leafIndex, treeSize, leafHash, proof } = claim

  // Step 1: leaf_index < tree_size.
  checkIndex(leafIndex, treeSize)

  checkHash(leafHash, 'leafHash')

  // Not a step of the RFC, which fails the same proofs in steps 4a and 5: checking the length
  // first names the problem. The path has one hash per level where the leaf's subtree and the
  // last leaf's part (`inner`), then one per perfect subtree on the right edge (`border`).
  const inner = bitLength(xor(leafIndex, treeSize - 1))
  const border = popCount(shiftRight(leafIndex, inner))
  checkProof(proof, inner + border)

  // Steps 2 to 4.
  let fn = leafIndex
  let sn = treeSize - 1
  let r = leafHash
  for (const p of proof) {
    if (sn === 0) throw shapeMismatch('more hashes than the path has levels')
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r)
      while (!isOdd(fn) && fn !== 0) {
        fn = shiftRight(fn, 1)
        sn = shiftRight(sn, 1)
      }
    } else {
      r = nodeHash(r, p)
    }
    fn = shiftRight(fn, 1)
    sn = shiftRight(sn, 1)
  }

  // Step 5, first half: the path reached the root.
  if (sn !== 0) throw shapeMismatch('fewer hashes than the path has levels')
  return r
}
