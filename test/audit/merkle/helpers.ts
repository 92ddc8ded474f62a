import { leafHash } from '../../../audit/merkle/index.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

/** The eight entries of the reference tree in RFC 6962's and transparency-dev's tests. */
export const referenceEntries = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map((h) => new Uint8Array(Buffer.from(h, 'hex')))

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

/** A small seeded generator (mulberry32), so a failing random case can be run again. */
export const seeded = seededRandom

/** Leaf hashes of `n` distinct entries: entry i is the decimal text of i. */
export function leaves(n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => leafHash(new TextEncoder().encode(String(i))))
}

/** A copy of `bytes` with bit `bit` (0 = most significant bit of byte 0) flipped. */
export function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = new Uint8Array(bytes)
  copy[bit >> 3]! ^= 0x80 >> (bit & 7)
  return copy
}
