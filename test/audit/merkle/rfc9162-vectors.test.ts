import { describe, expect, it } from 'vitest'

import { MerkleError, verifyConsistency, verifyInclusion } from '../../../audit/merkle/index.ts'
import { consistencyVectors, inclusionVectors } from './merkle-corpus.ts'

const inclusion = inclusionVectors()
const consistency = consistencyVectors()

/** The error a must-fail vector gets: a MerkleError whose code says what is wrong. */
function refusal(verify: () => void): MerkleError {
  try {
    verify()
  } catch (error) {
    expect(error).toBeInstanceOf(MerkleError)
    return error as MerkleError
  }
  throw new Error('expected the proof to be refused, and it was accepted')
}

describe('the shared RFC 9162 Merkle test vectors', () => {
  it('are all read: 98 inclusion and 98 consistency files, 12 to accept and 184 to refuse', () => {
    expect(inclusion.length).toBe(98)
    expect(consistency.length).toBe(98)
    expect([...inclusion, ...consistency].filter((v) => v.wantErr)).toHaveLength(184)
  })

  describe('inclusion', () => {
    it.each(inclusion.filter((v) => !v.wantErr))('accepts $file ($desc)', (v) => {
      verifyInclusion({ ...v, leafIndex: v.leafIdx })
    })

    it.each(inclusion.filter((v) => v.wantErr))('refuses $file ($desc)', (v) => {
      const error = refusal(() => verifyInclusion({ ...v, leafIndex: v.leafIdx }))
      expect(error.code).toMatch(/^PAL_PROOF_/)
    })
  })

  describe('consistency', () => {
    it.each(consistency.filter((v) => !v.wantErr))('accepts $file ($desc)', (v) => {
      verifyConsistency(v)
    })

    it.each(consistency.filter((v) => v.wantErr))('refuses $file ($desc)', (v) => {
      const error = refusal(() => verifyConsistency(v))
      expect(error.code).toMatch(/^PAL_PROOF_/)
    })
  })
})
