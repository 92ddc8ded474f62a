import { describe, expect, it } from 'vitest'

import { NeedleScanner } from '../../../detectors/sigma/needle-scanner.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

/** The needles `includes` finds in `text`, by id: what the scanner must agree with. */
const naive = (needles: readonly string[], text: string) =>
  needles.flatMap((n, id) => (text.includes(n) ? [id] : []))

const scanned = (scanner: NeedleScanner, text: string) => {
  scanner.scan(text)
  return [...scanner.found.subarray(0, scanner.count)].sort((a, b) => a - b)
}

describe('the needle scanner', () => {
  it('finds overlapping needles and needles inside needles, each once', () => {
    const needles = ['he', 'she', 'his', 'hers', 'e']
    const scanner = new NeedleScanner(needles)
    expect(scanned(scanner, 'ushers')).toEqual([0, 1, 3, 4])
    expect(scanned(scanner, 'hhhhe')).toEqual([0, 4])
    expect(scanned(scanner, 'xyz')).toEqual([])
    expect(scanner.has('ushers')).toBe(true)
    expect(scanner.has('hi')).toBe(false)
  })

  it('lets a non-ASCII character end a partial match, as no needle can hold one', () => {
    const scanner = new NeedleScanner(['abc', '::'])
    expect(scanned(scanner, 'abéc')).toEqual([])
    expect(scanned(scanner, 'é:é:é')).toEqual([])
    expect(scanned(scanner, 'é::abcé')).toEqual([0, 1])
  })

  it('agrees with includes on random needles and texts over a small alphabet', () => {
    const random = seededRandom(20261204)
    const word = (max: number) =>
      Array.from(
        { length: 1 + Math.floor(random() * max) },
        () => 'ab:\\c'[Math.floor(random() * 5)],
      ).join('')
    for (let round = 0; round < 200; round++) {
      const needles = Array.from({ length: 1 + Math.floor(random() * 12) }, () => word(5))
      const scanner = new NeedleScanner(needles)
      for (let t = 0; t < 20; t++) {
        const text = word(40)
        const expected = naive(needles, text)
        expect(scanned(scanner, text)).toEqual(expected)
        expect(scanner.has(text)).toBe(expected.length > 0)
      }
    }
  })

  it('refuses an empty or non-ASCII needle, saying which', () => {
    expect(() => new NeedleScanner(['ok', ''])).toThrow('needle 1: expected non-empty ASCII text')
    expect(() => new NeedleScanner(['ünï'])).toThrow(
      'needle 0: expected non-empty ASCII text, got "ünï"',
    )
  })
})
