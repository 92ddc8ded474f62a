import { describe, expect, it } from 'vitest'

import {
  leafHash,
  MerkleFrontier,
  nodeHash,
  ProofBuilder,
  SubtreeCache,
  verifyConsistency,
  verifyInclusion,
} from '../../../audit/merkle/index.ts'
import { hex } from './helpers.ts'

// A tree of up to 2^52 leaves that all hold the same entry: every perfect subtree of a level
// then has the same hash, so its proofs cost O(log n) to build and index arithmetic past 32
// bits (where JavaScript's bitwise operators stop) is exercised for real.
const leaf = leafHash(new TextEncoder().encode('same'))
const levelHash: Uint8Array[] = [leaf]
for (let level = 1; level <= 52; level++) {
  levelHash.push(nodeHash(levelHash[level - 1]!, levelHash[level - 1]!))
}

/** A cache that knows every subtree of the uniform tree, down to its `minLevel`. */
class UniformCache extends SubtreeCache {
  override get(level: number): Uint8Array | undefined {
    return level >= this.minLevel ? levelHash[level] : undefined
  }
}

function uniformRoot(size: number): Uint8Array {
  const hashes: string[] = []
  for (let level = 52; level >= 0; level--) {
    if (Math.floor(size / 2 ** level) % 2 === 1) hashes.push(hex(levelHash[level]!))
  }
  return MerkleFrontier.fromJSON({ size, hashes }).root()
}

const builder = new ProofBuilder(
  { leafHashes: async (start, end) => Array.from({ length: end - start }, () => leaf) },
  { cache: new UniformCache({ minLevel: 4 }) },
)

describe('Merkle proofs in trees past 2^32 leaves', () => {
  it.each([
    [2 ** 32 + 1, 2 ** 32],
    [2 ** 40 + 12_345, 2 ** 35 + 77],
    [2 ** 52 - 1, 2 ** 52 - 2],
    [Number.MAX_SAFE_INTEGER, 2 ** 33 - 1],
  ])('verify for a tree of %i leaves at leaf %i', async (treeSize, leafIndex) => {
    const proof = await builder.inclusionProof(leafIndex, treeSize)
    const root = uniformRoot(treeSize)
    expect(() =>
      verifyInclusion({ leafIndex, treeSize, leafHash: leaf, proof, root }),
    ).not.toThrow()
    const other = uniformRoot(treeSize - 1)
    expect(() =>
      verifyInclusion({ leafIndex, treeSize, leafHash: leaf, proof, root: other }),
    ).toThrow('the inclusion proof')
  })

  it.each([
    [2 ** 33 + 3, 2 ** 40 + 12_345],
    [2 ** 32, 2 ** 32 + 1],
    [3, 2 ** 45 + 1],
    [2 ** 50 + 2 ** 33, 2 ** 51 + 2 ** 34 + 7],
  ])('verify consistency from %i to %i leaves', async (size1, size2) => {
    const proof = await builder.consistencyProof(size1, size2)
    const [root1, root2] = [uniformRoot(size1), uniformRoot(size2)]
    expect(() => verifyConsistency({ size1, size2, root1, root2, proof })).not.toThrow()
    expect(() =>
      verifyConsistency({ size1, size2, root1: uniformRoot(size1 + 1), root2, proof }),
    ).toThrow(expect.objectContaining({ code: 'PAL_PROOF_ROOT_MISMATCH' }))
  })
})
