import { describe, expect, it } from 'vitest'

import { foldCase, isAscii } from '../../../detectors/sigma/fold-case.ts'

/** Every code unit of the given ranges, surrogates left out, as one string. */
function units(...ranges: [number, number][]): number[] {
  const out: number[] = []
  for (const [from, to] of ranges) {
    for (let c = from; c <= to; c++) if (c < 0xd800 || c > 0xdfff) out.push(c)
  }
  return out
}

describe('foldCase', () => {
  it('lowercases ASCII text', () => {
    expect(foldCase('C:\\Windows\\CMD.EXE')).toBe('c:\\windows\\cmd.exe')
    expect(isAscii('C:\\Windows')).toBe(true)
    expect(isAscii('Übung')).toBe(false)
  })

  it('keeps the length of any text, one code unit for one', () => {
    for (const text of ['İstanbul', 'STRASSE straße ẞ', 'ΟΔΟΣ', 'ŉ ǰ ΐ', '😀 x']) {
      expect(foldCase(text)).toHaveLength(text.length)
    }
  })

  it('folds the way a regular expression with the i flag compares, for the Latin, Greek, Cyrillic, Cherokee and fullwidth blocks', () => {
    const all = units([0, 0x2fff], [0xa640, 0xa7ff], [0xab70, 0xabbf], [0xff00, 0xffef])
    const text = String.fromCharCode(...all)
    const classSize = new Map<string, number>()
    for (const c of all) {
      const f = foldCase(String.fromCharCode(c))
      classSize.set(f, (classSize.get(f) ?? 0) + 1)
    }
    const wrong: string[] = []
    for (const c of all) {
      const re = new RegExp(`\\u${c.toString(16).padStart(4, '0')}`, 'gi')
      const matches = text.match(re)?.length ?? 0
      if (matches !== classSize.get(foldCase(String.fromCharCode(c)))) wrong.push(c.toString(16))
    }
    expect(wrong).toEqual([])
  })

  it('does not fold İ, ß or ẞ onto other letters', () => {
    expect(foldCase('İ')).not.toBe(foldCase('i'))
    expect(foldCase('İ')).not.toBe(foldCase('I'))
    expect(foldCase('ß')).not.toBe(foldCase('ss'.slice(0, 1)))
    expect(foldCase('ẞ')).not.toBe(foldCase('ß'))
  })

  it('does not fold lookalikes onto ASCII letters: Kelvin sign, dotless i, long s', () => {
    expect(foldCase('\u212a')).not.toBe('k')
    expect(foldCase('ı')).not.toBe('i')
    expect(foldCase('ſ')).not.toBe('s')
  })

  it('folds every Greek sigma alike, wherever it stands in a word', () => {
    expect(foldCase('ΟΔΟΣ')).toBe(foldCase('οδος'))
    expect(foldCase('ΟΔΟΣ')).toBe(foldCase('οδοσ'))
    expect(foldCase('Ä')).toBe(foldCase('ä'))
  })
})
