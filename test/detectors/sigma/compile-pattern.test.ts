import { describe, expect, it } from 'vitest'

import {
  compilePattern,
  globMatcher,
  mergePlainTests,
} from '../../../detectors/sigma/compile-pattern.ts'
import { parsePattern } from '../../../detectors/sigma/compile-value.ts'
import { FieldValue } from '../../../detectors/sigma/field-cache.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

/** Whether the Sigma value `pattern` matches `text`, case-insensitively unless `cased`. */
function matches(pattern: string, text: unknown, cased = false): boolean {
  return compilePattern(parsePattern(pattern), cased)(new FieldValue().set(text))
}

/** The regular expression the compiler used to build for a pattern over `a`, `b`, `*`, `?`. */
function reference(pattern: string): RegExp {
  const source = [...pattern].map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch)).join('')
  return new RegExp(`^${source}$`, 's')
}

describe('globMatcher', () => {
  const glob = (pattern: string) => globMatcher(parsePattern(pattern))

  it('anchors the first segment at the start and the last at the end', () => {
    expect(glob('ab*cd')('abXXcd')).toBe(true)
    expect(glob('ab*cd')('abcd')).toBe(true)
    expect(glob('ab*cd')('XabXXcd')).toBe(false)
    expect(glob('ab*cd')('abXXcdX')).toBe(false)
  })

  it('does not let the first and last segments overlap', () => {
    expect(glob('ab*ba')('aba')).toBe(false)
    expect(glob('ab*ba')('abba')).toBe(true)
  })

  it('finds middle segments in order, leftmost first', () => {
    expect(glob('*ab*abc')('xxabxabc')).toBe(true)
    expect(glob('*abc*ab')('xxabcab')).toBe(true)
    expect(glob('*abc*ab')('xxabab')).toBe(false)
    expect(glob('*a?c*')('xxabbc abc')).toBe(true)
    expect(glob('*a?c*')('xxabbc')).toBe(false)
  })

  it('counts each ? as exactly one code unit, newlines included', () => {
    expect(glob('a?c')('a\nc')).toBe(true)
    expect(glob('a??')('ab')).toBe(false)
    expect(glob('*??*')('x')).toBe(false)
    expect(glob('*??*')('xy')).toBe(true)
  })

  it('gives the answers of the equivalent anchored regular expression', () => {
    const next = seededRandom(7)
    const pick = (alphabet: string, length: number) =>
      Array.from({ length }, () => alphabet[Math.floor(next() * alphabet.length)]).join('')
    const disagreements: string[] = []
    for (let i = 0; i < 3000; i++) {
      const pattern = pick('ab*?', 1 + Math.floor(next() * 7)).replace(/\*+/g, '*')
      const text = pick('ab', Math.floor(next() * 9))
      if (glob(pattern)(text) !== reference(pattern).test(text)) {
        disagreements.push(`${pattern} ~ ${text}`)
      }
    }
    expect(disagreements).toEqual([])
  })
})

describe('compilePattern', () => {
  it('treats escaped wildcards and backslashes as literal characters', () => {
    expect(matches('*a\\*b*', 'xa*by')).toBe(true)
    expect(matches('*a\\*b*', 'xaZby')).toBe(false)
    expect(matches('a\\?c', 'a?c')).toBe(true)
    expect(matches('a\\?c', 'abc')).toBe(false)
    expect(matches('C:\\\\*', 'c:\\windows')).toBe(true)
    // `\*` is an escaped star even after a path; a backslash before a wildcard is `\\`.
    expect(matches('*\\Temp\\*', 'C:\\TEMP\\a.exe')).toBe(false)
    expect(matches('*\\Temp\\*', 'C:\\TEMP*')).toBe(true)
    expect(matches('*\\Temp\\\\*', 'C:\\TEMP\\a.exe')).toBe(true)
  })

  it('matches wildcards between literals case-insensitively, and with case under cased', () => {
    expect(
      matches('*\\AppData\\\\*\\Temp\\\\*.ps1', 'C:\\Users\\x\\APPDATA\\Local\\temp\\A.PS1'),
    ).toBe(true)
    expect(matches('*\\AppData\\\\*\\Temp\\\\*.ps1', 'C:\\Users\\x\\AppData\\Temp.ps1')).toBe(false)
    expect(matches('*Invoke-*Mimikatz*', 'iex; invoke-XMIMIKATZ', true)).toBe(false)
    expect(matches('*Invoke-*Mimikatz*', 'iex; Invoke-XMimikatz', true)).toBe(true)
  })

  it('compares numbers as their text and never matches objects or absent values', () => {
    expect(matches('4*', 42)).toBe(true)
    expect(matches('*', undefined)).toBe(false)
    expect(matches('*', { a: 1 })).toBe(false)
    expect(matches('', '')).toBe(true)
    expect(matches('', 'x')).toBe(false)
  })

  it('finds a contains value with non-ASCII letters in either case', () => {
    expect(matches('*Übung*', 'x ÜBUNG y')).toBe(true)
    expect(matches('*ΟΔΟΣ*', 'στην οδος')).toBe(true)
    expect(matches('*ΟΔΟΣ*', 'στην οδοσ')).toBe(true)
  })

  it('keeps İ, ß and the Kelvin sign apart from i, ss, ẞ and k in contains values', () => {
    expect(matches('*istanbul*', 'İSTANBUL')).toBe(false)
    expect(matches('*İstanbul*', 'İSTANBUL')).toBe(true)
    expect(matches('*strasse*', 'straße')).toBe(false)
    expect(matches('*straße*', 'STRAẞE')).toBe(false)
    expect(matches('*k*', '\u212a')).toBe(false)
  })

  it('compares exact values by their toLowerCase forms, as it always has', () => {
    // A known difference from the wildcard forms above; see fold-case.ts.
    expect(matches('straße', 'STRAẞE')).toBe(true)
    expect(matches('k', '\u212a')).toBe(true)
    expect(matches('ΟΔΟΣ', 'οδοσ')).toBe(false)
    // toLowerCase('İ') is two code units, so the lengths differ.
    expect(matches('İ', 'i\u0307')).toBe(false)
    expect(matches('İ', 'İ')).toBe(true)
  })
})

describe('mergePlainTests', () => {
  const patterns = ['*\\a.exe', '*\\B.EXE', '*\\c.exe', '*\\sub\\d.exe', '*\\e.exe', '*.tmp']
  const tests = patterns.map((p) => compilePattern(parsePattern(p), false))
  const merged = mergePlainTests(tests)
  const any = (list: typeof tests, text: string) => list.some((t) => t(new FieldValue().set(text)))

  it('finds a list of programs by the last name, with the backslash before it', () => {
    expect(any(merged, 'C:\\x\\A.exe')).toBe(true)
    expect(any(merged, 'C:\\x\\b.exe')).toBe(true)
    expect(any(merged, 'a.exe')).toBe(false)
    expect(any(merged, 'C:\\x\\xa.exe')).toBe(false)
    expect(any(merged, 'C:\\x\\a.exe.bak')).toBe(false)
    expect(any(merged, 'C:\\x\\f.TMP')).toBe(true)
    expect(any(merged, 'C:\\sub\\D.exe')).toBe(true)
  })

  it('gives the answers of the tests it merges', () => {
    const texts = ['\\a.exe', 'a.exe', 'x\\c.exe', 'x\\sub\\d.exe', 'x\\d.exe', '', '\\', 'y.tmp']
    for (const text of texts) expect(any(merged, text), text).toBe(any(tests, text))
  })
})
