// Bit arithmetic on tree sizes and indices up to 2^53 - 1. JavaScript's bitwise operators
// work on 32 bits, so these split a number into its high and low words instead.

const WORD = 2 ** 32

/** Number of bits needed to write `x`: 0 for 0, 1 for 1, 3 for 5. */
export function bitLength(x: number): number {
  const high = Math.floor(x / WORD)
  return high > 0 ? 64 - Math.clz32(high) : 32 - Math.clz32(x >>> 0)
}

/** Number of set bits in `x`. */
export function popCount(x: number): number {
  return popCount32(Math.floor(x / WORD)) + popCount32(x >>> 0)
}

function popCount32(x: number): number {
  let count = 0
  for (let v = x; v !== 0; v &= v - 1) count++
  return count
}

/** Number of trailing zero bits in `x` > 0. */
export function trailingZeros(x: number): number {
  const low = x >>> 0
  if (low !== 0) return 31 - Math.clz32(low & -low)
  return 32 + trailingZeros(Math.floor(x / WORD))
}

/** `a XOR b` for both up to 2^53 - 1. */
export function xor(a: number, b: number): number {
  const high = (Math.floor(a / WORD) ^ Math.floor(b / WORD)) >>> 0
  return high * WORD + ((a ^ b) >>> 0)
}

/** `x >> n` without the 32-bit limit. */
export function shiftRight(x: number, n: number): number {
  return Math.floor(x / 2 ** n)
}

/** Whether the least significant bit of `x` is set, RFC 9162's LSB(x). */
export function isOdd(x: number): boolean {
  return x % 2 === 1
}

/** The largest power of two smaller than `n` >= 2: RFC 9162 §2.1.1's split point k. */
export function splitPoint(n: number): number {
  return 2 ** (bitLength(n - 1) - 1)
}

/** Whether `n` >= 1 is a power of two. */
export function isPowerOfTwo(n: number): boolean {
  return popCount(n) === 1
}
