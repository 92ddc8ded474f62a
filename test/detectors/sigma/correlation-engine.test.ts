import { describe, expect, it } from 'vitest'

import { createCorrelator } from '../../../detectors/sigma/correlation-engine.ts'
import { loadRules } from '../../../detectors/sigma/load-rules.ts'
import { compileRuleSet, type RuleSet } from '../../../detectors/sigma/rule-set.ts'
import type { Alert } from '../../../platform/alert-model.ts'
import type { PalisadeEvent } from '../../../platform/event-model.ts'
import { ruleSetFrom } from './helpers.ts'

const base = `title: failure
id: aaaaaaaa-0000-4000-8000-000000000001
name: fail
logsource: {product: linux, service: sshd}
detection:
    s: {event.outcome: failure}
    condition: s
---
`
const countRule = (condition: string) => `${base}title: many failures
id: aaaaaaaa-0000-4000-8000-000000000002
correlation:
    type: event_count
    rules: [fail]
    group-by: [source.ip]
    timespan: 5m
    condition: {${condition}}
level: high
`

let seq = 0
function ssh(at: string, outcome: 'failure' | 'success', ip = '10.0.0.9', user = 'root') {
  seq++
  return {
    id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
    '@timestamp': at,
    event: { dataset: 'sshd', action: 'ssh_login', outcome, category: ['authentication'] },
    source: { ip },
    user: { name: user },
    log: { syslog: { appname: 'sshd' } },
  } satisfies PalisadeEvent
}

function feed(set: RuleSet, events: PalisadeEvent[], correlator = createCorrelator(set)) {
  const alerts: Alert[] = []
  for (const e of events) alerts.push(...correlator.process(e, set.evaluate(e)))
  return { alerts, correlator }
}

const at = (s: number) => new Date(Date.UTC(2025, 0, 1, 0, 0, s)).toISOString()

describe('event_count correlation', () => {
  it('fires once when the count reaches the threshold within the window', () => {
    const set = ruleSetFrom(countRule('gte: 3'))
    const { alerts } = feed(set, [
      ssh(at(1), 'failure'),
      ssh(at(2), 'failure'),
      ssh(at(3), 'failure'),
      ssh(at(4), 'failure'),
    ])
    expect(alerts).toHaveLength(1)
    expect(alerts[0]?.entity).toEqual({ kind: 'source.ip', value: '10.0.0.9' })
    expect(alerts[0]?.event_ids).toHaveLength(3)
    expect(alerts[0]?.rule.kind).toBe('correlation')
  })

  it('does not fire one event short of the threshold, and fires across a clock boundary', () => {
    const set = ruleSetFrom(countRule('gte: 3'))
    expect(feed(set, [ssh(at(1), 'failure'), ssh(at(2), 'failure')]).alerts).toHaveLength(0)
    // 00:04:58 to 00:05:01 is one burst: windows slide, they are not cut at 00:05:00.
    const across = [ssh(at(298), 'failure'), ssh(at(299), 'failure'), ssh(at(301), 'failure')]
    expect(feed(set, across).alerts).toHaveLength(1)
  })

  it('counts groups separately', () => {
    const set = ruleSetFrom(countRule('gte: 2'))
    const events = [ssh(at(1), 'failure', '1.1.1.1'), ssh(at(2), 'failure', '2.2.2.2')]
    expect(feed(set, events).alerts).toHaveLength(0)
  })

  it('counts a late event in its window while the window is open, and records it otherwise', () => {
    const set = ruleSetFrom(countRule('gte: 2'))
    const open = feed(set, [
      ssh(at(10), 'failure'),
      ssh(at(320), 'success'),
      ssh(at(20), 'failure'),
    ])
    expect(open.alerts).toHaveLength(1)
    const closed = feed(set, [
      ssh(at(10), 'failure'),
      ssh(at(1000), 'failure'),
      ssh(at(20), 'failure'),
    ])
    expect(closed.alerts).toHaveLength(0)
    expect(closed.correlator.state().late).toBe(1)
  })

  it('gives the same alert id on redelivery and does not count a redelivered event twice', () => {
    const set = ruleSetFrom(countRule('gte: 2'))
    const events = [ssh(at(1), 'failure'), ssh(at(2), 'failure')]
    const first = feed(set, events).alerts
    const again = feed(set, [...events].reverse()).alerts
    expect(first[0]?.id).toBe(again[0]?.id)
    expect(feed(set, [events[0]!, events[0]!]).alerts).toHaveLength(0)
  })

  it('decides upper-bounded conditions when the window closes', () => {
    const set = ruleSetFrom(countRule('gt: 1, lte: 3'))
    const { alerts, correlator } = feed(set, [ssh(at(1), 'failure'), ssh(at(2), 'failure')])
    expect(alerts).toHaveLength(0)
    expect(correlator.flush(Date.UTC(2025, 0, 1, 1))).toHaveLength(1)
  })

  it('keeps state that survives a JSON round trip', () => {
    const set = ruleSetFrom(countRule('gte: 2'))
    const { correlator } = feed(set, [ssh(at(1), 'failure')])
    const restored = createCorrelator(set, {}, JSON.parse(JSON.stringify(correlator.state())))
    expect(feed(set, [ssh(at(2), 'failure')], restored).alerts).toHaveLength(1)
  })

  it('remembers through a JSON round trip what its alerts took, so a redelivery adds none', () => {
    const set = ruleSetFrom(countRule('gte: 2'))
    const events = [ssh(at(1), 'failure'), ssh(at(2), 'failure'), ssh(at(3), 'failure')]
    const { alerts, correlator } = feed(set, events)
    expect(alerts).toHaveLength(1)
    const state = JSON.parse(JSON.stringify(correlator.state()))
    expect(state.version).toBe(2)
    const restored = createCorrelator(set, {}, state)
    expect(feed(set, events, restored).alerts).toEqual([])
    expect(feed(set, [ssh(at(4), 'failure')], restored).alerts).toHaveLength(1)
  })

  it('resumes a version 1 state: its sequences and anchored windows, not its tumbling counts', () => {
    const set = ruleSetFrom(countRule('gte: 2'))
    const range = ruleSetFrom(countRule('gt: 1, lte: 3'))
    const id = 'aaaaaaaa-0000-4000-8000-000000000002'
    const start = Date.parse(at(0))
    const v1 = () => ({
      version: 1,
      watermark: start + 1000,
      entityWatermarks: { [`${id}\u000010.0.0.9`]: start + 1000 },
      late: 3,
      windows: {
        [`${id}\u0000${start}\u000010.0.0.9`]: {
          correlation: id,
          group: ['10.0.0.9'],
          start,
          end: start + 300_000,
          count: 2,
          eventIds: [ssh(at(0), 'failure').id, ssh(at(1), 'failure').id],
          fired: false,
        },
      },
      sequences: {},
      evicted: 0,
      pruned: 0,
      evictedThrough: {},
    })
    // Decided at its end, the window it had open is one of the new kind: it holds two.
    const anchored = createCorrelator(range, {}, v1() as never)
    expect(anchored.state()).toMatchObject({ version: 2, late: 3, lateBy: {}, slides: {} })
    expect(anchored.flush(Date.UTC(2025, 0, 1, 1)).map((a) => a.event_ids.length)).toEqual([2])
    // A sliding count starts again: the tumbling window closes without an alert.
    const sliding = createCorrelator(set, {}, v1() as never)
    expect(feed(set, [ssh(at(2), 'failure')], sliding).alerts).toEqual([])
    expect(sliding.flush(Date.UTC(2025, 0, 1, 1))).toEqual([])
  })

  it('keeps referenced rules quiet unless generate is true', () => {
    const set = ruleSetFrom(countRule('gte: 2'))
    const e = ssh(at(1), 'failure')
    expect(set.alertsFor(e, set.evaluate(e))).toHaveLength(0)
    const loud = ruleSetFrom(
      countRule('gte: 2').replace('timespan: 5m', 'timespan: 5m\n    generate: true'),
    )
    expect(loud.alertsFor(e, loud.evaluate(e))).toHaveLength(1)
  })
})

describe('value_count correlation', () => {
  const distinct = (field: string) => `${base}title: many pairs
id: aaaaaaaa-0000-4000-8000-000000000003
correlation:
    type: value_count
    rules: [fail]
    group-by: [event.dataset]
    timespan: 5m
    condition: {field: ${field}, gte: 3}
`

  it('counts distinct combinations of several fields, of the events that have them all', () => {
    const set = ruleSetFrom(distinct('[user.name, source.ip]'))
    const pairs = [ssh(at(1), 'failure', 'ip1', 'a'), ssh(at(2), 'failure', 'ip2', 'a')]
    expect(feed(set, [...pairs, ssh(at(3), 'failure', 'ip1', 'b')]).alerts).toHaveLength(1)
    expect(feed(set, [...pairs, ssh(at(3), 'failure', 'ip1', 'a')]).alerts).toEqual([])
    expect(feed(set, [...pairs, ssh(at(3), 'failure', 'ip3', '')]).alerts).toEqual([])
  })

  it('counts the distinct values of one field', () => {
    const set = ruleSetFrom(distinct('user.name'))
    const users = ['a', 'b', 'a', 'c'].map((u, i) => ssh(at(i), 'failure', 'ip1', u))
    expect(feed(set, users.slice(0, 3)).alerts).toEqual([])
    expect(feed(set, users).alerts).toHaveLength(1)
  })
})

describe('the built-in SSH rule pack', () => {
  const set = compileRuleSet(loadRules(['rules/builtin']).documents)
  const titles = (alerts: Alert[]) => alerts.map((a) => a.rule.title).sort()

  it('loads without rejections', () => {
    expect(set.rejections).toEqual([])
    // Five over SSH and Windows, four over Palisade's own sign-ins (issue 7), one over DLP
    // findings (issue 9).
    expect(set.correlations).toHaveLength(10)
  })

  it('detects brute force, and a success after it', () => {
    const events = Array.from({ length: 10 }, (_, i) => ssh(at(i), 'failure'))
    events.push(ssh(at(30), 'success'))
    expect(titles(feed(set, events).alerts)).toEqual([
      'SSH Brute Force From One Source',
      'SSH Login Success After Repeated Failures',
    ])
  })

  it('detects password spraying across distinct user names', () => {
    const events = ['a', 'b', 'c', 'd', 'e'].map((u, i) => ssh(at(i), 'failure', '10.1.1.1', u))
    expect(titles(feed(set, events).alerts)).toEqual(['SSH Password Spraying From One Source'])
  })

  it('stays quiet for a few mistyped passwords followed by a login', () => {
    const events = [ssh(at(1), 'failure'), ssh(at(5), 'failure'), ssh(at(9), 'success')]
    expect(feed(set, events).alerts).toEqual([])
  })
})

describe('the specification\'s example file (correlation rules specification, "Example")', () => {
  // Four documents in one file: a temporal_ordered correlation over an event_count
  // correlation and a detection rule, each referred to by its name. As published, but for
  // one description folded onto a second line (YAML reads the same text).
  const example = `title: Correlation - Multiple Failed Logins Followed by Successful Login
id: b180ead8-d58f-40b2-ae54-c8940995b9b6
status: experimental
description: Detects multiple failed logins by a single user followed by a successful login of
    that user
references:
    - https://reference.com
author: Florian Roth (Nextron Systems)
date: 2023-06-16
correlation:
    type: temporal_ordered
    rules:
        - multiple_failed_login
        - successful_login
    group-by:
        - User
    timespan: 10m
falsepositives:
    - Unlikely
level: high
---
title: Multiple failed logons
id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41
description: Detects multiple failed logins within a certain amount of time
name: multiple_failed_login
correlation:
    type: event_count
    rules:
        - failed_login
    group-by:
        - User
    timespan: 10m
    condition:
        gte: 10
---
title: Single failed login
id: 53ba33fd-3a50-4468-a5ef-c583635cfa92
name: failed_login
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID:
            - 529
            - 4625
    condition: selection
---
title: Successful login
id: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8
description: Detects a successful login
name: successful_login
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID:
            - 528
            - 4624
    condition: selection
`
  const set = ruleSetFrom(example)

  let record = 0
  function logon(eventId: 4624 | 4625, user: string, s: number): PalisadeEvent {
    record++
    return {
      id: `00000000-0000-4000-8000-${String(900_000 + record).padStart(12, '0')}`,
      '@timestamp': at(s),
      winlog: {
        channel: 'Security',
        computer_name: 'dc1',
        event_id: eventId,
        provider_name: 'Microsoft-Windows-Security-Auditing',
        event_data: { User: user },
      },
    }
  }
  const failures = (user: string, n: number) =>
    Array.from({ length: n }, (_, i) => logon(4625, user, i))

  it('loads all four documents', () => {
    expect(set.rejections).toEqual([])
    expect(set.rules.map((r) => r.name)).toEqual(['failed_login', 'successful_login'])
    expect(set.correlations.map((c) => c.name ?? c.type)).toEqual([
      'temporal_ordered',
      'multiple_failed_login',
    ])
  })

  it('alerts on ten failed logins of a user followed by a success of that user', () => {
    const { alerts } = feed(set, [...failures('bob', 10), logon(4624, 'bob', 30)])
    expect(alerts.map((a) => [a.rule.title, a.level, a.entity])).toEqual([
      [
        'Correlation - Multiple Failed Logins Followed by Successful Login',
        'high',
        { kind: 'User', value: 'bob' },
      ],
    ])
  })

  it('stays quiet for nine failures, and for a success of another user', () => {
    expect(feed(set, [...failures('bob', 9), logon(4624, 'bob', 30)]).alerts).toEqual([])
    expect(feed(set, [...failures('bob', 10), logon(4624, 'alice', 30)]).alerts).toEqual([])
  })
})
