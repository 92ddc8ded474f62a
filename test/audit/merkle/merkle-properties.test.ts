import { describe, expect, it } from 'vitest'

import {
  consistencyProof,
  inclusionProof,
  MerkleFrontier,
  ProofBuilder,
  SubtreeCache,
  verifyConsistency,
  verifyInclusion,
} from '../../../audit/merkle/index.ts'
import { flipBit, hex, leaves, seeded } from './helpers.ts'

const MAX = 300
const hashes = leaves(MAX)

// The root of every size from 0 to MAX, from the frontier (itself checked against rootHash).
const roots: Uint8Array[] = [new MerkleFrontier().root()]
{
  const tree = new MerkleFrontier()
  for (const h of hashes) {
    tree.append(h)
    roots.push(tree.root())
  }
}

// Every subtree cached (minLevel 0), so that building all 90,000 proofs stays fast.
const builder = new ProofBuilder(
  { leafHashes: async (start, end) => hashes.slice(start, end) },
  {
    cache: new SubtreeCache({ minLevel: 0 }),
  },
)

const SEED = 0x9162
const random = seeded(SEED)
const pick = (below: number) => Math.floor(random() * below)

/**
 * Whether a verification refused its claim with a root mismatch: what a flipped bit anywhere
 * must cause. A plain check, not `expect`, because there are a few hundred thousand of them.
 */
function mismatches(verify: () => void): boolean {
  try {
    verify()
  } catch (error) {
    return (error as { code?: string }).code === 'PAL_PROOF_ROOT_MISMATCH'
  }
  return false
}

// Exhaustive over every size to MAX: about 3 s per test on a quiet 2-core machine, more on a
// busy one, so the default 5 s limit would fail on load rather than on a wrong proof.
describe(
  `Merkle proofs for every tree of 1 to ${MAX} leaves (seed ${SEED})`,
  { timeout: 60_000 },
  () => {
    it('verify for every leaf of every size', async () => {
      for (let size = 1; size <= MAX; size++) {
        for (let index = 0; index < size; index++) {
          const proof = await builder.inclusionProof(index, size)
          const leafHash = hashes[index]!
          verifyInclusion({ leafIndex: index, treeSize: size, leafHash, proof, root: roots[size]! })
        }
      }
    })

    it('verify between every pair of sizes', async () => {
      for (let size2 = 1; size2 <= MAX; size2++) {
        for (let size1 = 1; size1 <= size2; size1++) {
          const proof = await builder.consistencyProof(size1, size2)
          verifyConsistency({ size1, size2, root1: roots[size1]!, root2: roots[size2]!, proof })
        }
      }
    })

    it('come out the same from the cached builder and the RFC recursion', async () => {
      for (let n = 0; n < 300; n++) {
        const size = 1 + pick(MAX)
        const index = pick(size)
        const size1 = 1 + pick(size)
        const tree = hashes.slice(0, size)
        const where = `leaf ${index} of ${size}, ${size1} to ${size}`
        expect((await builder.inclusionProof(index, size)).map(hex), where).toEqual(
          inclusionProof(index, tree).map(hex),
        )
        expect((await builder.consistencyProof(size1, size)).map(hex), where).toEqual(
          consistencyProof(size1, tree).map(hex),
        )
      }
    })

    it('fail an inclusion proof when one bit of the proof, root or leaf flips', async () => {
      const accepted: string[] = []
      for (let n = 0; n < 20; n++) {
        const size = 2 + pick(MAX - 1)
        const index = pick(size)
        const proof = await builder.inclusionProof(index, size)
        const claim = { leafIndex: index, treeSize: size, leafHash: hashes[index]!, proof }
        const root = roots[size]!
        const where = `leaf ${index} of ${size}`

        for (let bit = 0; bit < 256; bit++) {
          const flippedRoot = flipBit(root, bit)
          if (!mismatches(() => verifyInclusion({ ...claim, root: flippedRoot }))) {
            accepted.push(`${where}: root bit ${bit}`)
          }
          const leafHash = flipBit(claim.leafHash, bit)
          if (!mismatches(() => verifyInclusion({ ...claim, leafHash, root }))) {
            accepted.push(`${where}: leaf bit ${bit}`)
          }
          for (let i = 0; i < proof.length; i++) {
            const flipped = proof.with(i, flipBit(proof[i]!, bit))
            if (!mismatches(() => verifyInclusion({ ...claim, proof: flipped, root }))) {
              accepted.push(`${where}: proof[${i}] bit ${bit}`)
            }
          }
        }
      }
      expect(accepted).toEqual([])
    })

    it('fail a consistency proof when one bit of the proof or either root flips', async () => {
      const accepted: string[] = []
      for (let n = 0; n < 20; n++) {
        const size2 = 2 + pick(MAX - 1)
        const size1 = 1 + pick(size2 - 1)
        const proof = await builder.consistencyProof(size1, size2)
        const claim = { size1, size2, root1: roots[size1]!, root2: roots[size2]!, proof }
        const where = `${size1} to ${size2}`

        for (let bit = 0; bit < 256; bit++) {
          const root1 = flipBit(claim.root1, bit)
          if (!mismatches(() => verifyConsistency({ ...claim, root1 }))) {
            accepted.push(`${where}: root1 bit ${bit}`)
          }
          const root2 = flipBit(claim.root2, bit)
          if (!mismatches(() => verifyConsistency({ ...claim, root2 }))) {
            accepted.push(`${where}: root2 bit ${bit}`)
          }
          for (let i = 0; i < proof.length; i++) {
            const flipped = proof.with(i, flipBit(proof[i]!, bit))
            if (!mismatches(() => verifyConsistency({ ...claim, proof: flipped }))) {
              accepted.push(`${where}: proof[${i}] bit ${bit}`)
            }
          }
        }
      }
      expect(accepted).toEqual([])
    })

    it('fail when a hash is dropped from or added to the proof', async () => {
      for (let n = 0; n < 200; n++) {
        const size = 2 + pick(MAX - 1)
        const index = pick(size)
        const size1 = 1 + pick(size - 1)
        const inclusion = await builder.inclusionProof(index, size)
        const consistency = await builder.consistencyProof(size1, size)
        const leafHash = hashes[index]!
        const root = roots[size]!
        for (const proof of [inclusion.slice(1), inclusion.slice(0, -1), [...inclusion, root]]) {
          expect(() =>
            verifyInclusion({ leafIndex: index, treeSize: size, leafHash, proof, root }),
          ).toThrow(expect.objectContaining({ code: 'PAL_PROOF_WRONG_LENGTH' }))
        }
        for (const proof of [consistency.slice(1), [root, ...consistency]]) {
          expect(() =>
            verifyConsistency({ size1, size2: size, root1: roots[size1]!, root2: root, proof }),
          ).toThrow(expect.objectContaining({ code: 'PAL_PROOF_WRONG_LENGTH' }))
        }
      }
    })
  },
)
