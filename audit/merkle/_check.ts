import { HASH_SIZE } from './hash.ts'
import { MerkleError } from './merkle-error.ts'

/** Throws unless `value` is an integer from 0 to 2^53 - 1, the sizes and indices we accept. */
export function checkCount(value: number, field: string): void {
  if (Number.isSafeInteger(value) && value >= 0) return
  throw new MerkleError(
    'PAL_PROOF_SIZE_INVALID',
    `${field}: expected an integer from 0 to 2^53 - 1, got ${String(value)}`,
    { field, value: String(value) },
  )
}

/** Throws unless `index` names a leaf of a tree of `size` leaves (RFC 9162 §2.1.3.2 step 1). */
export function checkIndex(index: number, size: number): void {
  checkCount(size, 'treeSize')

  if (Number.isSafeInteger(index) && index >= 0 && index < size) return
  throw new MerkleError(
    'PAL_PROOF_INDEX_OUT_OF_RANGE',
    `leafIndex: expected an integer from 0 to ${size - 1} (tree size ${size}), ` +
      `got ${String(index)}`,
    { field: 'leafIndex', leafIndex: String(index), treeSize: size },
  )
}

/**
 * Throws unless 0 < size1 <= size2. RFC 9162 §2.1.4 defines PROOF(m, D[n]) for 0 < m < n; equal
 * sizes are allowed with an empty proof. A proof from the empty tree proves nothing, and the
 * shared test vectors ("consistency check on empty tree is useless") require it be refused.
 */
export function checkSizes(size1: number, size2: number): void {
  checkCount(size1, 'size1')

  checkCount(size2, 'size2')

  if (size1 === 0) {
    throw new MerkleError(
      'PAL_PROOF_SIZE_INVALID',
      `size1: expected a tree size above 0 (nothing is proved about an empty tree), got 0`,
      { field: 'size1', size1, size2 },
    )
  }

  if (size1 > size2) {
    throw new MerkleError(
      'PAL_PROOF_SIZE_INVALID',
      `size1: expected at most size2 (${size2}), got ${size1}: a log never shrinks`,
      { field: 'size1', size1, size2 },
    )
  }
}

/** Throws unless `hash` is a 32-byte hash; `field` names it in the message. */
export function checkHash(hash: Uint8Array, field: string): void {
  if (hash instanceof Uint8Array && hash.length === HASH_SIZE) return
  const got = hash instanceof Uint8Array ? `${hash.length} bytes` : typeof hash
  throw new MerkleError(
    'PAL_PROOF_MALFORMED_HASH',
    `${field}: expected ${HASH_SIZE} bytes, got ${got}`,
    {
      field,
    },
  )
}

/** Throws unless `proof` holds exactly `expected` hashes of 32 bytes. */
export function checkProof(proof: readonly Uint8Array[], expected: number): void {
  if (proof.length !== expected) {
    throw new MerkleError(
      'PAL_PROOF_WRONG_LENGTH',
      `proof: expected ${expected} hashes for these sizes, got ${proof.length}`,
      { field: 'proof', expected, got: proof.length },
    )
  }

  proof.forEach((hash, i) => checkHash(hash, `proof[${i}]`))
}

/** Whether two byte strings are equal. Roots are public, so no constant-time compare. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * The RFC 9162 verification loops' own length failures (§2.1.3.2 step 4a, §2.1.4.2 step 6).
 * The length check before each loop already refuses these proofs; the loops keep the RFC's
 * checks so that each algorithm stands complete as written.
 */
export function shapeMismatch(what: string): MerkleError {
  return new MerkleError('PAL_PROOF_WRONG_LENGTH', `proof: ${what}`, { field: 'proof' })
}

/** Lowercase hex of `bytes`, for messages. */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}
