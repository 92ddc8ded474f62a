import { describe, expect, it } from 'vitest'

import { parseRuleText } from '../../../detectors/sigma/load-rules.ts'
import { compileRuleSet } from '../../../detectors/sigma/rule-set.ts'
import type { RuleRejection } from '../../../detectors/sigma/sigma-rule.ts'

/**
 * What a detection engineer sees for a malformed rule: the file, the line of the part that is
 * wrong, the field, what was expected and what came. Line numbers count from 1 in the file.
 */

/** Every rejection of the text, from loading and from compiling, as `line: message`. */
function rejections(text: string): RuleRejection[] {
  const loaded = parseRuleText(text, 'rules/bad.yml')
  return [...loaded.rejections, ...compileRuleSet(loaded.documents).rejections]
}

function only(text: string): RuleRejection {
  const all = rejections(text)
  expect(all, JSON.stringify(all)).toHaveLength(1)
  return all[0]!
}

const head = `title: t
id: 11111111-1111-4111-8111-111111111111
logsource:
    product: windows
    category: process_creation
`

describe('rule loader errors (rules specification, "Components")', () => {
  it('names a missing detection', () => {
    const r = only(head)
    expect(r).toMatchObject({ file: 'rules/bad.yml', line: 1 })
    expect(r.rule_id).toBe('11111111-1111-4111-8111-111111111111')
    expect(r.message).toBe(
      'missing detection: a rule needs a detection map of search identifiers and a condition',
    )
  })

  it('names a detection of the wrong type, at its line, with what came', () => {
    const r = only(`${head}detection:\n    - selection\n`)
    expect(r.line).toBe(6)
    expect(r.message).toBe(
      'detection must be a map of search identifiers and a condition, got a list',
    )
  })

  it('names a detection without a condition, at its line', () => {
    const r = only(`${head}detection:\n    sel:\n        Image: x\n`)
    expect(r.line).toBe(6)
    expect(r.message).toMatch(/detection has no condition: add condition: with a string/)
  })

  it('names a missing or malformed title and logsource', () => {
    expect(only(`id: x\nlogsource: {product: windows}\n`).message).toMatch(/missing title/)
    const title = only(`title: 5\nlogsource: {product: windows}\n`)
    expect(title).toMatchObject({ line: 1, message: 'title must be a non-empty string, got 5' })
    const noLogsource = only(`title: t\ndetection:\n    sel: {A: x}\n    condition: sel\n`)
    expect(noLogsource.message).toMatch(/missing logsource: a map with product, category/)
    const list = only(`title: t\nlogsource: [windows]\n`)
    expect(list).toMatchObject({ line: 2 })
    expect(list.message).toMatch(/logsource must be a map .*, got a list/)
    const product = only(`title: t\nlogsource:\n    product: 7\n`)
    expect(product).toMatchObject({ line: 2, message: 'logsource.product must be a string, got 7' })
  })

  it('names a level that is not one of the five', () => {
    const r = only(`${head}level: severe\ndetection:\n    sel: {A: x}\n    condition: sel\n`)
    expect(r).toMatchObject({ line: 6 })
    expect(r.message).toBe(
      'level must be one of informational, low, medium, high, critical, got "severe"',
    )
  })

  it('puts a bad modifier at the line of its field, naming identifier, field and modifier', () => {
    const r = only(`${head}detection:
    sel:
        EventID: 1
        Image|sideways: 'x'
    condition: sel
`)
    expect(r).toMatchObject({ file: 'rules/bad.yml', line: 9 })
    expect(r.message).toBe('detection.sel: unknown modifier "sideways" in "Image|sideways"')
  })

  it('puts an error in a list of maps at the line of the map item that has it', () => {
    const r = only(`${head}detection:
    sel:
        - Image|endswith: '\\a.exe'
        - CommandLine|contains|all: 'one'
    condition: sel
`)
    expect(r.line).toBe(9)
    expect(r.message).toMatch(/detection\.sel: "CommandLine\|contains\|all": all needs a list/)
  })

  it('puts a missing identifier at the line of the condition, naming both', () => {
    const r = only(`${head}detection:
    selection:
        Image: x
    condition: selection and not filter
`)
    expect(r.line).toBe(9)
    expect(r.message).toBe(
      'condition "selection and not filter" names "filter", which is not defined ' +
        '(defined: selection)',
    )
  })

  it('puts an error in a condition list at the line of that condition', () => {
    const r = only(`${head}detection:
    a: {A: x}
    condition:
        - a
        - a and b
`)
    expect(r.line).toBe(10)
    expect(r.message).toMatch(/names "b", which is not defined/)
  })

  it('names wrong value types at the line of their field or identifier', () => {
    const map = only(`${head}detection:
    sel:
        Image:
            nested: x
    condition: sel
`)
    expect(map.line).toBe(8)
    expect(map.message).toBe(
      'detection.sel: "Image" values must be strings, numbers or null, got a map or list',
    )
    const nullId = only(`${head}detection:\n    sel:\n    condition: sel\n`)
    expect(nullId).toMatchObject({
      line: 7,
      message: 'detection.sel: expected a map or a list, got null',
    })
    const number = only(`${head}detection:\n    sel: {A: x}\n    condition: 5\n`)
    expect(number).toMatchObject({ line: 8 })
    expect(number.message).toBe('condition must be a string or a list of strings, got a number')
    const gt = only(`${head}detection:\n    sel:\n        Size|gt: big\n    condition: sel\n`)
    expect(gt).toMatchObject({
      line: 8,
      message: 'detection.sel: "Size|gt" needs a number, got "big"',
    })
  })

  it('counts lines from the start of the file in a file of several documents', () => {
    const second = `---\n${head}detection:\n    sel:\n        Image|re: '(x'\n    condition: sel\n`
    const good = `${head}detection:\n    sel: {Image: x}\n    condition: sel\n`
    const r = only(good + second.replace('1111-4111', '2222-4222'))
    expect(r.line).toBe(17)
    expect(r.message).toMatch(/detection\.sel: "Image\|re": invalid regular expression/)
  })

  it('reports invalid YAML with its own line', () => {
    const r = only(`${head}detection:\n    sel: {Image: x\n    condition: sel\n`)
    expect(r.message).toMatch(/^invalid YAML: /)
    expect(r.line).toBeGreaterThanOrEqual(7)
  })

  it('reports a duplicate key, which YAML does not allow', () => {
    const r = only(
      `${head}detection:\n    sel: {Image: x}\n    sel: {Image: y}\n    condition: sel\n`,
    )
    expect(r.message).toMatch(/invalid YAML: .*unique/i)
    expect(r.line).toBe(8)
  })
})

describe('filter errors (filters specification)', () => {
  const rule = `${head}detection:\n    sel: {Image: x}\n    condition: sel\n`
  const filterHead = `---
title: f
id: 99999999-9999-4999-8999-999999999999
logsource:
    product: windows
    category: process_creation
`

  it('names a filter without rules, condition or logsource', () => {
    const noRules = `${filterHead}filter:\n    selection: {User: x}\n    condition: not selection\n`
    expect(only(rule + noRules).message).toMatch(/filter\.rules must list the rules/)
    const noCondition =
      `${filterHead}filter:\n` +
      `    rules: [11111111-1111-4111-8111-111111111111]\n    selection: {User: x}\n`
    expect(only(rule + noCondition).message).toBe('filter has no condition')
    const noLogsource = noCondition
      .replace(/logsource:\n.*\n.*\n/, '')
      .replace('    selection', '    condition: not selection\n    selection')
    expect(only(rule + noLogsource).message).toMatch(/missing logsource/)
  })

  it('names the filter, its file and line when its selection does not compile', () => {
    const bad = `${filterHead}filter:
    rules: [11111111-1111-4111-8111-111111111111]
    selection:
        User|sideways: adm_
    condition: not selection
`
    const r = only(rule + bad)
    expect(r.message).toBe(
      'filter 99999999-9999-4999-8999-999999999999 (rules/bad.yml:18): ' +
        'detection.selection: unknown modifier "sideways" in "User|sideways"',
    )
  })
})

describe('correlation errors (correlation rules specification, "Correlation section")', () => {
  const detection = `${head}name: big_upload\ndetection:\n    sel: {Image: x}\n    condition: sel\n`
  /** The detection rule (lines 1-9), then a correlation whose `correlation:` is at line 13. */
  const correlation = (block: string) =>
    `${detection}---\ntitle: c\nid: 22222222-2222-4222-8222-222222222222\ncorrelation:\n${block}`
  const sum = (condition: string) =>
    correlation(
      `    type: value_sum\n    rules: [big_upload]\n    group-by: [User]\n    timespan: 1h\n` +
        `    condition:\n${condition}`,
    )

  it('names an unknown condition operator at its line, with the keys the type takes', () => {
    const r = only(sum('        field: bytes\n        between: 5\n'))
    expect(r).toMatchObject({ file: 'rules/bad.yml', line: 20 })
    expect(r.rule_id).toBe('22222222-2222-4222-8222-222222222222')
    expect(r.message).toBe(
      'correlation.condition has an unknown key "between": ' +
        'a value_sum condition takes gt, gte, lt, lte, eq, neq, field',
    )
  })

  it('names a comparison that is not a number at its line, with what came', () => {
    const r = only(sum('        field: bytes\n        gt: ten\n'))
    expect(r).toMatchObject({
      line: 20,
      message: 'correlation.condition.gt must be a number, got "ten"',
    })
  })

  it('names a metric correlation without a field or a comparison, at its condition', () => {
    const noField = only(sum('        gt: 1000\n'))
    expect(noField).toMatchObject({
      line: 18,
      message:
        'value_sum correlation needs condition.field, the numeric field whose values are summed',
    })
    const noComparison = only(sum('        field: bytes\n'))
    expect(noComparison).toMatchObject({
      line: 18,
      message:
        'value_sum correlation needs a comparison in its condition, ' +
        'such as {field: bytes, gt: 1000}',
    })
    const noCondition = only(
      correlation('    type: value_avg\n    rules: [big_upload]\n    timespan: 1h\n'),
    )
    expect(noCondition).toMatchObject({
      line: 13,
      message: 'value_avg correlation needs a condition such as {field: bytes, gt: 1000}',
    })
  })

  it('names a metric field given as a list, and a percentile outside 0 to 100', () => {
    const list = only(sum('        field: [bytes, packets]\n        gt: 1\n'))
    expect(list).toMatchObject({
      line: 19,
      message: 'correlation.condition.field must be one field name, got a list',
    })
    const percentile = only(
      correlation(
        '    type: value_percentile\n    rules: [big_upload]\n    timespan: 1h\n' +
          '    condition: {field: bytes, percentile: 101, gt: 5}\n',
      ),
    )
    expect(percentile).toMatchObject({
      line: 17,
      message: 'correlation.condition.percentile must be a number from 0 to 100, got 101',
    })
  })

  it('names a missing or unknown type and a missing or malformed timespan at their lines', () => {
    const noType = only(correlation('    rules: [big_upload]\n    timespan: 1h\n'))
    expect(noType.line).toBe(13)
    expect(noType.message).toBe(
      'correlation.type must be one of event_count, value_count, temporal, temporal_ordered, ' +
        'value_sum, value_avg, value_percentile, got nothing',
    )
    const median = only(correlation('    type: value_median\n    rules: [big_upload]\n'))
    expect(median).toMatchObject({ line: 14 })
    expect(median.message).toMatch(/^correlation\.type must be one of .*, got "value_median"$/)
    const noTimespan = only(
      correlation('    type: event_count\n    rules: [big_upload]\n    condition: {gte: 2}\n'),
    )
    expect(noTimespan).toMatchObject({ line: 13 })
    expect(noTimespan.message).toBe(
      'correlation.timespan must be a number and a unit (s, m, h or d) ' +
        'such as 30s, 5m, 1h or 1d, got nothing',
    )
    const hours = only(
      correlation('    type: event_count\n    rules: [big_upload]\n    timespan: 2 hours\n'),
    )
    expect(hours).toMatchObject({ line: 16 })
    expect(hours.message).toMatch(/, got "2 hours"$/)
  })

  it('names rules, group-by and generate of the wrong type at their lines', () => {
    const rules = only(correlation('    type: temporal\n    rules: {a: 1}\n    timespan: 1h\n'))
    expect(rules).toMatchObject({
      line: 15,
      message: 'correlation.rules must list the ids or names of the rules it correlates, got a map',
    })
    const groupBy = only(
      correlation(
        '    type: temporal\n    rules: [big_upload]\n    group-by: 7\n    timespan: 1h\n',
      ),
    )
    expect(groupBy).toMatchObject({
      line: 16,
      message: 'correlation.group-by must be a list of field names, got 7',
    })
    const generate = only(
      correlation(
        '    type: temporal\n    rules: [big_upload]\n    timespan: 1h\n    generate: yes please\n',
      ),
    )
    expect(generate).toMatchObject({
      line: 17,
      message: 'correlation.generate must be true or false, got "yes please"',
    })
  })
})
