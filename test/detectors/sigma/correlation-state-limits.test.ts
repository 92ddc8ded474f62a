import { describe, expect, it } from 'vitest'

import { createCorrelator, percentile } from '../../../detectors/sigma/correlation-engine.ts'
import type { CorrelatorOptions } from '../../../detectors/sigma/correlation-engine.ts'
import type { RuleSet } from '../../../detectors/sigma/rule-set.ts'
import { stateDroppedRule } from '../../../detectors/sigma/state-dropped-alert.ts'
import type { Alert } from '../../../platform/alert-model.ts'
import type { PalisadeEvent } from '../../../platform/event-model.ts'
import { ruleSetFrom } from './helpers.ts'

/**
 * Bounded correlation state: at most `maxGroups` group keys, evicted least recently updated
 * first from the correlation holding the most, each eviction counted and reported; percentile
 * and distinct-value lists capped. Timespans are five minutes; counts with a lower bound slide
 * and the rest are decided at the end of windows anchored at a group's first event (SLIDING.md).
 */

const failure = `title: failure
id: cccccccc-0000-4000-8000-000000000001
name: fail
logsource: {product: linux, service: sshd}
detection:
    s: {event.outcome: failure}
    condition: s
---
title: admin added
id: cccccccc-0000-4000-8000-000000000003
name: admin
logsource: {product: linux, service: sshd}
detection:
    s: {event.action: admin-added}
    condition: s
---
title: log cleared
id: cccccccc-0000-4000-8000-000000000004
name: cleared
logsource: {product: linux, service: sshd}
detection:
    s: {event.action: log-cleared}
    condition: s
---
`
const COUNT_ID = 'cccccccc-0000-4000-8000-000000000002'
const correlation = (type: string, condition: string) => `${failure}title: many failures
id: ${COUNT_ID}
correlation:
    type: ${type}
    rules: [fail]
    group-by: [source.ip]
    timespan: 5m
    condition: {${condition}}
level: high
`
const sequence = `title: admin then clearing
id: cccccccc-0000-4000-8000-000000000005
correlation:
    type: temporal_ordered
    rules: [admin, cleared]
    group-by: [host.name]
    timespan: 1h
level: critical
`

const START = Date.UTC(2025, 0, 1)
let seq = 0
function event(ms: number, fields: Record<string, unknown>): PalisadeEvent {
  seq++
  return {
    id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
    '@timestamp': new Date(START + ms).toISOString(),
    event: { dataset: 'sshd', outcome: 'failure' },
    log: { syslog: { appname: 'sshd' } },
    ...fields,
  } as PalisadeEvent
}
const fail = (ms: number, ip: string, more: Record<string, unknown> = {}) =>
  event(ms, { source: { ip }, ...more })
/** `n` failures from distinct addresses 10.9.x.y, one a millisecond from `ms`. */
const spray = (ms: number, n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => fail(ms + i, `10.9.${(from + i) >> 8}.${(from + i) & 255}`))

function run(set: RuleSet, events: PalisadeEvent[], options: CorrelatorOptions = {}) {
  const correlator = createCorrelator(set, options)
  const alerts: Alert[] = []
  for (const e of events) alerts.push(...correlator.process(e, set.evaluate(e)))
  return { alerts, correlator, close: () => correlator.flush(START + 86_400_000) }
}
const correlationAlerts = (alerts: Alert[]) => alerts.filter((a) => a.rule.kind === 'correlation')
const dropped = (alerts: Alert[]) => alerts.filter((a) => a.rule.id === stateDroppedRule.id)

describe('the group key limit', () => {
  const set = ruleSetFrom(correlation('event_count', 'gte: 5'))

  it('holds exactly maxGroups keys, and the next new key evicts one', () => {
    const full = run(set, spray(1000, 3), { maxGroups: 3 })
    expect(full.correlator.groups()).toBe(3)
    expect(full.correlator.state().evicted).toBe(0)
    expect(dropped(full.alerts)).toEqual([])

    const over = run(set, spray(1000, 4), { maxGroups: 3 })
    expect(over.correlator.groups()).toBe(3)
    expect(Object.keys(over.correlator.state().slides)).toHaveLength(3)
    expect(Object.keys(over.correlator.state().entityWatermarks)).toHaveLength(3)
    expect(over.correlator.state().evicted).toBe(1)
  })

  it('evicts the least recently updated key, so an address under attack outlives a spray', () => {
    // One failure from the attacker after every ten sprayed addresses; the limit is 50.
    const events: PalisadeEvent[] = []
    for (let i = 0; i < 100; i++) {
      events.push(...spray(i * 11, 10, i * 10), fail(i * 11 + 10, '203.0.113.7'))
    }
    const bounded = run(set, events, { maxGroups: 50 })
    const unbounded = run(set, events)
    expect(bounded.correlator.state().evicted).toBe(1000 + 1 - 50)
    expect(correlationAlerts(bounded.alerts)).toEqual(correlationAlerts(unbounded.alerts))
    // Its 100 failures within a second make 20 sets of five (sliding windows, SLIDING.md A).
    const attacked = correlationAlerts(bounded.alerts).map((a) => a.entity.value)
    expect(attacked).toEqual(Array.from({ length: 20 }, () => '203.0.113.7'))
  })

  it('keeps the keys of a quiet correlation while another one is flooded', () => {
    const both = ruleSetFrom(`${correlation('event_count', 'gte: 5')}---\n${sequence}`)
    const host = { host: { name: 'db1' } }
    const events = [
      event(0, { ...host, event: { action: 'admin-added' } }),
      ...spray(1000, 500),
      event(2000, { ...host, event: { action: 'log-cleared' } }),
    ]
    const { alerts, correlator } = run(both, events, { maxGroups: 20 })
    expect(correlator.state().evicted).toBe(500 + 1 - 20)
    expect(correlationAlerts(alerts).map((a) => a.rule.title)).toEqual(['admin then clearing'])
  })

  it('forgets keys with nothing open before keys with open windows, without an alert', () => {
    // A sum counts only events with a number: these ten leave a watermark and no window.
    const sum = ruleSetFrom(correlation('value_sum', 'field: network.bytes, gt: 1000'))
    const bytes = (e: PalisadeEvent) => ({ ...e, network: { bytes: 10 } }) as PalisadeEvent
    const events = [...spray(0, 10), ...spray(100, 10, 100).map(bytes)]
    const { alerts, correlator } = run(sum, events, { maxGroups: 10 })
    expect(correlator.state()).toMatchObject({ pruned: 10, evicted: 0 })
    expect(Object.keys(correlator.state().slides)).toHaveLength(10)
    expect(dropped(alerts)).toEqual([])
    expect(correlator.takeEvictions()).toEqual([{ correlation: COUNT_ID, open: 0, idle: 10 }])

    const one = correlator.process(bytes(fail(200, '10.8.0.1')), sum.evaluate(fail(0, 'x')))
    expect(correlator.state()).toMatchObject({ pruned: 10, evicted: 1 })
    expect(dropped(one)).toHaveLength(1)
  })
})

describe('a reported eviction', () => {
  const set = ruleSetFrom(correlation('event_count', 'gte: 5'))

  it('is counted, handed to the reporter once, and raises one platform alert an hour', () => {
    const events = [...spray(0, 30), ...spray(3_600_000, 30, 1000)]
    const { alerts, correlator } = run(set, events, { maxGroups: 10 })
    expect(correlator.state().evicted).toBe(50)
    expect(correlator.takeEvictions()).toEqual([{ correlation: COUNT_ID, open: 50, idle: 0 }])
    expect(correlator.takeEvictions()).toEqual([])

    const reports = dropped(alerts)
    expect(reports.map((a) => a['@timestamp'])).toEqual([
      new Date(START + 10).toISOString(),
      new Date(START + 3_600_000).toISOString(),
    ])
    expect(reports[0]).toMatchObject({
      rule: { id: stateDroppedRule.id, kind: 'platform' },
      level: 'high',
      entity: { kind: 'correlation', value: COUNT_ID },
      // The event whose new address forced the first eviction.
      event_ids: [events[10]!.id],
    })
    // It names the correlation, never a group's values (event data).
    expect(JSON.stringify(reports)).not.toMatch(/10\.9\./)
  })

  it('raises the same alert id when the same flood is replayed', () => {
    const events = spray(0, 30)
    const first = dropped(run(set, events, { maxGroups: 10 }).alerts)
    const again = dropped(run(set, [...events].reverse(), { maxGroups: 10 }).alerts)
    expect(again.map((a) => a.id)).toEqual(first.map((a) => a.id))
  })
})

describe('a group that comes back after its eviction', () => {
  it('raises no alert on the part of its window it counted again', () => {
    // "Fewer than 5 failures" is decided when the window closes: the address had 10.
    const set = ruleSetFrom(correlation('event_count', 'lt: 5'))
    const events = [
      ...Array.from({ length: 10 }, (_, i) => fail(i, '203.0.113.7')),
      ...spray(100, 10),
      fail(200, '203.0.113.7'),
    ]
    const bounded = run(set, events, { maxGroups: 10 })
    expect(bounded.correlator.state().evicted).toBeGreaterThan(0)
    const entities = correlationAlerts(bounded.close()).map((a) => a.entity.value)
    expect(entities).not.toContain('203.0.113.7')
    // Without the limit, the address is not reported either; the addresses the limit kept
    // whole (opened before any eviction) are, as without it.
    const whole = correlationAlerts(run(set, events).close()).map((a) => a.entity.value)
    expect(whole).not.toContain('203.0.113.7')
    for (const kept of entities) expect(whole).toContain(kept)
  })

  it('still fires on a lower bound its new part reaches, which the whole reached too', () => {
    const set = ruleSetFrom(correlation('event_count', 'gte: 5'))
    const events = [
      ...Array.from({ length: 3 }, (_, i) => fail(i, '203.0.113.7')),
      ...spray(100, 10),
      ...Array.from({ length: 5 }, (_, i) => fail(200 + i, '203.0.113.7')),
    ]
    const { alerts } = run(set, events, { maxGroups: 10 })
    expect(correlationAlerts(alerts).map((a) => a.entity.value)).toEqual(['203.0.113.7'])
    expect(correlationAlerts(alerts)[0]?.id).toBe(correlationAlerts(run(set, events).alerts)[0]?.id)
  })

  it('does not feed a correlation chained on it a second time for the same events', () => {
    // A burst is 3 failures; "repeated bursts" wants two within five minutes. The burst is
    // redelivered after its address was evicted: counted again, it must not read as a second.
    const chained = `${correlation('event_count', 'gte: 3').replace(
      'title: many failures\n',
      'title: many failures\nname: burst\n',
    )}---
title: repeated bursts
id: cccccccc-0000-4000-8000-000000000006
correlation:
    type: event_count
    rules: [burst]
    group-by: [source.ip]
    timespan: 5m
    condition: {gte: 2}
`
    const set = ruleSetFrom(chained)
    const burst = (ms: number) => Array.from({ length: 3 }, (_, i) => fail(ms + i, '203.0.113.7'))
    const first = burst(0)
    const events = [...first, ...spray(100, 20), ...first]
    const bounded = run(set, events, { maxGroups: 10 })
    expect(bounded.correlator.state().evicted).toBeGreaterThan(0)
    const titles = (alerts: Alert[]) => correlationAlerts(alerts).map((a) => a.rule.title)
    expect(titles([...bounded.alerts, ...bounded.close()])).toEqual([])
    const whole = run(set, events)
    expect(titles([...whole.alerts, ...whole.close()])).toEqual([])
  })

  it('does not decide an average on the part of its window it counted again', () => {
    const set = ruleSetFrom(correlation('value_avg', 'field: network.bytes, lt: 100'))
    const sized = (e: PalisadeEvent, bytes: number) => ({ ...e, network: { bytes } })
    const events = [
      sized(fail(0, '203.0.113.7'), 10_000),
      ...spray(100, 10).map((e) => sized(e, 10_000)),
      sized(fail(200, '203.0.113.7'), 1),
    ] as PalisadeEvent[]
    const { close } = run(set, events, { maxGroups: 10 })
    expect(correlationAlerts(close())).toEqual([])
  })
})

describe('values kept per window', () => {
  it('keeps at most maxPercentileValues, the same sample in any order, near the true value', () => {
    const set = ruleSetFrom(
      correlation('value_percentile', 'field: duration, percentile: 50, gt: 0'),
    )
    const values = Array.from({ length: 5000 }, (_, i) => (i * 7919) % 5000)
    const events = values.map((v, i) => fail(i, '203.0.113.7', { duration: v }))
    const forward = run(set, events, { maxPercentileValues: 500 })
    const backward = run(set, [...events].reverse(), { maxPercentileValues: 500 })
    const [w] = Object.values(forward.correlator.state().windows)
    const [v] = Object.values(backward.correlator.state().windows)
    expect(w?.numbers).toHaveLength(500)
    expect([...w!.numbers!].sort((a, b) => a - b)).toEqual([...v!.numbers!].sort((a, b) => a - b))
    // The true median is 2499.5; 500 values sampled put it within a few per cent of ranks.
    expect(Math.abs(percentile(w!.numbers!, 50)! - 2499.5)).toBeLessThan(250)
    expect(w?.count).toBe(5000)
  })

  it('keeps one more distinct value than its condition names, and decides it the same', () => {
    const set = ruleSetFrom(correlation('value_count', 'field: user.name, lt: 10'))
    const users = (n: number) =>
      Array.from({ length: n }, (_, i) => fail(i, '203.0.113.7', { user: { name: `u${i}` } }))
    const many = run(set, users(1000))
    expect(Object.values(many.correlator.state().windows)[0]?.values).toHaveLength(11)
    expect(correlationAlerts(many.close())).toEqual([])
    expect(correlationAlerts(run(set, users(9)).close())).toHaveLength(1)
    expect(correlationAlerts(run(set, users(10)).close())).toEqual([])
  })

  it('says "more than" the values it kept when a condition without upper bound holds past them', () => {
    // `neq: 1` holds for any count but one: the window keeps one value more than the 100 event
    // ids an alert carries, and the alert reports an exact count only up to there.
    const set = ruleSetFrom(correlation('value_count', 'field: user.name, neq: 1'))
    const users = (n: number) =>
      Array.from({ length: n }, (_, i) => fail(i, '203.0.113.7', { user: { name: `u${i}` } }))
    const many = run(set, users(150))
    expect(Object.values(many.correlator.state().windows)[0]?.values).toHaveLength(101)
    const [alert] = correlationAlerts(many.close())
    expect(alert?.message).toContain('value_count more than 100 in')
    const [few] = correlationAlerts(run(set, users(100)).close())
    expect(few?.message).toContain('value_count 100 in')
  })
})

describe('a checkpointed state', () => {
  it('resumes with its keys counted against the limit', () => {
    const set = ruleSetFrom(correlation('event_count', 'gte: 5'))
    const { correlator } = run(set, spray(0, 10), { maxGroups: 10 })
    const state = JSON.parse(JSON.stringify(correlator.state()))
    const restored = createCorrelator(set, { maxGroups: 10 }, state)
    expect(restored.groups()).toBe(10)
    const e = fail(50, '10.8.0.1')
    restored.process(e, set.evaluate(e))
    expect(restored.groups()).toBe(10)
    expect(restored.state().evicted).toBe(1)
  })
})
