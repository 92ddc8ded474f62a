import { describe, expect, it } from 'vitest'

import { compileSqlRule } from '../../../detectors/sigma/compile-sql.ts'
import { parseRuleText } from '../../../detectors/sigma/load-rules.ts'
import { re2Source } from '../../../detectors/sigma/re2-source.ts'
import type { DetectionRule } from '../../../detectors/sigma/sigma-rule.ts'
import { processRule } from './helpers.ts'

function ruleFrom(detection: string): DetectionRule {
  const { documents } = parseRuleText(processRule(detection), 'test.yml')
  return documents[0] as DetectionRule
}

describe('compileSqlRule', () => {
  it('binds every rule value as a parameter, never in the SQL text', () => {
    const marker = `x'); DROP TABLE events; --`
    const rule = ruleFrom(String.raw`sel:
    CommandLine|contains: "${marker}"
    Image|re: "DROP TABLE events'\\)"
    ${marker.replaceAll("'", '')}: a
keywords: ['${marker.replaceAll("'", "''")}']
condition: sel or keywords`)
    const { sql, params } = compileSqlRule(rule)
    expect(sql).not.toContain('DROP')
    expect(Object.values(params).some((v) => String(v).includes('DROP TABLE'))).toBe(true)
  })

  it('compiles a time part to a comparison of the part read as written, the value bound', () => {
    const rule = ruleFrom(`sel: {UtcTime|week|gte: 53}\ncondition: sel`)
    const { sql, params } = compileSqlRule(rule)
    expect(sql).toContain('toISOWeek')
    expect(sql).toMatch(/>= \{p\d+:Float64\}/)
    expect(Object.values(params)).toContain(53)
  })

  it('refuses what the stream refuses, with the stream’s words', () => {
    const rule = ruleFrom(`sel: {Image|contians: x}\ncondition: sel`)
    expect(() => compileSqlRule(rule)).toThrow(/unknown modifier "contians".*did you mean contains/)
  })

  it('compiles a rule whose placeholder has no value to false: the stream matches nothing', () => {
    const rule = ruleFrom(`sel: {User|expand: '%Nobody%'}\ncondition: sel`)
    expect(compileSqlRule(rule).sql).toBe('0')
  })
})

describe('re2Source', () => {
  it('spells out what ECMAScript means by . and \\s', () => {
    expect(re2Source('a.b', '')).toBe(String.raw`a[^\n\r\x{2028}\x{2029}]b`)
    expect(re2Source('a.b', 's')).toBe('(?s)a.b')
    expect(re2Source(String.raw`\s`, '')).toMatch(/^\[\\t\\n.*\\x\{3000\}\\x\{FEFF\}\]$/)
  })

  it('keeps ECMAScript identity escapes and literal braces literal', () => {
    expect(re2Source(String.raw`\p{L}`, '')).toBe(String.raw`p\{L\}`)
    expect(re2Source('x{2,3}', '')).toBe('x{2,3}')
  })

  it('refuses lookaround, back-references, m with anchors, and non-ASCII under i', () => {
    expect(re2Source('a(?=b)', '')).toEqual({ refused: expect.stringMatching(/lookahead/) })
    expect(re2Source(String.raw`(a)\1`, '')).toEqual({ refused: expect.stringMatching(/back/) })
    expect(re2Source('^a', 'm')).toEqual({ refused: expect.stringMatching(/\\r/) })
    expect(re2Source('a', 'm')).toBe('a')
    expect(re2Source('ä', 'i')).toEqual({ refused: expect.stringMatching(/non-ASCII/) })
    expect(re2Source('x{1001}', '')).toEqual({ refused: expect.stringMatching(/1000/) })
  })
})
