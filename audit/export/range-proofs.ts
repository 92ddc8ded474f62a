import { HASH_SIZE, MerkleFrontier, nodeHash } from '../merkle/index.ts'
import type { SubtreeHash } from '../merkle/index.ts'

/**
 * Inclusion proofs for every leaf of a range [from, to) in the tree of `treeSize` leaves, built
 * in one pass over the tree's leaves, in order.
 *
 * PATH(m, D[n]) (RFC 9162 §2.1.3.1) walked from the leaf up: at each level, the sibling of the
 * leaf's ancestor is either a complete perfect subtree, or (on the right edge) the range from
 * the sibling's first leaf to n, whose hash folds the tree's last perfect subtrees. For leaves
 * of [from, to), the complete siblings at level l lie within one of the ancestors at that level,
 * so only those nodes are kept: about 2 × 32 bytes per leaf of the range, plus O(log n).
 * A proof is then lookups only, where a `ProofBuilder` would rehash a block of leaves per proof.
 *
 * @example
 * const proofs = new RangeProofs(from, to, anchor.tree_size)
 * for (const leaf of allLeaves) proofs.append(leaf)
 * proofs.finish()
 * const path = proofs.inclusionProof(from)
 */
export class RangeProofs {
  readonly from: number
  readonly to: number
  readonly treeSize: number
  readonly #frontier = new MerkleFrontier()
  /** Per level l: the first node index kept, and the kept hashes, 32 bytes each. */
  readonly #windows: { first: number; count: number; hashes: Buffer }[] = []
  readonly #onSubtree: (subtree: SubtreeHash) => void
  /** Per level l: MTH of [s × 2^l, n) for the incomplete node s of that level, if any. */
  #rightEdge: (Uint8Array | undefined)[] | undefined

  /**
   * @param onSubtree also receives every complete subtree (level ≥ 1), for a `ProofBuilder`'s
   *   cache, so that later proofs over the same tree read few leaves.
   */
  constructor(
    from: number,
    to: number,
    treeSize: number,
    onSubtree: (subtree: SubtreeHash) => void = () => undefined,
  ) {
    if (!(Number.isSafeInteger(from) && Number.isSafeInteger(to) && 0 <= from && from <= to)) {
      throw new RangeError(`expected 0 <= from <= to, got from ${from}, to ${to}`)
    }
    if (!(Number.isSafeInteger(treeSize) && to <= treeSize)) {
      throw new RangeError(`expected a tree size of at least ${to}, got ${treeSize}`)
    }
    this.from = from
    this.to = to
    this.treeSize = treeSize
    this.#onSubtree = onSubtree
    if (from === to) return
    for (let level = 0; 2 ** level < treeSize; level++) {
      const width = 2 ** level
      const first = Math.max(0, Math.floor(from / width) - 1)
      const last = Math.min(Math.floor((to - 1) / width) + 1, Math.floor(treeSize / width) - 1)
      const count = Math.max(0, last - first + 1)
      this.#windows.push({ first, count, hashes: Buffer.alloc(count * HASH_SIZE) })
    }
  }

  /** How many leaves have been appended. */
  get size(): number {
    return this.#frontier.size
  }

  /** MTH of the leaves appended so far. */
  root(): Uint8Array {
    return this.#frontier.root()
  }

  /** Appends the next leaf hash; the tree's leaves must come in order, each once. */
  append(leaf: Uint8Array): void {
    if (this.#frontier.size >= this.treeSize) {
      throw new RangeError(`the tree has ${this.treeSize} leaves; got one more`)
    }
    this.#keep(0, this.#frontier.size, leaf)
    this.#frontier.append(leaf, (subtree) => {
      this.#keep(subtree.level, subtree.index, subtree.hash)
      this.#onSubtree(subtree)
    })
  }

  /** Ends the pass: every leaf is in, and the right edge's hashes are known. */
  finish(): void {
    if (this.#frontier.size !== this.treeSize) {
      throw new RangeError(`expected ${this.treeSize} leaves, got ${this.#frontier.size}`)
    }
    // The tree splits into perfect subtrees, one per set bit of n, largest first. The node of
    // level l that holds leaf n - 1 is incomplete when n's lower l bits are not all zero; its
    // range is the subtrees below level l, folded from the right as MTH does.
    const subtrees = this.#frontier.subtrees()
    const edge: (Uint8Array | undefined)[] = []
    let hash: Uint8Array | undefined
    let next = subtrees.length - 1
    for (let level = 0; level <= 53; level++) {
      edge.push(hash)
      while (next >= 0 && subtrees[next]!.level === level) {
        const subtree = subtrees[next--]!.hash
        hash = hash === undefined ? subtree : nodeHash(subtree, hash)
      }
    }
    this.#rightEdge = edge
  }

  /**
   * PATH(index, D[treeSize]) for a leaf of the range, leaf first.
   *
   * @throws {RangeError} for an index outside [from, to), or before `finish()`.
   */
  inclusionProof(index: number): Uint8Array[] {
    const edge = this.#rightEdge
    if (edge === undefined) throw new RangeError('inclusionProof: call finish() first')
    if (!(Number.isSafeInteger(index) && index >= this.from && index < this.to)) {
      throw new RangeError(`expected an index in [${this.from}, ${this.to}), got ${index}`)
    }

    const path: Uint8Array[] = []
    for (let level = 0; 2 ** level < this.treeSize; level++) {
      const width = 2 ** level
      const node = Math.floor(index / width)
      const sibling = node % 2 === 0 ? node + 1 : node - 1
      const start = sibling * width
      if (start >= this.treeSize) continue
      if (start + width <= this.treeSize) {
        path.push(this.#kept(level, sibling))
      } else {
        path.push(edge[level]!)
      }
    }
    return path
  }

  #keep(level: number, index: number, hash: Uint8Array): void {
    const window = this.#windows[level]
    if (window === undefined) return
    const offset = index - window.first
    if (offset < 0 || offset >= window.count) return
    window.hashes.set(hash, offset * HASH_SIZE)
  }

  #kept(level: number, index: number): Uint8Array {
    const window = this.#windows[level]!
    const offset = (index - window.first) * HASH_SIZE
    return new Uint8Array(window.hashes.buffer, window.hashes.byteOffset + offset, HASH_SIZE)
  }
}
