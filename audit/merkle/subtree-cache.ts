import type { SubtreeHash } from './subtree-hash.ts'

export interface SubtreeCacheOptions {
  /**
   * The lowest level kept (default 8: subtrees of 256 leaves and up). Lower subtrees are
   * rehashed from their leaves, which costs at most 2^minLevel leaf reads per proof hash.
   */
  readonly minLevel?: number
  /** How many subtree hashes to keep at most (default 2^20, about 100 MB); least recent go. */
  readonly maxEntries?: number
}

/**
 * Hashes of complete perfect subtrees, keyed by (level, index). Entries never go stale in an
 * append-only tree, so the only reason to drop one is memory. One cache belongs to one log.
 */
export class SubtreeCache {
  readonly minLevel: number
  readonly maxEntries: number
  readonly #hashes = new Map<number, Uint8Array>()

  constructor(options: SubtreeCacheOptions = {}) {
    this.minLevel = options.minLevel ?? 8
    this.maxEntries = options.maxEntries ?? 2 ** 20
  }

  /** How many subtree hashes are kept. */
  get size(): number {
    return this.#hashes.size
  }

  get(level: number, index: number): Uint8Array | undefined {
    if (level < this.minLevel) return undefined
    const key = flatIndex(level, index)
    const hash = this.#hashes.get(key)
    if (hash === undefined) return undefined
    // Least recently used goes first: a hit moves to the back of the Map's insertion order.
    this.#hashes.delete(key)
    this.#hashes.set(key, hash)
    return hash
  }

  /** Keeps a complete subtree's hash; below `minLevel` this does nothing. */
  set(level: number, index: number, hash: Uint8Array): void {
    if (level < this.minLevel) return
    const key = flatIndex(level, index)
    this.#hashes.delete(key)
    this.#hashes.set(key, hash)
    if (this.#hashes.size > this.maxEntries) {
      this.#hashes.delete(this.#hashes.keys().next().value!)
    }
  }

  /** Keeps every subtree of `subtrees`, as `MerkleFrontier.append` and `subtrees()` give them. */
  remember(subtrees: Iterable<SubtreeHash>): void {
    for (const { level, index, hash } of subtrees) this.set(level, index, hash)
  }
}

/**
 * The in-order position of a node in the infinite binary tree over the leaves, a unique number
 * per (level, index): index * 2^(level + 1) + 2^level - 1. It stays below 2 * treeSize, exact
 * in a double for any tree of fewer than 2^52 leaves.
 */
function flatIndex(level: number, index: number): number {
  return index * 2 ** (level + 1) + 2 ** level - 1
}
