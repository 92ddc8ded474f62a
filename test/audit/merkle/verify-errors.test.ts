import { describe, expect, it } from 'vitest'

import {
  consistencyProof,
  inclusionProof,
  MerkleError,
  rootFromInclusionProof,
  rootHash,
  verifyConsistency,
  verifyInclusion,
} from '../../../audit/merkle/index.ts'
import { PalisadeError } from '../../../platform/errors.ts'
import { leaves } from './helpers.ts'

const hashes = leaves(13)
const root = rootHash(hashes)
const proof = inclusionProof(5, hashes)
const inclusion = { leafIndex: 5, treeSize: 13, leafHash: hashes[5]!, proof, root }
const consistency = {
  size1: 6,
  size2: 13,
  root1: rootHash(hashes.slice(0, 6)),
  root2: root,
  proof: consistencyProof(6, hashes),
}

/** The MerkleError `verify` throws. */
function caught(verify: () => void): MerkleError {
  try {
    verify()
  } catch (error) {
    expect(error).toBeInstanceOf(MerkleError)
    return error as MerkleError
  }
  throw new Error('expected a MerkleError, and nothing was thrown')
}

describe('verifyInclusion', () => {
  it('returns quietly for a proof that holds, and gives its root to a caller who asks', () => {
    expect(verifyInclusion(inclusion)).toBeUndefined()
    expect(rootFromInclusionProof(inclusion)).toEqual(root)
  })

  it('says a leaf index is out of range, with the range', () => {
    const error = caught(() => verifyInclusion({ ...inclusion, leafIndex: 13 }))
    expect(error.code).toBe('PAL_PROOF_INDEX_OUT_OF_RANGE')
    expect(error.message).toBe('leafIndex: expected an integer from 0 to 12 (tree size 13), got 13')
  })

  it('says how many hashes the proof should have had', () => {
    const error = caught(() => verifyInclusion({ ...inclusion, proof: proof.slice(1) }))
    expect(error.code).toBe('PAL_PROOF_WRONG_LENGTH')
    expect(error.message).toBe('proof: expected 4 hashes for these sizes, got 3')
    expect(error.status).toBe(422)
  })

  it('names the proof hash that is not 32 bytes', () => {
    const error = caught(() =>
      verifyInclusion({ ...inclusion, proof: proof.with(2, new Uint8Array(33)) }),
    )
    expect(error.code).toBe('PAL_PROOF_MALFORMED_HASH')
    expect(error.message).toBe('proof[2]: expected 32 bytes, got 33 bytes')
  })

  it('says the proof leads to another root, and shows both', () => {
    const other = rootHash(hashes.slice(0, 12))
    const error = caught(() => verifyInclusion({ ...inclusion, root: other }))
    expect(error.code).toBe('PAL_PROOF_ROOT_MISMATCH')
    expect(error.message).toContain(Buffer.from(other).toString('hex'))
    expect(error.message).toContain(Buffer.from(root).toString('hex'))
    expect(error.context).toMatchObject({ field: 'root', leafIndex: 5, treeSize: 13 })
  })

  it('is a PalisadeError with a stable code that serialises for the API', () => {
    const error = caught(() => verifyInclusion({ ...inclusion, treeSize: -1 }))
    expect(error).toBeInstanceOf(PalisadeError)
    expect(error.toJSON()).toMatchObject({ code: 'PAL_PROOF_SIZE_INVALID', field: 'treeSize' })
  })
})

describe('verifyConsistency', () => {
  it('returns quietly for a proof that holds, and for equal sizes with equal roots', () => {
    expect(verifyConsistency(consistency)).toBeUndefined()
    const same = { size1: 13, size2: 13, root1: root, root2: root, proof: [] }
    expect(verifyConsistency(same)).toBeUndefined()
  })

  it('refuses a first tree larger than the second: a log never shrinks', () => {
    const error = caught(() => verifyConsistency({ ...consistency, size1: 14 }))
    expect(error.code).toBe('PAL_PROOF_SIZE_INVALID')
    expect(error.message).toBe('size1: expected at most size2 (13), got 14: a log never shrinks')
  })

  it('refuses a proof from the empty tree, which proves nothing', () => {
    const error = caught(() => verifyConsistency({ ...consistency, size1: 0, proof: [] }))
    expect(error.code).toBe('PAL_PROOF_SIZE_INVALID')
  })

  it('refuses equal sizes with a non-empty proof or with different roots', () => {
    const same = { size1: 6, size2: 6, root1: consistency.root1, root2: consistency.root1 }
    expect(caught(() => verifyConsistency({ ...same, proof: [root] })).code).toBe(
      'PAL_PROOF_WRONG_LENGTH',
    )
    const error = caught(() => verifyConsistency({ ...same, root2: root, proof: [] }))
    expect(error.code).toBe('PAL_PROOF_ROOT_MISMATCH')
    expect(error.message).toMatch(/^root2: trees of equal size \(6\) must have equal roots/)
  })

  it('says which of the two roots the proof does not lead to', () => {
    const wrong = rootHash(hashes.slice(1, 7))
    const first = caught(() => verifyConsistency({ ...consistency, root1: wrong }))
    expect(first.context).toMatchObject({ field: 'root1', size1: 6, size2: 13 })
    const second = caught(() => verifyConsistency({ ...consistency, root2: wrong }))
    expect(second.context).toMatchObject({ field: 'root2' })
  })

  it('refuses a proof whose sizes are not integers', () => {
    const error = caught(() => verifyConsistency({ ...consistency, size2: 13.5 }))
    expect(error.message).toBe('size2: expected an integer from 0 to 2^53 - 1, got 13.5')
  })
})
