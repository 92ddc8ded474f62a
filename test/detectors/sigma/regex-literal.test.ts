import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { requiredLiteral, shortestMatch } from '../../../detectors/sigma/regex-literal.ts'
import { corpora } from '../../helpers/test-engine.ts'

describe('the least length of a match of a regular expression', () => {
  it('counts characters, classes and escapes once, and positions not at all', () => {
    expect(shortestMatch('ipconfig\\s+/all')).toBe(13)
    expect(shortestMatch('^a[bc]\\d$')).toBe(3)
    expect(shortestMatch('\\bword\\B')).toBe(4)
    expect(shortestMatch('a(?=bcd)(?!xyz)(?<=a)(?<!q)')).toBe(1)
  })

  it('multiplies by the least count of each quantifier, lazy or not', () => {
    expect(shortestMatch('.{1000,}')).toBe(1000)
    expect(shortestMatch('a{3}b{2,5}c{0,4}')).toBe(5)
    expect(shortestMatch('ab*c?d+')).toBe(2)
    expect(shortestMatch('(?:ab){2,}?x+?')).toBe(5)
    expect(shortestMatch('a{b}')).toBe(4)
  })

  it('takes the shortest branch of an alternation, at the top or in a group', () => {
    expect(shortestMatch('abc|de|fghi')).toBe(2)
    expect(shortestMatch('x(?:abc|d)y')).toBe(3)
    expect(shortestMatch('(?<name>abc|de)\\k<name>x')).toBe(3)
    expect(shortestMatch('(a|)b')).toBe(1)
  })

  it('counts nothing for a back-reference, which may repeat an empty group', () => {
    expect(shortestMatch('(a*)b\\1')).toBe(1)
  })
})

describe('the literal every match of a regular expression holds', () => {
  it('is the longest plain run, across escaped punctuation', () => {
    expect(requiredLiteral('ipconfig\\s+/all')).toBe('ipconfig')
    expect(requiredLiteral('\\\\temp\\\\res\\.ip')).toBe('\\temp\\res.ip')
    expect(requiredLiteral('ping\\s+-n.{6,64}echo EEEE\\s?>\\s?')).toBe('echo EEEE')
  })

  it('leaves out a character a quantifier may drop, and stops at one that repeats', () => {
    expect(requiredLiteral('abcd?ef')).toBe('abc')
    expect(requiredLiteral('abcx*yz')).toBe('abc')
    expect(requiredLiteral('abcx{0,3}yz')).toBe('abc')
    expect(requiredLiteral('abx+cdefg')).toBe('cdefg')
    expect(requiredLiteral('abcx{2}yz')).toBe('abcx')
  })

  it('reads a { that starts no quantifier as a plain character', () => {
    expect(requiredLiteral('a{b}cdef')).toBe('a{b}cdef')
  })

  it('skips groups, classes, lookarounds and class escapes whole', () => {
    expect(requiredLiteral('(?:foo|barbaz)quux')).toBe('quux')
    expect(requiredLiteral('[a-z)(]+verylong')).toBe('verylong')
    expect(requiredLiteral('(a(b)c)?xyz(?=tail)')).toBe('xyz')
    expect(requiredLiteral('\\d{2,10}\\w+\\bword\\b')).toBe('word')
    expect(requiredLiteral('\\x41\\u0042abc')).toBe('abc')
    expect(requiredLiteral('(x)\\1abc')).toBe('abc')
  })

  it('gives up on an alternation at the top, or what it cannot read', () => {
    expect(requiredLiteral('foo|bar')).toBeUndefined()
    expect(requiredLiteral('.*')).toBeUndefined()
    expect(requiredLiteral('abc(unclosed')).toBeUndefined()
    expect(requiredLiteral('\\p{L}abc')).toBeUndefined()
  })

  it("is in every string the corpus's re values match in the regression events", () => {
    const rules = join(corpora, 'sigma')
    const sources = new Set<string>()
    for (const folder of ['rules', 'rules-emerging-threats', 'rules-threat-hunting']) {
      for (const file of readdirSync(join(rules, folder), { recursive: true, encoding: 'utf8' })) {
        if (!file.endsWith('.yml')) continue
        const text = readFileSync(join(rules, folder, file), 'utf8')
        for (const m of text.matchAll(/\|re(?:\|[a-z]+)*:\s*'([^'\n]+)'/g)) sources.add(m[1]!)
      }
    }
    const values = new Set<string>()
    const data = join(rules, 'regression_data')
    for (const file of readdirSync(data, { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.json')) continue
      const text = readFileSync(join(data, file), 'utf8')
      for (const m of text.matchAll(/": "((?:[^"\\]|\\.)*)"/g)) values.add(JSON.parse(`"${m[1]}"`))
    }
    expect(sources.size).toBeGreaterThan(100)

    let matched = 0
    for (const source of sources) {
      let re: RegExp
      try {
        re = new RegExp(source.replace(/^\(\?i\)/, ''), 'i')
      } catch {
        continue
      }
      const literal = requiredLiteral(re.source)?.toLowerCase()
      const shortest = shortestMatch(re.source)
      for (const value of values) {
        const match = re.exec(value)
        if (!match) continue
        matched++
        if (literal !== undefined) expect(value.toLowerCase()).toContain(literal)
        expect(match[0].length, source).toBeGreaterThanOrEqual(shortest)
      }
    }
    expect(matched).toBeGreaterThan(20)
  })
})
