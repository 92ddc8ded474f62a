import { describeValue } from '../../platform/errors.ts'
import { isOdd, popCount, shiftRight } from './_bits.ts'
import { checkHash } from './_check.ts'
import { emptyRoot, HASH_SIZE, nodeHash } from './hash.ts'
import { MerkleError } from './merkle-error.ts'
import type { SubtreeHash } from './subtree-hash.ts'

/** A frontier as plain JSON, for the state store: the size and the subtree roots in hex. */
export interface FrontierState {
  readonly size: number
  /** The roots of the perfect subtrees, largest (leftmost) first: one per set bit of `size`. */
  readonly hashes: readonly string[]
}

/**
 * The state of an append-only Merkle tree without its leaves: the roots of the perfect
 * subtrees the tree splits into, one per set bit of its size, largest first. This is the
 * compact range [0, size) of the transparency-dev/merkle design; RFC 9162 §2.1.1 gives the
 * split (k is always the largest power of two below n, so the left parts are these subtrees).
 *
 * Appending is O(log n) hashes (O(1) amortised) and the root of the current size is O(log n),
 * with no leaf read back.
 *
 * @example
 * const tree = new MerkleFrontier()
 * tree.append(leafHash(entry))
 * store.put('audit.frontier', tree.toJSON())
 * const again = MerkleFrontier.fromJSON(store.get('audit.frontier'))
 */
export class MerkleFrontier {
  #size: number
  readonly #hashes: Uint8Array[]

  constructor() {
    this.#size = 0
    this.#hashes = []
  }

  /**
   * A frontier from its JSON state, checked: the size must be a safe integer and there must be
   * one 32-byte hex hash per set bit of it.
   *
   * @throws {MerkleError} `PAL_MERKLE_STATE_INVALID` naming the field that is wrong.
   */
  static fromJSON(state: unknown): MerkleFrontier {
    if (typeof state !== 'object' || state === null) throw invalidState('', 'an object', state)
    const { size, hashes } = state as Record<string, unknown>

    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw invalidState('size', 'an integer from 0 to 2^53 - 1', size)
    }

    if (!Array.isArray(hashes)) throw invalidState('hashes', 'an array', hashes)

    if (hashes.length !== popCount(size)) {
      throw invalidState('hashes', `${popCount(size)} hashes for size ${size}`, hashes.length)
    }

    const frontier = new MerkleFrontier()
    hashes.forEach((hash: unknown, i) => {
      if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) {
        throw invalidState(`hashes[${i}]`, `${HASH_SIZE * 2} lowercase hex digits`, hash)
      }
      frontier.#hashes.push(new Uint8Array(Buffer.from(hash, 'hex')))
    })
    frontier.#size = size
    return frontier
  }

  /** How many leaves the tree has. */
  get size(): number {
    return this.#size
  }

  /**
   * Appends one leaf. Each perfect subtree the leaf completes (level 1 and up) is passed to
   * `onSubtree`, for a `SubtreeCache` that proofs will read from.
   *
   * @param leaf the leaf's hash (see `leafHash`), not the entry.
   * @throws {MerkleError} `PAL_PROOF_MALFORMED_HASH` unless `leaf` is 32 bytes.
   */
  append(leaf: Uint8Array, onSubtree?: (subtree: SubtreeHash) => void): void {
    checkHash(leaf, 'leaf')

    if (this.#size === Number.MAX_SAFE_INTEGER) {
      throw new MerkleError('PAL_MERKLE_STATE_INVALID', 'size: the tree is full at 2^53 - 1 leaves')
    }

    // Like adding one to the size in binary: each trailing 1 bit is a subtree of equal size to
    // the left of the new one, and the two merge into one a level up.
    let hash = leaf
    let level = 0
    let index = this.#size
    while (isOdd(shiftRight(this.#size, level))) {
      hash = nodeHash(this.#hashes.pop()!, hash)
      level++
      index = shiftRight(index, 1)
      onSubtree?.({ level, index, hash })
    }
    this.#hashes.push(hash)
    this.#size++
  }

  /** The Merkle Tree Hash of the tree as it is now, MTH(D[size]) of RFC 9162 §2.1.1. */
  root(): Uint8Array {
    if (this.#hashes.length === 0) return emptyRoot()
    // MTH(D[n]) = node(MTH(D[0:k]), MTH(D[k:n])): fold the subtrees from the right.
    let root = this.#hashes[this.#hashes.length - 1]!
    for (let i = this.#hashes.length - 2; i >= 0; i--) root = nodeHash(this.#hashes[i]!, root)
    return root
  }

  /** The perfect subtrees the tree is made of, largest first, with their (level, index). */
  subtrees(): SubtreeHash[] {
    const subtrees: SubtreeHash[] = []
    let start = 0
    for (let level = 52; level >= 0; level--) {
      const width = 2 ** level
      if (shiftRight(this.#size - start, level) === 0) continue
      subtrees.push({ level, index: start / width, hash: this.#hashes[subtrees.length]! })
      start += width
    }
    return subtrees
  }

  /** A copy that appends independently of this one. */
  clone(): MerkleFrontier {
    const copy = new MerkleFrontier()
    copy.#size = this.#size
    copy.#hashes.push(...this.#hashes)
    return copy
  }

  toJSON(): FrontierState {
    return { size: this.#size, hashes: this.#hashes.map((h) => Buffer.from(h).toString('hex')) }
  }
}

function invalidState(field: string, expected: string, got: unknown): MerkleError {
  return new MerkleError(
    'PAL_MERKLE_STATE_INVALID',
    `frontier${field ? `.${field}` : ''}: expected ${expected}, got ${describeValue(got)}`,
    { field },
  )
}
