import { describe, expect, it } from 'vitest'

import { InclusionChecker } from '../../../audit/export/inclusion-checker.ts'
import { inclusionProof, rootHash, verifyInclusion } from '../../../audit/merkle/index.ts'
import { flipBit, hex, leaves, seeded } from '../merkle/helpers.ts'

const hashes = leaves(70)
const roots = hashes.map((_, i) => rootHash(hashes.slice(0, i + 1)))

/** What `verifyInclusion` says: the error's code, or 'ok'. */
function reference(index: number, size: number, leaf: Uint8Array, proof: Uint8Array[]): string {
  try {
    verifyInclusion({
      leafIndex: index,
      treeSize: size,
      leafHash: leaf,
      proof,
      root: roots[size - 1]!,
    })
    return 'ok'
  } catch (error) {
    return (error as { code: string }).code
  }
}

function outcome(checker: InclusionChecker, index: number, leaf: Uint8Array, proof: Uint8Array[]) {
  try {
    checker.check(index, leaf, proof.map(hex), proof)
    return 'ok'
  } catch (error) {
    return (error as { code: string }).code
  }
}

describe('InclusionChecker', () => {
  it('agrees with verifyInclusion on good and altered proofs, in any order, to 70 leaves', () => {
    const random = seeded(9162)
    for (let size = 1; size <= 70; size++) {
      const tree = hashes.slice(0, size)
      const checker = new InclusionChecker(size, rootHash(tree))
      const order = [...tree.keys()]
      if (size % 2 === 0) order.sort(() => random() - 0.5)
      for (const index of order) {
        const proof = inclusionProof(index, tree)
        expect(outcome(checker, index, tree[index]!, proof), `leaf ${index} of ${size}`).toBe('ok')

        // After good proofs have been seen, altered ones must still fail as the library says.
        const other = tree[(index + 1) % size]!
        const alterations: [Uint8Array, Uint8Array[]][] = [
          [size > 1 ? other : flipBit(other, 3), proof],
          [tree[index]!, [...proof, other]],
        ]
        if (proof.length > 0) {
          alterations.push([tree[index]!, proof.slice(0, -1)])
          const at = Math.floor(random() * proof.length)
          const bit = Math.floor(random() * 256)
          alterations.push([tree[index]!, proof.map((h, i) => (i === at ? flipBit(h, bit) : h))])
        }
        for (const [leaf, altered] of alterations) {
          const expected = reference(index, size, leaf, altered)
          expect(expected).not.toBe('ok')
          expect(outcome(checker, index, leaf, altered), `altered leaf ${index} of ${size}`).toBe(
            expected,
          )
        }
      }
    }
  })
})
