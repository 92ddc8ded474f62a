import { describe, expect, it } from 'vitest'

import { compileCorrelationSql } from '../../../detectors/sigma/compile-correlation-sql.ts'
import { SqlUnsupportedError } from '../../../detectors/sigma/compile-sql-value.ts'
import { RuleCompileError } from '../../../detectors/sigma/compile-value.ts'
import { parseRuleText } from '../../../detectors/sigma/load-rules.ts'
import type { CorrelationRule, DetectionRule } from '../../../detectors/sigma/sigma-rule.ts'

const failed = `title: failed password
id: 10000000-0000-4000-a000-000000000001
name: failed_password
logsource: {product: linux, service: sshd}
detection:
    sel: {message|contains: Failed password}
    condition: sel
---
title: lookahead
id: 10000000-0000-4000-a000-000000000002
name: lookahead
logsource: {product: linux, service: sshd}
detection:
    sel: {message|re: 'a(?=b)'}
    condition: sel
`

function load(correlation: string): {
  correlation: CorrelationRule
  rules: (DetectionRule | CorrelationRule)[]
} {
  const { documents, rejections } = parseRuleText(`${failed}---\n${correlation}`, 'c.yml')
  expect(rejections).toEqual([])
  const rules = documents.filter((d): d is DetectionRule | CorrelationRule => d.kind !== 'filter')
  return { correlation: rules.at(-1) as CorrelationRule, rules }
}

function counting(condition: string, rules = '[failed_password]', type = 'event_count'): string {
  return `title: many failures
id: 20000000-0000-4000-a000-000000000001
name: many
correlation:
    type: ${type}
    rules: ${rules}
    group-by: [source.ip]
    timespan: 5m
    condition: ${condition}
`
}

describe('compileCorrelationSql', () => {
  it('slides a condition with only lower bounds, and anchors one with an upper bound', () => {
    const { correlation, rules } = load(counting('{gte: 10}'))
    expect(compileCorrelationSql(correlation, rules).windows).toBe('sliding')
    const upper = load(counting('{gt: 2, lte: 5}'))
    expect(compileCorrelationSql(upper.correlation, upper.rules).windows).toBe('anchored')
  })

  it('binds the rule values, field names and condition as parameters', () => {
    const { correlation, rules } = load(counting('{gte: 10}'))
    const { sql, params } = compileCorrelationSql(correlation, rules)
    expect(sql).not.toContain('source')
    expect(sql).not.toContain('ailed')
    expect(Object.values(params)).toEqual(
      expect.arrayContaining(['source', 'ip', 10, 5 * 60_000 - 1, correlation.id]),
    )
  })

  it('takes only a table name for the table, the one name written into the SQL', () => {
    const { correlation, rules } = load(counting('{gte: 10}'))
    expect(compileCorrelationSql(correlation, rules, { table: 'palisade.events' }).sql).toContain(
      'FROM palisade.events WHERE',
    )
    expect(() => compileCorrelationSql(correlation, rules, { table: 'events; DROP' })).toThrow(
      /table must be a name or database.name, got "events; DROP"/,
    )
  })

  it('refuses the types it does not compile, naming the correlation', () => {
    const { correlation, rules } = load(
      counting('{gte: 2}', '[failed_password, lookahead]', 'temporal'),
    )
    expect(() => compileCorrelationSql(correlation, rules)).toThrow(SqlUnsupportedError)
    expect(() => compileCorrelationSql(correlation, rules)).toThrow(
      /"many failures".*temporal is not compiled to SQL/,
    )
  })

  it('refuses a correlation over a correlation', () => {
    const { documents } = parseRuleText(
      `${failed}---\n${counting('{gte: 10}')}---\ntitle: bursts
id: 20000000-0000-4000-a000-000000000002
correlation:
    type: event_count
    rules: [many]
    group-by: [source.ip]
    timespan: 1h
    condition: {gte: 2}
`,
      'c.yml',
    )
    const rules = documents as (DetectionRule | CorrelationRule)[]
    const over = rules.at(-1) as CorrelationRule
    expect(() => compileCorrelationSql(over, rules)).toThrow(
      /refers to correlation "many failures": a correlation over correlations/,
    )
  })

  it('refuses a correlation whose rule SQL cannot run, with that rule and the reason', () => {
    const { correlation, rules } = load(counting('{gte: 2}', '[lookahead]'))
    expect(() => compileCorrelationSql(correlation, rules)).toThrow(
      /rule "lookahead": SQL back end: .*lookahead/,
    )
  })

  it('says which referenced rule it was not given', () => {
    const { correlation } = load(counting('{gte: 2}'))
    expect(() => compileCorrelationSql(correlation, [])).toThrow(RuleCompileError)
    expect(() => compileCorrelationSql(correlation, [])).toThrow(
      /references a rule that is not given: failed_password/,
    )
  })
})
