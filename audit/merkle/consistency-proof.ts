import { checkSizes } from './_check.ts'
import { consistencyRanges } from './_ranges.ts'
import { rootHash } from './root-hash.ts'

/**
 * The consistency proof PROOF(m, D[n]) of RFC 9162 §2.1.4.1 between the first `size1` leaves
 * and the tree made of all `leafHashes`: what a verifier holding the first root needs to see
 * that the second tree only appended to it. Empty when the sizes are equal.
 *
 * This reads every leaf it is given; it is the reference for small trees and offline tools. A
 * log reads leaves from a store and keeps subtree hashes between proofs: use `ProofBuilder`.
 *
 * @throws {MerkleError} `PAL_PROOF_SIZE_INVALID` unless 0 < size1 <= leafHashes.length.
 * @example consistencyProof(2, [h0, h1, h2]) // [h2]
 */
export function consistencyProof(size1: number, leafHashes: readonly Uint8Array[]): Uint8Array[] {
  checkSizes(size1, leafHashes.length)

  const ranges = consistencyRanges(size1, leafHashes.length)
  return ranges.map(({ start, end }) => rootHash(leafHashes.slice(start, end)))
}
