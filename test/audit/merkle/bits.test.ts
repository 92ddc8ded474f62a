import { describe, expect, it } from 'vitest'

import {
  bitLength,
  isPowerOfTwo,
  popCount,
  shiftRight,
  splitPoint,
  trailingZeros,
  xor,
} from '../../../audit/merkle/_bits.ts'
import { seeded } from './helpers.ts'

// The internal bit helpers work on doubles up to 2^53 - 1; BigInt is the reference.
const random = seeded(53)
const values = [
  ...[0, 1, 2, 3, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 52],
  Number.MAX_SAFE_INTEGER,
  ...Array.from({ length: 2000 }, () => Math.floor(random() * 2 ** Math.floor(random() * 54))),
].filter((v) => Number.isSafeInteger(v))

describe('bit helpers on integers up to 2^53 - 1', () => {
  it('agree with BigInt on bit length, set bits, trailing zeros and shifts', () => {
    for (const v of values) {
      const b = BigInt(v)
      expect(bitLength(v), `bitLength(${v})`).toBe(b === 0n ? 0 : b.toString(2).length)
      expect(popCount(v), `popCount(${v})`).toBe([...b.toString(2)].filter((c) => c === '1').length)
      if (v > 0) {
        expect(trailingZeros(v), `trailingZeros(${v})`).toBe(
          b.toString(2).length - 1 - b.toString(2).lastIndexOf('1'),
        )
      }
      expect(shiftRight(v, 33), `${v} >> 33`).toBe(Number(b >> 33n))
    }
  })

  it('agree with BigInt on XOR', () => {
    for (let i = 1; i < values.length; i++) {
      const [a, b] = [values[i - 1]!, values[i]!]
      expect(xor(a, b), `${a} ^ ${b}`).toBe(Number(BigInt(a) ^ BigInt(b)))
    }
  })

  it('split a tree at the largest power of two below its size (RFC 9162 §2.1.1)', () => {
    expect([2, 3, 4, 5, 8, 9, 2 ** 40 + 1].map(splitPoint)).toEqual([1, 2, 2, 4, 4, 8, 2 ** 40])
    expect([1, 2, 6, 2 ** 33, 2 ** 33 + 2].map(isPowerOfTwo)).toEqual([
      true,
      true,
      false,
      true,
      false,
    ])
  })
})
