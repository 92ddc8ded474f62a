import { isPowerOfTwo, shiftRight, splitPoint, trailingZeros } from './_bits.ts'
import { checkIndex, checkSizes } from './_check.ts'
import { consistencyRanges, inclusionRanges } from './_ranges.ts'
import type { LeafRange } from './_ranges.ts'
import { emptyRoot, HASH_SIZE, nodeHash } from './hash.ts'
import { MerkleError } from './merkle-error.ts'
import { rootHash } from './root-hash.ts'
import { SubtreeCache } from './subtree-cache.ts'
import type { SubtreeHash } from './subtree-hash.ts'

/**
 * Where a proof builder reads leaf hashes: the log's store. Asynchronous because the log keeps
 * its leaves in ClickHouse and reads them in ranges; an in-memory list answers with a resolved
 * promise, which costs nothing next to hashing. The builder asks only for leaves below the tree
 * size it is given, in ranges of at most `maxLeavesPerRead`.
 */
export interface LeafHashSource {
  /** The hashes of leaves start, start + 1, …, end - 1, in order: exactly end - start of them. */
  leafHashes(start: number, end: number): Promise<readonly Uint8Array[]>
}

export interface ProofBuilderOptions {
  /** Where complete subtree hashes are kept between proofs; one cache per log. */
  readonly cache?: SubtreeCache
  /** The most leaves asked of the source at once (default 65,536, 2 MiB of hashes). */
  readonly maxLeavesPerRead?: number
}

/** A perfect subtree whose hash a proof needs; `key` is unique per (level, index). */
interface Node {
  readonly level: number
  readonly index: number
}

/**
 * Inclusion and consistency proofs (RFC 9162 §2.1.3.1, §2.1.4.1) and roots for any past size of
 * an append-only log, reading leaf hashes from a `LeafHashSource`.
 *
 * Every hash in a proof is the root of a range of leaves, and every range splits into perfect
 * subtrees. Complete perfect subtrees never change, so their hashes are kept in a
 * `SubtreeCache` and a proof reads only the leaves under subtrees it has never seen, or under
 * low ones the cache does not keep. Within one proof, each subtree is hashed once, and the
 * leaves it lacks are read in as few ranges as possible.
 *
 * @example
 * const builder = new ProofBuilder({ leafHashes: (start, end) => store.leafHashes(start, end) })
 * const proof = await builder.inclusionProof(42, checkpoint.size)
 */
export class ProofBuilder {
  readonly cache: SubtreeCache
  readonly #source: LeafHashSource
  readonly #maxLeavesPerRead: number

  constructor(source: LeafHashSource, options: ProofBuilderOptions = {}) {
    this.#source = source
    this.cache = options.cache ?? new SubtreeCache()
    this.#maxLeavesPerRead = Math.max(options.maxLeavesPerRead ?? 65_536, 2 ** this.cache.minLevel)
  }

  /**
   * PATH(leafIndex, D[treeSize]), the sibling hashes from the leaf up to the root.
   *
   * @throws {MerkleError} `PAL_PROOF_INDEX_OUT_OF_RANGE` unless 0 <= leafIndex < treeSize;
   *   `PAL_MERKLE_SOURCE_INVALID` if the source answers with the wrong hashes.
   */
  async inclusionProof(leafIndex: number, treeSize: number): Promise<Uint8Array[]> {
    checkIndex(leafIndex, treeSize)

    return this.#rangeHashes(inclusionRanges(leafIndex, treeSize), treeSize)
  }

  /**
   * PROOF(size1, D[size2]), showing the tree of size2 leaves extends the one of size1 leaves.
   * Empty when the sizes are equal.
   *
   * @throws {MerkleError} `PAL_PROOF_SIZE_INVALID` unless 0 < size1 <= size2;
   *   `PAL_MERKLE_SOURCE_INVALID` if the source answers with the wrong hashes.
   */
  async consistencyProof(size1: number, size2: number): Promise<Uint8Array[]> {
    checkSizes(size1, size2)

    return this.#rangeHashes(consistencyRanges(size1, size2), size2)
  }

  /**
   * MTH(D[treeSize]), the root of the log when it had `treeSize` leaves.
   *
   * @throws {MerkleError} `PAL_MERKLE_SOURCE_INVALID` if the source answers with wrong hashes.
   */
  async rootHash(treeSize: number): Promise<Uint8Array> {
    if (treeSize === 0) return emptyRoot()
    checkIndex(treeSize - 1, treeSize)

    const [root] = await this.#rangeHashes([{ start: 0, end: treeSize }], treeSize)
    return root!
  }

  /** Keeps subtree hashes the caller already has, as `MerkleFrontier.append` reports them. */
  remember(subtrees: Iterable<SubtreeHash>): void {
    this.cache.remember(subtrees)
  }

  async #rangeHashes(ranges: readonly LeafRange[], treeSize: number): Promise<Uint8Array[]> {
    const pieces = ranges.map(perfectPieces)
    const known = await this.#resolve(pieces.flat(), treeSize)
    const hashOf = (node: Node): Uint8Array => this.#combine(node, known)
    // MTH of a range is node(first piece, MTH(rest)): fold its pieces from the right.
    return pieces.map((nodes) => {
      let hash = hashOf(nodes[nodes.length - 1]!)
      for (let i = nodes.length - 2; i >= 0; i--) hash = nodeHash(hashOf(nodes[i]!), hash)
      return hash
    })
  }

  /**
   * Makes sure every node's hash can be computed without further reads: finds the lowest
   * subtrees neither cached nor above `minLevel`, reads their leaves in merged ranges and hashes
   * them. A subtree below `minLevel` brings in its whole `minLevel` block when the tree has all
   * of it, so that the block is cached and the next proof near it reads nothing. Returns the
   * hashes found and made, by node key.
   */
  async #resolve(nodes: readonly Node[], treeSize: number): Promise<Map<number, Uint8Array>> {
    const { minLevel } = this.cache
    const known = new Map<number, Uint8Array>()
    const missing: Node[] = []
    const seen = new Set<number>()
    const visit = (node: Node): void => {
      const key = keyOf(node)
      if (seen.has(key)) return
      seen.add(key)
      // Copied out of the cache, so that the reads below cannot evict what this proof needs.
      const cached = this.cache.get(node.level, node.index)
      if (cached !== undefined) {
        known.set(key, cached)
        return
      }
      if (node.level < minLevel) {
        const block = { level: minLevel, index: shiftRight(node.index, minLevel - node.level) }
        if ((block.index + 1) * 2 ** minLevel <= treeSize) visit(block)
        missing.push(node)
        return
      }
      if (node.level === minLevel) {
        missing.push(node)
        return
      }
      visit({ level: node.level - 1, index: node.index * 2 })
      visit({ level: node.level - 1, index: node.index * 2 + 1 })
    }
    nodes.forEach(visit)

    for (const read of this.#plannedReads(missing)) {
      const leaves = await this.#read(read.start, read.end)
      // Blocks first, keeping every level of each: the lower subtrees a proof needs inside a
      // block it has just hashed are then looked up rather than hashed a second time.
      const blocks = new Map<number, Uint8Array[][]>()
      for (const node of read.nodes.sort((a, b) => b.level - a.level)) {
        const first = node.index * 2 ** node.level - read.start
        let hash: Uint8Array
        if (node.level === minLevel) {
          const levels = perfectLevels(leaves.slice(first, first + 2 ** minLevel))
          blocks.set(node.index, levels)
          hash = levels[minLevel]![0]!
        } else {
          const blockIndex = shiftRight(node.index, minLevel - node.level)
          const levels = blocks.get(blockIndex)
          const offset = node.index - blockIndex * 2 ** (minLevel - node.level)
          hash =
            levels?.[node.level]![offset] ?? rootHash(leaves.slice(first, first + 2 ** node.level))
        }
        known.set(keyOf(node), hash)
        this.cache.set(node.level, node.index, hash)
      }
    }
    return known
  }

  /**
   * Groups subtrees to read into ranges of leaves: in leaf order, a range takes the next subtree
   * when the gap before it is at most one cache block (reading a few unneeded leaves is cheaper
   * than another round trip) and the range stays within `maxLeavesPerRead`.
   */
  #plannedReads(missing: Node[]): { start: number; end: number; nodes: Node[] }[] {
    const gap = 2 ** this.cache.minLevel
    const reads: { start: number; end: number; nodes: Node[] }[] = []
    const byStart = missing
      .map((node) => ({
        node,
        start: node.index * 2 ** node.level,
        end: (node.index + 1) * 2 ** node.level,
      }))
      .sort((a, b) => a.start - b.start)
    for (const { node, start, end } of byStart) {
      const last = reads[reads.length - 1]
      if (last && start - last.end <= gap && end - last.start <= this.#maxLeavesPerRead) {
        last.end = Math.max(last.end, end)
        last.nodes.push(node)
      } else {
        reads.push({ start, end, nodes: [node] })
      }
    }
    return reads
  }

  async #read(start: number, end: number): Promise<readonly Uint8Array[]> {
    const leaves = await this.#source.leafHashes(start, end)

    if (leaves.length !== end - start) {
      throw new MerkleError(
        'PAL_MERKLE_SOURCE_INVALID',
        `leaf hash source: expected ${end - start} hashes for leaves [${start}, ${end}), ` +
          `got ${leaves.length}`,
        { start, end, got: leaves.length },
      )
    }

    const bad = leaves.findIndex(
      (leaf) => !(leaf instanceof Uint8Array) || leaf.length !== HASH_SIZE,
    )
    if (bad >= 0) {
      throw new MerkleError(
        'PAL_MERKLE_SOURCE_INVALID',
        `leaf hash source: leaf ${start + bad} is not a ${HASH_SIZE}-byte hash`,
        { start, end, leafIndex: start + bad },
      )
    }
    return leaves
  }

  /** A node's hash as resolved, or made from its two children and then cached. */
  #combine(node: Node, known: Map<number, Uint8Array>): Uint8Array {
    const hash = known.get(keyOf(node))
    if (hash !== undefined) return hash
    const left = this.#combine({ level: node.level - 1, index: node.index * 2 }, known)
    const right = this.#combine({ level: node.level - 1, index: node.index * 2 + 1 }, known)
    const made = nodeHash(left, right)
    known.set(keyOf(node), made)
    this.cache.set(node.level, node.index, made)
    return made
  }
}

/**
 * The perfect subtrees a range from the RFC 9162 recursion splits into, largest first: the
 * binary digits of its length. Such a range starts at a multiple of the power of two above its
 * length, so each piece is aligned and is a subtree (level, index) of the whole tree.
 */
function perfectPieces({ start, end }: LeafRange): Node[] {
  const nodes: Node[] = []
  let at = start
  while (at < end) {
    const width = isPowerOfTwo(end - at) ? end - at : splitPoint(end - at)
    const level = trailingZeros(width)
    nodes.push({ level, index: at / width })
    at += width
  }
  return nodes
}

/** Every level of the perfect tree over `leaves` (2^k of them): level 0 is the leaves. */
function perfectLevels(leaves: readonly Uint8Array[]): Uint8Array[][] {
  const levels = [leaves.slice()]
  for (let below = levels[0]!; below.length > 1;) {
    const level: Uint8Array[] = []
    for (let i = 0; i < below.length; i += 2) level.push(nodeHash(below[i]!, below[i + 1]!))
    levels.push(level)
    below = level
  }
  return levels
}

/** A unique number per (level, index): the node's in-order position, as in `SubtreeCache`. */
function keyOf({ level, index }: Node): number {
  return index * 2 ** (level + 1) + 2 ** level - 1
}
