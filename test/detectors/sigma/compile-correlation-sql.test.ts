import { describe, expect, it } from 'vitest'

import {
  compileCorrelationSql,
  correlationAlertFromRow,
} from '../../../detectors/sigma/compile-correlation-sql.ts'
import { SqlUnsupportedError } from '../../../detectors/sigma/compile-sql-value.ts'
import { RuleCompileError } from '../../../detectors/sigma/compile-value.ts'
import { slideAlertId, windowAlertId } from '../../../detectors/sigma/correlation-alert.ts'
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

  it('makes a row the alert the stream raises: its id from the trigger, or from t_open', () => {
    const { correlation } = load(counting('{gte: 2}'))
    const row = {
      correlation_id: correlation.id,
      group_values: ['10.0.0.1'],
      event_ids: ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002'],
      value: '2',
      window_start: '1740830400000',
      window_end: '1740830401000',
      trigger_event_id: '00000000-0000-4000-8000-000000000002',
      t_open: null,
    }
    const alert = correlationAlertFromRow(row, correlation)
    expect(alert.id).toBe(slideAlertId(correlation, ['10.0.0.1'], row.trigger_event_id))
    expect(alert).toMatchObject({
      '@timestamp': '2025-03-01T12:00:01.000Z',
      entity: { kind: 'source.ip', value: '10.0.0.1' },
      event_ids: row.event_ids,
      message:
        'many failures (event_count 2 in 300s, from 2025-03-01T12:00:00.000Z to ' +
        '2025-03-01T12:00:01.000Z)',
    })
    const anchored = { ...row, trigger_event_id: null, t_open: 1740830400000 }
    expect(correlationAlertFromRow(anchored, correlation).id).toBe(
      windowAlertId(correlation, ['10.0.0.1'], 1740830400000),
    )
  })

  it('refuses a row of another correlation, naming both', () => {
    const { correlation } = load(counting('{gte: 2}'))
    const row = {
      correlation_id: 'other',
      group_values: [],
      event_ids: [],
      value: 0,
      window_start: 0,
      window_end: 0,
      trigger_event_id: 'x',
      t_open: null,
    }
    expect(() => correlationAlertFromRow(row, correlation)).toThrow(
      /correlation 20000000-0000-4000-a000-000000000001 was expected, got one of other/,
    )
  })
})
