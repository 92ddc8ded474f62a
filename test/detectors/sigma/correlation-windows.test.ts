import { describe, expect, it } from 'vitest'

import { createCorrelator } from '../../../detectors/sigma/correlation-engine.ts'
import type { CorrelatorOptions } from '../../../detectors/sigma/correlation-engine.ts'
import type { RuleSet } from '../../../detectors/sigma/rule-set.ts'
import type { Alert } from '../../../platform/alert-model.ts'
import type { PalisadeEvent } from '../../../platform/event-model.ts'
import { ruleSetFrom } from './helpers.ts'

/**
 * The windows of SLIDING.md at their edges, for each correlation type: lower-bounded counts,
 * distinct counts and sums slide (section A), everything decided at a window's end is anchored
 * at the group's first event (section B), and temporal kinds want less than a timespan
 * (section C). The timespan is five minutes; START is on a five-minute boundary of the clock.
 */

const detections = `title: failure
id: eeeeeeee-0000-4000-8000-000000000001
name: fail
logsource: {product: linux, service: sshd}
detection:
    s: {event.outcome: failure}
    condition: s
---
title: success
id: eeeeeeee-0000-4000-8000-000000000002
name: ok
logsource: {product: linux, service: sshd}
detection:
    s: {event.outcome: success}
    condition: s
---
`
const ID = 'eeeeeeee-0000-4000-8000-000000000010'
/** A correlation over failures per source address in five minutes. */
const correlation = (type: string, condition: string, rules = '[fail]') => `${detections}title: t
id: ${ID}
correlation:
    type: ${type}
    rules: ${rules}
    group-by: [source.ip]
    timespan: 5m
${condition ? `    condition: {${condition}}\n` : ''}level: high
`

const START = Date.UTC(2025, 0, 1)
const T = 300_000
const A = '10.0.0.1'

let seq = 0
/** An event `ms` after START; `ip: undefined` leaves source.ip out, as `user` and `bytes` do. */
function ev(
  ms: number,
  fields: { ip?: string | undefined; user?: string; bytes?: number; outcome?: string } = {},
): PalisadeEvent {
  seq++
  const { user, bytes, outcome = 'failure' } = fields
  const ip = 'ip' in fields ? fields.ip : A
  return {
    id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
    '@timestamp': new Date(START + ms).toISOString(),
    event: { dataset: 'sshd', outcome },
    ...(ip === undefined ? {} : { source: { ip } }),
    ...(user === undefined ? {} : { user: { name: user } }),
    ...(bytes === undefined ? {} : { network: { bytes } }),
    log: { syslog: { appname: 'sshd' } },
  } as PalisadeEvent
}
const at = (ms: number) => new Date(START + ms).toISOString()

function run(set: RuleSet, events: PalisadeEvent[], options: CorrelatorOptions = {}) {
  const correlator = createCorrelator(set, options)
  const more = (batch: PalisadeEvent[]) =>
    batch.flatMap((e) => correlator.process(e, set.evaluate(e)))
  const alerts = more(events)
  return { alerts, correlator, more, close: () => correlator.flush(START + 86_400_000) }
}
const ids = (events: PalisadeEvent[]) => events.map((e) => e.id)

describe('a sliding event_count (gte)', () => {
  const set = ruleSetFrom(correlation('event_count', 'gte: 2'))

  it('does not count two events exactly a timespan apart together, and does 1 ms closer', () => {
    expect(run(set, [ev(0), ev(T)]).alerts).toEqual([])
    const inside = [ev(0), ev(T - 1)]
    const { alerts } = run(set, inside)
    expect(alerts.map((a) => [a['@timestamp'], a.event_ids])).toEqual([[at(T - 1), ids(inside)]])
  })

  it('raises one alert for a burst that straddles a boundary of the clock', () => {
    const five = ruleSetFrom(correlation('event_count', 'gte: 5'))
    const burst = [-2000, -1000, 0, 1000, 2000].map((d) => ev(T + d))
    const { alerts } = run(five, burst)
    expect(alerts.map((a) => [a['@timestamp'], a.event_ids])).toEqual([[at(T + 2000), ids(burst)]])
    // The alert names its window: the set's first event to the one that completed it.
    expect(alerts[0]?.message).toBe(
      `t (event_count 5 in 300s, from ${at(T - 2000)} to ${at(T + 2000)})`,
    )
  })

  it('raises five alerts for a burst of fifty against gte 10, ten events each', () => {
    const ten = ruleSetFrom(correlation('event_count', 'gte: 10'))
    const burst = Array.from({ length: 50 }, (_, i) => ev(1000 * (i + 1)))
    const { alerts } = run(ten, burst)
    const chunks = [0, 10, 20, 30, 40].map((i) => ids(burst.slice(i, i + 10)))
    expect(alerts.map((a) => a.event_ids)).toEqual(chunks)
    expect(new Set(alerts.map((a) => a.id)).size).toBe(5)
    // The same fifty arriving newest first, all within the allowance: the same five alerts.
    const reversed = run(ten, [...burst].reverse()).alerts
    expect(reversed.map((a) => a.id).sort()).toEqual(alerts.map((a) => a.id).sort())
  })

  it('counts an event out of order within the allowance as if it had come in order', () => {
    const three = ruleSetFrom(correlation('event_count', 'gte: 3'))
    const [a, b, c] = [ev(0), ev(1000), ev(2000)]
    const inOrder = run(three, [a!, b!, c!]).alerts
    const late = run(three, [a!, c!, b!]).alerts
    expect(late.map((x) => [x.id, x.event_ids])).toEqual(inOrder.map((x) => [x.id, x.event_ids]))
    expect(late[0]?.event_ids).toEqual(ids([a!, b!, c!]))
  })

  it('lets a late event complete a set with events older than the last threshold of them', () => {
    // gte 4: five events kept, none four within five minutes; one 50 s late completes the
    // first four with the two oldest (so keeping only the last four would have missed it).
    const four = ruleSetFrom(correlation('event_count', 'gte: 4'))
    const kept = [0, 10_000, 290_000, 320_000, 330_000].map((ms) => ev(ms))
    const late = ev(280_000)
    const { alerts, correlator } = run(four, [...kept, late])
    expect(alerts.map((a) => [a['@timestamp'], a.event_ids])).toEqual([
      [at(290_000), ids([kept[0]!, kept[1]!, late, kept[2]!])],
    ])
    expect(correlator.state().late).toBe(0)
  })

  it('counts an event beyond the allowance as dropped-late, in all and per correlation', () => {
    // 170 s older than the one before it: beyond the default 60 s.
    const events = [ev(200_000), ev(30_000)]
    const { alerts, correlator } = run(set, events)
    expect(alerts).toEqual([])
    expect(correlator.state()).toMatchObject({ late: 1, lateBy: { [ID]: 1 } })
    // With a larger allowance the same event counts, with the first.
    const allowed = run(set, events, { allowedLatenessMs: 200_000 })
    expect(allowed.alerts.map((a) => a.event_ids)).toEqual([ids([events[1]!, events[0]!])])
    expect(allowed.correlator.state().late).toBe(0)
  })

  it('counts events without the group-by field in a group of their own', () => {
    const { alerts } = run(set, [ev(0), ev(1, { ip: undefined }), ev(2, { ip: undefined })])
    expect(alerts.map((a) => a.entity)).toEqual([{ kind: 'source.ip', value: '' }])
  })

  it('raises no second alert when the same events are redelivered, in any order', () => {
    const burst = Array.from({ length: 4 }, (_, i) => ev(i * 1000))
    const { alerts, more } = run(set, burst)
    expect(alerts).toHaveLength(2)
    expect(more(burst)).toEqual([])
    expect(more([...burst].reverse())).toEqual([])
  })

  it('gives an alert an id from the correlation, the group and the event that completed it', () => {
    const burst = [ev(0), ev(1000)]
    const [first] = run(set, burst).alerts
    expect(run(set, [...burst].reverse()).alerts[0]?.id).toBe(first?.id)
    const other = [ev(0, { ip: '10.0.0.2' }), ev(1000, { ip: '10.0.0.2' })]
    expect(run(set, other).alerts[0]?.id).not.toBe(first?.id)
  })
})

describe('a sliding value_count (gte)', () => {
  const set = ruleSetFrom(correlation('value_count', 'field: user.name, gte: 2'))

  it('does not count two values exactly a timespan apart together, and does 1 ms closer', () => {
    expect(run(set, [ev(0, { user: 'a' }), ev(T, { user: 'b' })]).alerts).toEqual([])
    expect(run(set, [ev(0, { user: 'a' }), ev(T - 1, { user: 'b' })]).alerts).toHaveLength(1)
  })

  it('raises one alert for distinct users across a boundary of the clock', () => {
    const five = ruleSetFrom(correlation('value_count', 'field: user.name, gte: 5'))
    const spray = ['a', 'b', 'c', 'd', 'e'].map((user, i) => ev(T - 2000 + i * 1000, { user }))
    expect(run(five, spray).alerts).toHaveLength(1)
  })

  it('keeps one event per value, and counts a value repeated once', () => {
    const repeated = Array.from({ length: 100 }, (_, i) => ev(i, { user: 'root' }))
    const { alerts, correlator, more } = run(set, repeated)
    expect(alerts).toEqual([])
    expect(Object.values(correlator.state().slides)[0]?.events).toHaveLength(1)
    const [alert] = more([ev(200, { user: 'admin' })])
    expect(alert?.event_ids).toHaveLength(2)
  })

  it('leaves out events without the field, and groups those without the group-by field', () => {
    expect(run(set, [ev(0, { user: 'a' }), ev(1)]).alerts).toEqual([])
    const homeless = [ev(0, { user: 'a', ip: undefined }), ev(1, { user: 'b', ip: undefined })]
    expect(run(set, homeless).alerts.map((a) => a.entity.value)).toEqual([''])
  })

  it('counts a late value within the allowance, and none twice when redelivered', () => {
    const three = ruleSetFrom(correlation('value_count', 'field: user.name, gte: 3'))
    const users = [ev(0, { user: 'a' }), ev(20_000, { user: 'c' }), ev(10_000, { user: 'b' })]
    const { alerts, more } = run(three, users)
    expect(alerts.map((a) => a['@timestamp'])).toEqual([at(20_000)])
    expect(more(users)).toEqual([])
  })
})

describe('a sliding value_sum (gt)', () => {
  const set = ruleSetFrom(correlation('value_sum', 'field: network.bytes, gt: 1000'))

  it('raises an alert per set, each event counted in one', () => {
    const six = Array.from({ length: 6 }, (_, i) => ev(i * 1000, { bytes: 600 }))
    const { alerts } = run(set, six)
    expect(alerts.map((a) => a.event_ids)).toEqual([0, 2, 4].map((i) => ids(six.slice(i, i + 2))))
  })

  it('keeps at most maxEventIds events and marks an alert it dropped some for partial', () => {
    const chained = ruleSetFrom(
      `${correlation('value_sum', 'field: network.bytes, gt: 700').replace(
        'title: t\n',
        'title: t\nname: heavy\n',
      )}---
title: heavy at all
id: eeeeeeee-0000-4000-8000-000000000011
correlation:
    type: event_count
    rules: [heavy]
    group-by: [source.ip]
    timespan: 1h
    condition: {gte: 1}
`,
    )
    const sums = ruleSetFrom(correlation('value_sum', 'field: network.bytes, gt: 700'))
    const events = [100, 100, 100, 100, 500].map((bytes, i) => ev(i, { bytes }))
    // Four kept: the first 100 is dropped, the 800 that remains is a sum of part of the group.
    const capped = run(sums, events, { maxEventIds: 4 }).alerts
    expect(capped.map((a) => a.message)).toEqual([
      't (value_sum of network.bytes 800 in 300s, from 2025-01-01T00:00:00.001Z to ' +
        '2025-01-01T00:00:00.004Z); counted on part of the group, some of its ' +
        'events were dropped at a limit',
    ])
    // A partial alert feeds no correlation over it; a whole one does.
    const titles = (alerts: Alert[]) => alerts.map((a) => a.rule.title)
    expect(titles(run(chained, events, { maxEventIds: 4 }).alerts)).toEqual([])
    expect(titles(run(chained, events).alerts)).toEqual(['heavy at all'])
  })
})

describe('an anchored window (a condition decided at its end)', () => {
  const set = ruleSetFrom(correlation('event_count', 'eq: 2'))

  it("opens at the group's first event, not at a boundary of the clock", () => {
    const pair = [ev(200_000), ev(400_000)]
    const { alerts, close } = run(set, pair)
    expect(alerts).toEqual([])
    const closed = close()
    expect(closed.map((a) => [a['@timestamp'], a.event_ids])).toEqual([[at(500_000), ids(pair)]])
  })

  it('does not hold two events exactly a timespan apart, and does 1 ms closer', () => {
    expect(run(set, [ev(0), ev(T)]).close()).toEqual([])
    expect(run(set, [ev(0), ev(T - 1)]).close()).toHaveLength(1)
  })

  it('opens the next window at the next event at or after its end', () => {
    const events = [ev(0), ev(100_000), ev(T), ev(T + 50_000)]
    const closed = run(set, events).close()
    expect(closed.map((a) => a['@timestamp'])).toEqual([at(T), at(2 * T)])
  })

  it('opens at a late event within the allowance that comes before its events', () => {
    const three = ruleSetFrom(correlation('event_count', 'eq: 3'))
    const { close } = run(three, [ev(10_000), ev(20_000), ev(5_000)])
    expect(close().map((a) => a['@timestamp'])).toEqual([at(5_000 + T)])
  })

  it('counts a late event while its window is open, and as dropped-late once it closed', () => {
    const open = run(set, [ev(0), ev(350_000), ev(10_000)])
    expect(open.alerts.map((a) => a['@timestamp'])).toEqual([])
    expect(open.close().map((a) => a['@timestamp'])).toEqual([at(T)])
    const closed = run(set, [ev(0), ev(400_000), ev(100_000)])
    expect(closed.correlator.state()).toMatchObject({ late: 1, lateBy: { [ID]: 1 } })
    expect(closed.close()).toEqual([])
  })

  it('counts a redelivered event once, and groups events without the group-by field', () => {
    const pair = [ev(0), ev(1000)]
    const { more, close } = run(set, pair)
    more(pair)
    expect(close()).toHaveLength(1)
    const homeless = run(set, [ev(0, { ip: undefined }), ev(1, { ip: undefined }), ev(2)])
    expect(homeless.close().map((a) => a.entity.value)).toEqual([''])
  })

  it('counts an event two of its rules match once, past the event ids it keeps', () => {
    // Found by the SQL equivalence harness: with two ids kept, the third event matched by
    // both rules was counted twice, and `lt: 5` failed on four events.
    const also = `title: any sshd event
id: eeeeeeee-0000-4000-8000-000000000003
name: any
logsource: {product: linux, service: sshd}
detection:
    s: {event.dataset: sshd}
    condition: s
---
`
    const both = ruleSetFrom(also + correlation('event_count', 'gte: 4, lt: 5', '[fail, any]'))
    const four = [ev(0), ev(1000), ev(2000), ev(3000)]
    const closed = run(both, four, { maxEventIds: 2 }).close()
    expect(closed.map((a) => a.event_ids)).toEqual([ids(four.slice(0, 2))])
  })
})

describe('temporal correlations at the edge of the timespan', () => {
  for (const type of ['temporal', 'temporal_ordered']) {
    it(`${type}: does not pair events exactly a timespan apart, and does 1 ms closer`, () => {
      const set = ruleSetFrom(correlation(type, '', '[fail, ok]'))
      const pair = (gap: number) => [ev(0), ev(gap, { outcome: 'success' })]
      expect(run(set, pair(T)).alerts).toEqual([])
      expect(run(set, pair(T - 1)).alerts).toHaveLength(1)
    })
  }
})

describe('a correlation over a sliding correlation', () => {
  const set = ruleSetFrom(`${correlation('event_count', 'gte: 3').replace(
    'title: t\n',
    'title: t\nname: burst\n',
  )}---
title: repeated bursts
id: eeeeeeee-0000-4000-8000-000000000012
correlation:
    type: event_count
    rules: [burst]
    group-by: [source.ip]
    timespan: 1h
    condition: {gte: 2}
level: critical
`)
  const six = () => Array.from({ length: 6 }, (_, i) => ev(i * 1000))

  it('counts each alert of the inner one once, in any order and when redelivered', () => {
    const events = six()
    const { alerts, more } = run(set, events)
    expect(alerts.map((a) => [a.rule.title, a.level, a.event_ids.length])).toEqual([
      ['repeated bursts', 'critical', 2],
    ])
    expect(more(events)).toEqual([])
    expect(run(set, [...events].reverse()).alerts.map((a) => a.id)).toEqual(alerts.map((a) => a.id))
  })

  it('stays quiet for one burst', () => {
    expect(run(set, six().slice(0, 5)).alerts).toEqual([])
  })
})
