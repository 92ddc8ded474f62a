import { describe, expect, it } from 'vitest'

import { placeholderNames } from '../../../detectors/sigma/placeholder-names.ts'
import { processRule, ruleSetFrom, sysmon } from './helpers.ts'

describe('placeholder names', () => {
  it('are read from the values of expand entries only, escaped percent signs left out', () => {
    const detection = {
      selection: { 'User|expand': ['%Admins%', 'x\\%y%Ops%'], CommandLine: '%temp%' },
      other: [{ 'Host|contains|expand': '%Servers%' }],
      condition: 'selection and not other',
    }
    expect(placeholderNames(detection)).toEqual(['Admins', 'Ops', 'Servers'])
  })
})

describe('a rule whose placeholder has no value', () => {
  const rule = processRule(
    `s:\n    Image|endswith: '\\cmd.exe'\nf:\n    User|expand: '%Admins%'\ncondition: s and not f`,
  )

  it('loads, matches nothing, and is reported as a warning naming the placeholder', () => {
    const set = ruleSetFrom(rule)
    expect(set.rejections).toEqual([])
    expect(set.rules).toHaveLength(1)
    expect(set.rules[0]?.missingPlaceholders).toEqual(['Admins'])
    // Under `not`, a placeholder read as "nothing" would match every event: the rule is off.
    expect(set.evaluate(sysmon(1, { Image: 'C:\\x\\cmd.exe', User: 'eve' }))).toHaveLength(0)
    expect(set.warnings).toEqual([
      {
        file: 'test.yml',
        line: 1,
        rule_id: '11111111-1111-4111-8111-111111111111',
        kind: 'missing-placeholder',
        placeholders: ['Admins'],
        message: expect.stringMatching(/placeholder %Admins% has no value/),
      },
    ])
  })

  it('runs once a value is given', () => {
    const set = ruleSetFrom(rule, { placeholders: { Admins: ['root'] } })
    expect(set.warnings).toEqual([])
    expect(set.evaluate(sysmon(1, { Image: 'C:\\x\\cmd.exe', User: 'eve' }))).toHaveLength(1)
    expect(set.evaluate(sysmon(1, { Image: 'C:\\x\\cmd.exe', User: 'root' }))).toHaveLength(0)
  })

  it('is still rejected for what else is wrong with it', () => {
    const bad = processRule(`s:\n    User|expand|nope: '%Admins%'\ncondition: s`)
    const set = ruleSetFrom(bad)
    expect(set.rules).toHaveLength(0)
    expect(set.rejections[0]?.message).toMatch(/unknown modifier "nope"/)
  })
})
