import { describe, expect, it } from 'vitest'

import { RangeProofs } from '../../../audit/export/range-proofs.ts'
import { inclusionProof, rootHash } from '../../../audit/merkle/index.ts'
import { hex, leaves } from '../merkle/helpers.ts'

const hashes = leaves(70)

function proofsFor(from: number, to: number, treeSize: number): RangeProofs {
  const proofs = new RangeProofs(from, to, treeSize)
  for (const leaf of hashes.slice(0, treeSize)) proofs.append(leaf)
  proofs.finish()
  return proofs
}

describe('RangeProofs', () => {
  it('gives the RFC 9162 path of every leaf of every range, for every tree size to 70', () => {
    for (let size = 1; size <= 70; size++) {
      const tree = hashes.slice(0, size)
      const expected = tree.map((_, i) => inclusionProof(i, tree).map(hex))
      const ranges = [
        [0, size],
        [size - 1, size],
        [Math.floor(size / 3), Math.ceil((2 * size) / 3)],
        [0, 1],
      ]
      for (let from = 0; from < size; from += 5) ranges.push([from, Math.min(size, from + 3)])
      for (const [from, to] of ranges) {
        const proofs = proofsFor(from!, to!, size)
        for (let i = from!; i < to!; i++) {
          expect(proofs.inclusionProof(i).map(hex), `leaf ${i} of ${size}`).toEqual(expected[i])
        }
      }
    }
  })

  it('knows the root of the leaves appended so far', () => {
    const proofs = new RangeProofs(3, 9, 20)
    for (const leaf of hashes.slice(0, 13)) proofs.append(leaf)
    expect(hex(proofs.root())).toBe(hex(rootHash(hashes.slice(0, 13))))
  })

  it('refuses an index outside its range, and proofs before the pass ends', () => {
    const proofs = new RangeProofs(3, 9, 20)
    expect(() => proofs.inclusionProof(3)).toThrow(/finish/)
    for (const leaf of hashes.slice(0, 20)) proofs.append(leaf)
    proofs.finish()
    expect(() => proofs.inclusionProof(9)).toThrow('expected an index in [3, 9), got 9')
    expect(() => proofs.append(hashes[0]!)).toThrow(/20 leaves/)
  })
})
