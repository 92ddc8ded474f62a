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
