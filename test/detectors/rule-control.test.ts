import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, describe, expect, it } from 'vitest'

import { createDetector } from '../../detectors/detector.ts'
import { derivedId } from '../../platform/event-id.ts'
import type { PalisadeEvent } from '../../platform/event-model.ts'
import { createLogger } from '../../platform/logger.ts'

const root = mkdtempSync(join(tmpdir(), 'palisade-rule-control-'))
let dirs = 0

afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

const RULE = '2b3c4d5e-6f70-4812-9a3b-4c5d6e7f8091'
const COUNT = '3c4d5e6f-7081-4923-8b4c-5d6e7f809102'

/** A rule on failed logins and a correlation firing at `threshold` of them from one address. */
function rules(threshold: number): string {
  return [
    'title: Failed login',
    `id: ${RULE}`,
    'name: failed_login',
    'logsource: { product: linux, service: sshd }',
    'detection:',
    '  selection: { event.outcome: failure }',
    '  condition: selection',
    '---',
    'title: Failed logins from one address',
    `id: ${COUNT}`,
    'correlation:',
    '  type: event_count',
    '  rules: [failed_login]',
    '  group-by: [source.ip]',
    '  timespan: 10m',
    `  condition: { gte: ${threshold} }`,
    '  generate: true',
    '',
  ].join('\n')
}

function ruleDir(text: string): string {
  const dir = join(root, `rules-${++dirs}`)
  mkdirSync(dir)
  writeFileSync(join(dir, 'rules.yml'), text)
  return dir
}

let n = 0
function failure(ip = '198.51.100.1'): PalisadeEvent {
  n++
  return {
    id: derivedId('rule-control-test', String(n)),
    '@timestamp': new Date(Date.UTC(2026, 0, 5, 8, 0, n)).toISOString(),
    event: { dataset: 'sshd', outcome: 'failure' },
    source: { ip },
  }
}

const fired = (alerts: { rule: { id: string } }[]) => alerts.map((a) => a.rule.id).sort()

describe('rule control', () => {
  it('keeps the open windows of an unchanged correlation across a reload', () => {
    const dir = ruleDir(rules(2))
    const detector = createDetector([dir], createLogger('silent'))
    expect(fired(detector.detect([failure()]))).toEqual([RULE])
    const report = detector.rules.reload()
    expect(report).toMatchObject({ added: [], changed: [], removed: [] })
    expect(report.correlationStateDropped).toEqual([])
    expect(fired(detector.detect([failure()]))).toEqual([COUNT, RULE].sort())
  })

  it('drops the windows of a correlation whose content changed, and says so', () => {
    const dir = ruleDir(rules(2))
    const detector = createDetector([dir], createLogger('silent'))
    detector.detect([failure('198.51.100.2')])
    writeFileSync(join(dir, 'rules.yml'), rules(3))
    const report = detector.rules.reload()
    expect(report.changed).toEqual([COUNT])
    expect(report.correlationStateDropped).toEqual([COUNT])
    // The window restarts: two more are needed before three count, not one.
    expect(fired(detector.detect([failure('198.51.100.2'), failure('198.51.100.2')]))).toEqual([
      RULE,
      RULE,
    ])
    expect(fired(detector.detect([failure('198.51.100.2')]))).toEqual([COUNT, RULE].sort())
  })

  it('resumes saved correlation state in a new detector, unless the correlation changed', () => {
    const dir = ruleDir(rules(2))
    const before = createDetector([dir], createLogger('silent'))
    before.detect([failure('198.51.100.5')])
    const versions = Object.fromEntries(before.ruleSet.correlations.map((c) => [c.id, c.version]))
    const saved = JSON.parse(JSON.stringify(before.correlator.state()))

    const after = createDetector([dir], createLogger('silent'))
    expect(after.rules.restore(saved, versions)).toEqual([])
    expect(fired(after.detect([failure('198.51.100.5')]))).toEqual([COUNT, RULE].sort())

    const changed = createDetector([ruleDir(rules(2))], createLogger('silent'))
    expect(changed.rules.restore(saved, { [COUNT]: 'an older version' })).toEqual([COUNT])
    expect(fired(changed.detect([failure('198.51.100.5')]))).toEqual([RULE])
  })

  it('does not feed a correlation that is off, while the rule it counts still alerts', () => {
    const detector = createDetector([ruleDir(rules(2))], createLogger('silent'), {
      disabled: [COUNT],
    })
    const alerts = detector.detect([failure('198.51.100.3'), failure('198.51.100.3')])
    expect(fired(alerts)).toEqual([RULE, RULE])
    expect(detector.correlator.state().windows).toEqual({})
    expect(detector.rules.setEnabled(COUNT, true)).toBe(true)
    expect(detector.rules.setEnabled(COUNT, true)).toBe(false)
    expect(fired(detector.detect([failure('198.51.100.3'), failure('198.51.100.3')]))).toEqual(
      [COUNT, RULE, RULE].sort(),
    )
  })

  it('loads one of two rules sharing an id, at start and at a reload, rejecting the other', () => {
    const dir = ruleDir(rules(2))
    const copy = rules(2).split('---')[0]!.replace('title: Failed login', 'title: Copy')
    writeFileSync(join(dir, 'zz-copy.yml'), copy)
    const detector = createDetector([dir], createLogger('silent'))
    const duplicate = {
      file: expect.stringMatching(/zz-copy\.yml$/),
      line: 1,
      rule_id: RULE,
      message: expect.stringMatching(/^duplicate id .*\/rules\.yml:1, which is loaded instead/),
    }
    expect(detector.rules.live.rejections).toEqual([duplicate])
    expect(detector.ruleSet.rules.map((r) => r.title)).toEqual(['Failed login'])

    const report = detector.rules.reload()
    expect(report.rejections).toEqual([duplicate])
    expect(report).toMatchObject({ added: [], changed: [], removed: [], rules: 1 })
  })

  it('keeps the running set when a reload cannot read the folders', () => {
    const dir = ruleDir(rules(2))
    const detector = createDetector([dir], createLogger('silent'))
    const before = detector.ruleSet
    rmSync(dir, { recursive: true, force: true })
    expect(() => detector.rules.reload()).toThrow(
      new RegExp(
        '^reload refused, the 2 running rules and correlations are kept: ' +
          'the rule folders cannot be read: rule path .* does not exist$',
      ),
    )
    expect(detector.ruleSet).toBe(before)
    expect(fired(detector.detect([failure('198.51.100.4')]))).toEqual([RULE])
  })
})
