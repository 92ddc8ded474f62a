import { createHash } from 'node:crypto'

/** Bytes in every hash of the tree: SHA-256, as RFC 9162 §2.1 uses throughout. */
export const HASH_SIZE = 32

// RFC 9162 §2.1.1: domain separation between leaves and interior nodes, so that no leaf can
// be passed off as a node (the second-preimage attack on plain Merkle trees).
const LEAF_PREFIX = new Uint8Array([0x00])
const NODE_PREFIX = new Uint8Array([0x01])

/**
 * The hash of an empty tree, MTH({}) = SHA-256() (RFC 9162 §2.1.1).
 *
 * @example hex(emptyRoot()) // 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
 */
export function emptyRoot(): Uint8Array {
  return new Uint8Array(createHash('sha256').digest())
}

/**
 * The hash of one log entry, MTH({d}) = SHA-256(0x00 || d) (RFC 9162 §2.1.1).
 *
 * @param entry the entry's bytes exactly as stored; the tree commits to these bytes.
 */
export function leafHash(entry: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(LEAF_PREFIX).update(entry).digest())
}

/** The hash of an interior node, SHA-256(0x01 || left || right) (RFC 9162 §2.1.1). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  const hash = createHash('sha256').update(NODE_PREFIX).update(left).update(right)
  return new Uint8Array(hash.digest())
}
