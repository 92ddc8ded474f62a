import { describe, expect, it } from 'vitest'

import {
  consistencyProof,
  inclusionProof,
  MerkleError,
  MerkleFrontier,
  ProofBuilder,
  rootHash,
  SubtreeCache,
  type LeafHashSource,
} from '../../../audit/merkle/index.ts'
import { hex, leaves } from './helpers.ts'

/** An in-memory leaf store that counts what it is asked for. */
function countingSource(hashes: readonly Uint8Array[]) {
  const reads: [number, number][] = []
  const source: LeafHashSource = {
    leafHashes: async (start, end) => {
      reads.push([start, end])
      return hashes.slice(start, end)
    },
  }
  const leavesRead = () => reads.reduce((sum, [start, end]) => sum + end - start, 0)
  return { source, reads, leavesRead }
}

const hexes = (proof: Uint8Array[]) => proof.map(hex)

describe('ProofBuilder', () => {
  const hashes = leaves(1000)

  it('builds the same inclusion proofs as the RFC 9162 recursion over all leaves', async () => {
    const builder = new ProofBuilder(countingSource(hashes).source, {
      cache: new SubtreeCache({ minLevel: 2 }),
    })
    for (const size of [1, 2, 3, 7, 8, 9, 255, 256, 257, 1000]) {
      for (const index of [0, 1, Math.floor(size / 2), size - 2, size - 1].filter(
        (i) => i >= 0 && i < size,
      )) {
        const expected = inclusionProof(index, hashes.slice(0, size))
        expect(hexes(await builder.inclusionProof(index, size)), `${index} of ${size}`).toEqual(
          hexes(expected),
        )
      }
    }
  })

  it('builds the same consistency proofs and roots as the RFC 9162 recursion', async () => {
    const builder = new ProofBuilder(countingSource(hashes).source, {
      cache: new SubtreeCache({ minLevel: 3 }),
    })
    for (const [size1, size2] of [
      [1, 1],
      [1, 8],
      [3, 8],
      [6, 8],
      [7, 1000],
      [256, 1000],
      [511, 513],
      [999, 1000],
    ] as const) {
      const expected = consistencyProof(size1, hashes.slice(0, size2))
      const proof = await builder.consistencyProof(size1, size2)
      expect(hexes(proof), `${size1} to ${size2}`).toEqual(hexes(expected))
      expect(hex(await builder.rootHash(size2))).toBe(hex(rootHash(hashes.slice(0, size2))))
    }
    expect(hex(await builder.rootHash(0))).toBe(hex(rootHash([])))
  })

  it('reads each leaf at most once for a first proof, in few ranges, and far fewer after', async () => {
    const { source, reads, leavesRead } = countingSource(hashes)
    const builder = new ProofBuilder(source, { maxLeavesPerRead: 512 })
    await builder.inclusionProof(0, 1000)
    expect(leavesRead()).toBeLessThanOrEqual(1000)
    expect(reads.length).toBeLessThanOrEqual(4)

    // Subtrees of 256 leaves and up are cached now: a proof elsewhere reads at most the
    // 256-leaf block around its leaf, plus the last, incomplete part of the tree.
    reads.length = 0
    await builder.inclusionProof(600, 1000)
    expect(leavesRead()).toBeLessThanOrEqual(256 + 1000 - 768)

    // The three complete blocks are cached now, so their root needs no leaf at all.
    reads.length = 0
    await builder.rootHash(768)
    expect(leavesRead()).toBe(0)
  })

  it('reads only a block around the leaf when the frontier fed the cache during appends', async () => {
    const big = leaves(1 << 14)
    const { source, leavesRead } = countingSource(big)
    const builder = new ProofBuilder(source)
    const tree = new MerkleFrontier()
    big.forEach((h) => tree.append(h, (subtree) => builder.remember([subtree])))

    const proof = await builder.inclusionProof(12_345, big.length)
    expect(leavesRead()).toBeLessThanOrEqual(256)
    expect(hexes(proof)).toEqual(hexes(inclusionProof(12_345, big)))
    expect(hex(await builder.rootHash(big.length))).toBe(hex(tree.root()))
  })

  it('can seed its cache from a restored frontier, without reading the leaves', async () => {
    const { source, leavesRead } = countingSource(hashes)
    const builder = new ProofBuilder(source)
    const tree = new MerkleFrontier()
    hashes.slice(0, 768).forEach((h) => tree.append(h))
    builder.remember(MerkleFrontier.fromJSON(tree.toJSON()).subtrees())
    expect(hex(await builder.rootHash(768))).toBe(hex(tree.root()))
    expect(leavesRead()).toBe(0)
  })

  it('forgets the least recently used subtrees beyond its limit and still builds right proofs', async () => {
    const cache = new SubtreeCache({ minLevel: 1, maxEntries: 4 })
    const builder = new ProofBuilder(countingSource(hashes).source, { cache })
    for (const index of [0, 999, 500, 3]) {
      const proof = await builder.inclusionProof(index, 1000)
      expect(hexes(proof)).toEqual(hexes(inclusionProof(index, hashes)))
    }
    expect(cache.size).toBe(4)
  })

  it('refuses indices and sizes no tree has, as verification does', async () => {
    const builder = new ProofBuilder(countingSource(hashes).source)
    await expect(builder.inclusionProof(5, 5)).rejects.toMatchObject({
      code: 'PAL_PROOF_INDEX_OUT_OF_RANGE',
    })
    await expect(builder.consistencyProof(0, 5)).rejects.toMatchObject({
      code: 'PAL_PROOF_SIZE_INVALID',
    })
    await expect(builder.consistencyProof(6, 5)).rejects.toThrow(
      'size1: expected at most size2 (5), got 6',
    )
  })

  it('says so when the leaf source answers with too few hashes or with one of the wrong size', async () => {
    const short = new ProofBuilder({
      leafHashes: async (start, end) => hashes.slice(start, end - 1),
    })
    await expect(short.inclusionProof(0, 4)).rejects.toThrow(MerkleError)
    await expect(short.inclusionProof(0, 4)).rejects.toMatchObject({
      code: 'PAL_MERKLE_SOURCE_INVALID',
    })

    const broken = new ProofBuilder({
      leafHashes: async (start, end) => hashes.slice(start, end).map(() => new Uint8Array(20)),
    })
    await expect(broken.rootHash(3)).rejects.toThrow('leaf 0 is not a 32-byte hash')
  })
})
