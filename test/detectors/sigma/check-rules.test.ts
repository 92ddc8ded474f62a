import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { checkRules } from '../../../detectors/sigma/check-rules.ts'

const dir = mkdtempSync(join(tmpdir(), 'palisade-check-'))
mkdirSync(join(dir, 'rules'))

function rule(name: string, id: string, logsource: string, detection: string): void {
  const text = `title: ${name}\nid: ${id}\nlogsource: ${logsource}\ndetection:\n${detection}\n`
  writeFileSync(join(dir, 'rules', `${name}.yml`), text)
}

const process = '{product: windows, category: process_creation}'
rule('good', 'a0000000-0000-4000-8000-000000000001', process, '  s: {Image: x}\n  condition: s')
rule('bad', 'a0000000-0000-4000-8000-000000000002', process, '  s: {Image|nope: x}\n  condition: s')
rule(
  'placeholder',
  'a0000000-0000-4000-8000-000000000003',
  process,
  "  s: {User|expand: '%Admins%'}\n  condition: s",
)
rule(
  'unrouted',
  'a0000000-0000-4000-8000-000000000004',
  '{product: acme}',
  '  s: {a: b}\n  condition: s',
)
writeFileSync(join(dir, 'rules', 'broken.yml'), 'title: [unclosed\n')

describe('rules check', () => {
  it('reports compiled, total, rejected with reasons, and warnings in their own fields', () => {
    const { ruleSet, ...report } = checkRules([join(dir, 'rules')])
    expect(ruleSet.rules).toHaveLength(3)
    expect(report.files).toBe(5)
    expect(report.total).toBe(5)
    expect(report.compiled).toBe(3)
    expect(report.rejected).toHaveLength(2)
    expect(report.rejected).toContainEqual({
      file: expect.stringMatching(/\/bad\.yml$/),
      // The line of the field with the bad modifier, not the document's first line.
      line: 5,
      rule_id: 'a0000000-0000-4000-8000-000000000002',
      reason: expect.stringMatching(/unknown modifier "nope"/),
    })
    expect(report.rejected.find((r) => r.file.endsWith('broken.yml'))?.reason).toBeTruthy()
    expect(report.missing_placeholders).toEqual([
      {
        file: expect.stringMatching(/\/placeholder\.yml$/),
        line: 1,
        rule_id: 'a0000000-0000-4000-8000-000000000003',
        placeholders: ['Admins'],
        reason: expect.stringMatching(/%Admins% has no value/),
      },
    ])
    expect(report.unrouted).toEqual([
      {
        file: expect.stringMatching(/\/unrouted\.yml$/),
        line: 1,
        rule_id: 'a0000000-0000-4000-8000-000000000004',
        logsource: { product: 'acme' },
      },
    ])
  })

  it('takes placeholder values from the mapping', () => {
    const mapping = { routes: [], placeholders: { Admins: ['root'] }, files: [] }
    const report = checkRules([join(dir, 'rules', 'placeholder.yml')], { mapping })
    expect(report.missing_placeholders).toEqual([])
    // No routes in this mapping: the rule loads, unrouted.
    expect(report.unrouted).toHaveLength(1)
  })
})

describe('rules check on two files with one id', () => {
  it('compiles the first and lists the second as rejected, naming both files and lines', () => {
    const twice = join(dir, 'twice')
    mkdirSync(twice)
    const text = `title: t\nid: a0000000-0000-4000-8000-000000000009\nlogsource: ${process}\n`
    writeFileSync(join(twice, 'a.yml'), `${text}detection:\n  s: {Image: x}\n  condition: s\n`)
    writeFileSync(join(twice, 'b.yml'), `${text}detection:\n  s: {Image: y}\n  condition: s\n`)
    const report = checkRules([twice])
    expect(report.compiled).toBe(1)
    expect(report.total).toBe(2)
    expect(report.rejected).toEqual([
      {
        file: expect.stringMatching(/\/twice\/b\.yml$/),
        line: 1,
        rule_id: 'a0000000-0000-4000-8000-000000000009',
        reason: expect.stringMatching(
          new RegExp(
            '^duplicate id a0000000-0000-4000-8000-000000000009: ' +
              'this detection \\(.*/twice/b\\.yml:1\\) has the id of the detection at ' +
              '.*/twice/a\\.yml:1, which is loaded instead',
          ),
        ),
      },
    ])
  })
})
