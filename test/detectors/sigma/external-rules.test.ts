import { describe, expect, it } from 'vitest'

import { createCorrelator } from '../../../detectors/sigma/correlation-engine.ts'
import { derivedId } from '../../../platform/event-id.ts'
import type { PalisadeEvent } from '../../../platform/event-model.ts'
import { ruleSetFrom } from './helpers.ts'

const yaml = `title: Sudo
id: 6b0a4c84-62b7-4c9e-9f0c-2d2c0f0f4b11
name: sudo
logsource: { product: linux, service: auth }
detection:
  selection: { process.name: sudo }
  condition: selection
---
title: Unusual user, then sudo
id: 1f7e5b0c-3a52-4d6a-8d0e-7d1a6f9e2c33
correlation:
  type: temporal
  rules: [anomaly-user-behaviour, sudo]
  group-by: [user.name]
  timespan: 1h
`
const external = [{ id: 'anomaly-user-behaviour', title: 'Unusual behaviour of a user' }]

function event(t: string, fields: Partial<PalisadeEvent>): PalisadeEvent {
  return { id: derivedId('test', `${t}${JSON.stringify(fields)}`), '@timestamp': t, ...fields }
}

describe("correlations over other detectors' outputs", () => {
  it('rejects a correlation naming an anomaly output the rule set was not told of', () => {
    const set = ruleSetFrom(yaml)
    expect(set.correlations).toEqual([])
    expect(set.rejections.map((r) => r.message)).toEqual([
      'correlation references rules that are not loaded: anomaly-user-behaviour',
    ])
  })

  it('loads it given the output, as a rule no event matches and that never alerts alone', () => {
    const set = ruleSetFrom(yaml, { externalRules: external })
    expect(set.rejections).toEqual([])
    expect(set.correlations.map((c) => c.ruleIds)).toEqual([
      ['anomaly-user-behaviour', '6b0a4c84-62b7-4c9e-9f0c-2d2c0f0f4b11'],
    ])
    expect(set.rules.map((r) => r.id)).toEqual(['6b0a4c84-62b7-4c9e-9f0c-2d2c0f0f4b11'])
    expect(set.ruleById('anomaly-user-behaviour')).toMatchObject({
      kind: 'detection',
      title: 'Unusual behaviour of a user',
      routed: false,
      standalone: false,
    })
  })

  it('correlates the output with a rule hit for the same user, and not for another', () => {
    const set = ruleSetFrom(yaml, { externalRules: external })
    const correlator = createCorrelator(set, { now: () => Date.UTC(2026, 0, 1) })
    const anomaly = set.ruleById('anomaly-user-behaviour')!
    const sudo = set.ruleById('6b0a4c84-62b7-4c9e-9f0c-2d2c0f0f4b11')!
    if (anomaly.kind !== 'detection' || sudo.kind !== 'detection') throw new Error('not rules')
    const sudoBy = (user: string, t: string) =>
      event(t, {
        event: { dataset: 'linux.auth' },
        user: { name: user },
        process: { name: 'sudo' },
      })
    const flagged = event('2025-12-01T04:00:00Z', { user: { name: 'ann' } })
    expect(correlator.process(flagged, [anomaly])).toEqual([])
    expect(correlator.process(sudoBy('bob', '2025-12-01T04:10:00Z'), [sudo])).toEqual([])
    const alerts = correlator.process(sudoBy('ann', '2025-12-01T04:20:00Z'), [sudo])
    expect(alerts.map((a) => [a.rule.title, a.entity.value])).toEqual([
      ['Unusual user, then sudo', 'ann'],
    ])
    expect(alerts[0]!.event_ids).toContain(flagged.id)
  })
})
