import { PalisadeError } from '../../platform/errors.ts'

/**
 * What went wrong with a Merkle proof, a tree size or a stored tree state. Codes are stable:
 * callers (the API, `palisade audit verify`) branch on them, so a retired code is never reused.
 */
export type MerkleErrorCode =
  /** A leaf index is not below the tree size (RFC 9162 §2.1.3.2 step 1). */
  | 'PAL_PROOF_INDEX_OUT_OF_RANGE'
  /** Tree sizes outside the proof's domain: not an integer, or not 0 < size1 <= size2. */
  | 'PAL_PROOF_SIZE_INVALID'
  /** A proof with more or fewer hashes than its index and sizes call for. */
  | 'PAL_PROOF_WRONG_LENGTH'
  /** A leaf hash or proof hash that is not 32 bytes long. */
  | 'PAL_PROOF_MALFORMED_HASH'
  /** The proof leads to a root other than the one it should prove. */
  | 'PAL_PROOF_ROOT_MISMATCH'
  /** A serialised tree state (frontier) that cannot be a tree's state. */
  | 'PAL_MERKLE_STATE_INVALID'
  /** A leaf hash source that answered with the wrong number or size of hashes. */
  | 'PAL_MERKLE_SOURCE_INVALID'

// A proof that does not hold answers 422 (the request was understood, the proof is wrong); an
// input no tree can have answers 400; a store that answers nonsense is our fault, 500.
const statusOf: Record<MerkleErrorCode, number> = {
  PAL_PROOF_INDEX_OUT_OF_RANGE: 400,
  PAL_PROOF_SIZE_INVALID: 400,
  PAL_PROOF_WRONG_LENGTH: 422,
  PAL_PROOF_MALFORMED_HASH: 400,
  PAL_PROOF_ROOT_MISMATCH: 422,
  PAL_MERKLE_STATE_INVALID: 500,
  PAL_MERKLE_SOURCE_INVALID: 500,
}

/** A Merkle proof that does not verify, or an input no tree can have; `code` says which. */
export class MerkleError extends PalisadeError {
  declare readonly code: MerkleErrorCode

  constructor(code: MerkleErrorCode, message: string, context: Record<string, unknown> = {}) {
    super(code, message, { status: statusOf[code], context })
    this.name = 'MerkleError'
  }
}
