import {
  bitLength,
  isOdd,
  isPowerOfTwo,
  popCount,
  shiftRight,
  trailingZeros,
  xor,
} from './_bits.ts'
import { bytesEqual, checkProof, checkSizes, hex, shapeMismatch } from './_check.ts'
import { nodeHash } from './hash.ts'
import { MerkleError } from './merkle-error.ts'

/** What a consistency proof claims: the tree of `root2` only appended to the tree of `root1`. */
export interface ConsistencyClaim {
  readonly size1: number
  readonly size2: number
  readonly root1: Uint8Array
  readonly root2: Uint8Array
  readonly proof: readonly Uint8Array[]
}

/**
 * Checks that the tree of `size2` leaves and root `root2` extends the tree of `size1` leaves and
 * root `root1`, changing none of its leaves (RFC 9162 §2.1.4.2). Equal sizes need an empty
 * proof and equal roots. Returns normally when the proof holds.
 *
 * @throws {MerkleError} naming the first thing wrong: `PAL_PROOF_SIZE_INVALID` unless
 *   0 < size1 <= size2, `PAL_PROOF_WRONG_LENGTH`, `PAL_PROOF_MALFORMED_HASH`, or
 *   `PAL_PROOF_ROOT_MISMATCH` with `context.field` saying which root the proof misses.
 * @example
 *   verifyConsistency({ size1: old.size, size2: cp.size, root1: old.root, root2: cp.root, proof })
 */
export function verifyConsistency(claim: ConsistencyClaim): void {
  const { size1, size2, root1, root2, proof } = claim

  checkSizes(size1, size2)

  if (size1 === size2) {
    checkProof(proof, 0)
    if (!bytesEqual(root1, root2)) {
      throw new MerkleError(
        'PAL_PROOF_ROOT_MISMATCH',
        `root2: trees of equal size (${size1}) must have equal roots, got root1 ` +
          `${hex(root1)} and root2 ${hex(root2)}`,
        { field: 'root2', size1, size2 },
      )
    }
    return
  }

  // Not a step of the RFC, which fails the same proofs in steps 1, 6 and 7: checking the length
  // first names the problem. The proof is an inclusion path for leaf size1 - 1 of the second
  // tree, cut below the largest perfect subtree that ends at size1 (2^shift leaves), whose hash
  // opens the proof unless it is the whole first tree and so already known as root1.
  const shift = trailingZeros(size1)
  const inner = bitLength(xor(size1 - 1, size2 - 1)) - shift
  const border = popCount(shiftRight(size1 - 1, inner + shift))
  const seeded = isPowerOfTwo(size1)
  checkProof(proof, (seeded ? 0 : 1) + inner + border)

  // Step 2: a first tree of 2^k leaves is itself the subtree the path starts from.
  const path = seeded ? [root1, ...proof] : proof

  // Steps 3 and 4.
  let fn = size1 - 1
  let sn = size2 - 1
  while (isOdd(fn)) {
    fn = shiftRight(fn, 1)
    sn = shiftRight(sn, 1)
  }

  // Steps 5 and 6.
  let fr = path[0]!
  let sr = path[0]!
  for (const c of path.slice(1)) {
    if (sn === 0) throw shapeMismatch('more hashes than the path has levels')
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr)
      sr = nodeHash(c, sr)
      while (!isOdd(fn) && fn !== 0) {
        fn = shiftRight(fn, 1)
        sn = shiftRight(sn, 1)
      }
    } else {
      sr = nodeHash(sr, c)
    }
    fn = shiftRight(fn, 1)
    sn = shiftRight(sn, 1)
  }

  // Step 7.
  if (sn !== 0) throw shapeMismatch('fewer hashes than the path has levels')

  if (!bytesEqual(fr, root1)) throw mismatch('root1', fr, root1, claim)

  if (!bytesEqual(sr, root2)) throw mismatch('root2', sr, root2, claim)
}

function mismatch(
  field: 'root1' | 'root2',
  computed: Uint8Array,
  given: Uint8Array,
  { size1, size2 }: ConsistencyClaim,
): MerkleError {
  return new MerkleError(
    'PAL_PROOF_ROOT_MISMATCH',
    `${field}: the consistency proof from ${size1} to ${size2} leaves leads to ` +
      `${hex(computed)}, not to the given ${field} ${hex(given)}`,
    { field, size1, size2 },
  )
}
