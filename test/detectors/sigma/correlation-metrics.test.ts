import { describe, expect, it } from 'vitest'

import { createCorrelator, percentile } from '../../../detectors/sigma/correlation-engine.ts'
import type { RuleSet } from '../../../detectors/sigma/rule-set.ts'
import type { Alert } from '../../../platform/alert-model.ts'
import type { PalisadeEvent } from '../../../platform/event-model.ts'
import { ruleSetFrom } from './helpers.ts'

/**
 * The metric correlation types of the correlation rules specification (v2.1.0, "Value Sum",
 * "Value Average", "Value Percentile"), run in the stream: five-minute windows aligned on the
 * epoch, so a window starts at 00:00:00 and the next at 00:05:00.
 */

const transfers = `title: upload
id: bbbbbbbb-0000-4000-8000-000000000001
name: upload
logsource: {product: linux, service: sshd}
detection:
    s: {event.action: upload}
    condition: s
---
title: download
id: bbbbbbbb-0000-4000-8000-000000000003
name: download
logsource: {product: linux, service: sshd}
detection:
    s: {event.action: download}
    condition: s
---
`

/** A metric correlation over uploads, per source address, in five-minute windows. */
const metric = (type: string, condition: string, extra = '') => `${transfers}title: heavy
id: bbbbbbbb-0000-4000-8000-000000000002
correlation:
    type: ${type}
    rules: [upload]
    group-by: [source.ip]
    timespan: 5m
    condition: {field: network.bytes, ${condition}}
${extra}level: high
`

const START = Date.UTC(2025, 0, 1)
const TIMESPAN = 300_000

let seq = 0
/** A transfer `ms` after midnight; `bytes` undefined leaves the field out, as `ip` does. */
function transfer(ms: number, bytes: unknown, ip?: string, action = 'upload'): PalisadeEvent {
  seq++
  return {
    id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
    '@timestamp': new Date(START + ms).toISOString(),
    event: { dataset: 'sshd', action },
    ...(ip === undefined ? {} : { source: { ip } }),
    ...(bytes === undefined ? {} : { network: { bytes } }),
    log: { syslog: { appname: 'sshd' } },
  } as PalisadeEvent
}

const A = '10.0.0.1'
const B = '10.0.0.2'

/** Feeds the events; `flush` then closes every window, as a quiet stream does later on. */
function feed(set: RuleSet, events: PalisadeEvent[], flush = false) {
  const correlator = createCorrelator(set)
  const alerts: Alert[] = []
  for (const e of events) alerts.push(...correlator.process(e, set.evaluate(e)))
  if (flush) alerts.push(...correlator.flush(START + 86_400_000))
  return { alerts, correlator }
}

describe('value_sum correlation', () => {
  const set = ruleSetFrom(metric('value_sum', 'gt: 1000'))

  it('fires as soon as the sum of the field passes the threshold', () => {
    const events = [transfer(1000, 400, A), transfer(2000, 400, A), transfer(3000, 400, A)]
    const { alerts } = feed(set, events)
    expect(alerts).toHaveLength(1)
    expect(alerts[0]).toMatchObject({
      entity: { kind: 'source.ip', value: A },
      event_ids: events.map((e) => e.id),
      level: 'high',
      message:
        'heavy (value_sum of network.bytes 1200 in 300s, ' +
        'from 2025-01-01T00:00:01.000Z to 2025-01-01T00:00:03.000Z)',
    })
    expect(feed(set, events.slice(0, 2), true).alerts).toEqual([])
  })

  it('sums an event just inside the window, not one exactly a timespan after the first', () => {
    expect(feed(set, [transfer(0, 600, A), transfer(TIMESPAN - 1, 600, A)]).alerts).toHaveLength(1)
    expect(feed(set, [transfer(0, 600, A), transfer(TIMESPAN, 600, A)], true).alerts).toEqual([])
  })

  it('sums groups apart, and events without the group-by field in a group of their own', () => {
    const split = [transfer(0, 600, A), transfer(1, 600, B), transfer(2, 600)]
    expect(feed(set, split, true).alerts).toEqual([])
    const { alerts } = feed(set, [transfer(0, 600, A), transfer(1, 600), transfer(2, 600)])
    expect(alerts.map((a) => a.entity)).toEqual([{ kind: 'source.ip', value: '' }])
  })

  it('reads numbers written as text and leaves out events without a number in the field', () => {
    const counted = [transfer(0, 600, A), transfer(1, ' 500 ', A)]
    const ignored = [transfer(2, undefined, A), transfer(3, 'lots', A), transfer(4, '0x400', A)]
    const { alerts } = feed(set, [ignored[0]!, counted[0]!, ...ignored.slice(1), counted[1]!])
    expect(alerts).toHaveLength(1)
    expect(alerts[0]?.event_ids).toEqual(counted.map((e) => e.id))
  })

  it('decides a range when the window closes', () => {
    const range = ruleSetFrom(metric('value_sum', 'gt: 100, lte: 1000'))
    const inside = feed(range, [transfer(0, 600, A), transfer(1, 400, A)])
    expect(inside.alerts).toEqual([])
    expect(inside.correlator.flush(START + 86_400_000)).toHaveLength(1)
    expect(feed(range, [transfer(0, 600, A), transfer(1, 401, A)], true).alerts).toEqual([])
  })

  it('counts a redelivered event once', () => {
    const e = transfer(0, 600, A)
    expect(feed(set, [e, e]).alerts).toEqual([])
  })
})

describe('value_avg correlation', () => {
  const set = ruleSetFrom(metric('value_avg', 'gt: 500'))

  it('decides the average of the events that carry the field when the window closes', () => {
    const events = [transfer(0, 200, A), transfer(1, 900, A), transfer(2, undefined, A)]
    const { alerts, correlator } = feed(set, events)
    expect(alerts).toEqual([])
    const closed = correlator.flush(START + 86_400_000)
    expect(closed).toHaveLength(1)
    expect(closed[0]).toMatchObject({
      '@timestamp': new Date(START + TIMESPAN).toISOString(),
      message:
        'heavy (value_avg of network.bytes 550 in 300s, ' +
        'from 2025-01-01T00:00:00.000Z to 2025-01-01T00:05:00.000Z)',
      event_ids: events.slice(0, 2).map((e) => e.id),
    })
    expect(feed(set, [...events, transfer(3, 100, A)], true).alerts).toEqual([])
  })

  it('averages an event just inside the window, not one exactly a timespan after the first', () => {
    // Together they average 500, which is not above 500; apart, the first window's is 1000.
    expect(feed(set, [transfer(0, 1000, A), transfer(TIMESPAN - 1, 0, A)], true).alerts).toEqual([])
    const apart = feed(set, [transfer(0, 1000, A), transfer(TIMESPAN, 0, A)], true).alerts
    expect(apart.map((a) => a['@timestamp'])).toEqual([new Date(START + TIMESPAN).toISOString()])
  })

  it('alerts once the group has moved past the window and its allowed lateness', () => {
    const first = [transfer(0, 900, A), transfer(1, 700, A)]
    expect(feed(set, first).alerts).toEqual([])
    // Another group's events do not close A's window; A's own later event does.
    expect(feed(set, [...first, transfer(TIMESPAN + 60_000, 1, B)]).alerts).toEqual([])
    const later = feed(set, [...first, transfer(TIMESPAN + 60_000, 1, A)]).alerts
    expect(later).toHaveLength(1)
    expect(later[0]?.entity).toEqual({ kind: 'source.ip', value: A })
  })

  it('averages groups apart, and events without the group-by field in a group of their own', () => {
    const events = [transfer(0, 900, A), transfer(1, 100), transfer(2, 100, B)]
    const { alerts } = feed(set, events, true)
    expect(alerts.map((a) => a.entity.value)).toEqual([A])
  })
})

describe('value_percentile correlation', () => {
  const tens = (ip: string) =>
    [10, 20, 30, 40, 50, 60, 70, 80, 90, 100].map((b, i) => transfer(i, b, ip))

  it('compares the given percentile, interpolated between ranks, when the window closes', () => {
    // The 90th percentile of 10, 20, ..., 100 is 91: rank 0.9 * 9 = 8.1, between 90 and 100.
    const above90 = ruleSetFrom(metric('value_percentile', 'percentile: 90, gt: 90'))
    const { alerts, correlator } = feed(above90, tens(A))
    expect(alerts).toEqual([])
    const closed = correlator.flush(START + 86_400_000)
    expect(closed.map((a) => a.message)).toEqual([
      'heavy (value_percentile p90 of network.bytes 91 in 300s, ' +
        'from 2025-01-01T00:00:00.000Z to 2025-01-01T00:05:00.000Z)',
    ])
    const above91 = ruleSetFrom(metric('value_percentile', 'percentile: 90, gt: 91'))
    expect(feed(above91, tens(A), true).alerts).toEqual([])
  })

  it('takes the median when the condition names no percentile', () => {
    const median = ruleSetFrom(metric('value_percentile', 'eq: 2.5'))
    const events = [4, 1, 3, 2].map((b, i) => transfer(i, b, A))
    expect(feed(median, events, true).alerts).toHaveLength(1)
  })

  it('takes an event just inside the window, not one exactly a timespan after the first', () => {
    const low = ruleSetFrom(metric('value_percentile', 'percentile: 0, lt: 10'))
    const inside = [transfer(0, 50, A), transfer(TIMESPAN - 1, 5, A)]
    expect(feed(low, inside, true).alerts).toHaveLength(1)
    const apart = [transfer(0, 50, A), transfer(TIMESPAN, 50, A), transfer(TIMESPAN + 1, 5, B)]
    expect(feed(low, apart, true).alerts.map((a) => a.entity.value)).toEqual([B])
  })

  it('keeps the values of an open window through a JSON round trip of the state', () => {
    const set = ruleSetFrom(metric('value_percentile', 'percentile: 50, gte: 30'))
    const { correlator } = feed(set, [transfer(0, 10, A), transfer(1, 50, A)])
    const restored = createCorrelator(set, {}, JSON.parse(JSON.stringify(correlator.state())))
    const e = transfer(2, 30, A)
    expect(restored.process(e, set.evaluate(e))).toEqual([])
    expect(restored.flush(START + 86_400_000)).toHaveLength(1)
  })
})

describe('the percentile of a list of numbers', () => {
  it('is undefined for none, the value for one, the minimum at 0 and the maximum at 100', () => {
    expect(percentile([], 50)).toBeUndefined()
    expect(percentile([7], 95)).toBe(7)
    expect(percentile([3, 1, 2], 0)).toBe(1)
    expect(percentile([3, 1, 2], 100)).toBe(3)
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5)
    expect(percentile([15, 20, 35, 40, 50], 40)).toBe(29)
  })
})

describe('metric correlations with aliases, generate and chains', () => {
  it('groups by an alias that names a different field in each rule', () => {
    const set = ruleSetFrom(
      metric('value_sum', 'gt: 1000')
        .replace('rules: [upload]', 'rules: [upload, download]')
        .replace('group-by: [source.ip]', 'group-by: [peer]')
        .replace(
          '    timespan: 5m',
          '    aliases:\n        peer: {upload: source.ip, download: destination.ip}\n' +
            '    timespan: 5m',
        ),
    )
    const download = { ...transfer(1, 600, undefined, 'download'), destination: { ip: A } }
    const { alerts } = feed(set, [transfer(0, 600, A), download])
    expect(alerts.map((a) => a.entity)).toEqual([{ kind: 'peer', value: A }])
  })

  it('keeps the referenced rule quiet unless generate is true', () => {
    const e = transfer(0, 600, A)
    const quiet = ruleSetFrom(metric('value_sum', 'gt: 1000'))
    expect(quiet.alertsFor(e, quiet.evaluate(e))).toEqual([])
    const loud = ruleSetFrom(metric('value_sum', 'gt: 1000', '    generate: true\n'))
    expect(loud.alertsFor(e, loud.evaluate(e)).map((a) => a.rule.title)).toEqual(['upload'])
  })

  it('feeds a correlation over it, which alone alerts when the inner one stays quiet', () => {
    const set = ruleSetFrom(
      `${metric('value_sum', 'gt: 1000').replace('level: high\n', 'name: heavy\n')}---
title: heavy twice
id: bbbbbbbb-0000-4000-8000-000000000004
correlation:
    type: event_count
    rules: [heavy]
    group-by: [source.ip]
    timespan: 1h
    condition: {gte: 2}
level: critical
`,
    )
    const burst = (from: number) => [transfer(from, 600, A), transfer(from + 1, 600, A)]
    expect(feed(set, burst(0)).alerts).toEqual([])
    const { alerts } = feed(set, [...burst(0), ...burst(TIMESPAN)])
    expect(alerts.map((a) => [a.rule.title, a.level, a.entity.value])).toEqual([
      ['heavy twice', 'critical', A],
    ])
  })
})

describe('correlations over a correlation decided when its window closes', () => {
  const chained = (outer: string) =>
    ruleSetFrom(`${metric('value_avg', 'gt: 500').replace('level: high\n', 'name: heavy\n')}---
title: heavy again
id: bbbbbbbb-0000-4000-8000-000000000005
correlation:
${outer}level: critical
`)

  it('counts the windows whose average held, once the group has moved past them', () => {
    const set = chained(
      '    type: event_count\n    rules: [heavy]\n    group-by: [source.ip]\n' +
        '    timespan: 1h\n    condition: {gte: 2}\n',
    )
    const heavy = [transfer(0, 900, A), transfer(TIMESPAN, 900, A), transfer(TIMESPAN + 1, 700, B)]
    // A's upload after the second window and its minute of allowed lateness closes both.
    expect(feed(set, heavy).alerts).toEqual([])
    const { alerts } = feed(set, [...heavy, transfer(2 * TIMESPAN + 60_000, 1, A)])
    expect(alerts.map((a) => [a.rule.title, a.entity.value, a.event_ids.length])).toEqual([
      ['heavy again', A, 2],
    ])
  })

  it('gives the outer correlation the same event ids when the stream is replayed', () => {
    const set = chained(
      '    type: event_count\n    rules: [heavy]\n    group-by: [source.ip]\n' +
        '    timespan: 1h\n    condition: {gte: 2}\n',
    )
    const heavy = [transfer(0, 900, A), transfer(TIMESPAN, 900, A)]
    const first = feed(set, heavy, true).alerts
    const again = feed(set, heavy, true).alerts
    expect(first).toHaveLength(1)
    expect(again.map((a) => [a.id, a.event_ids])).toEqual(first.map((a) => [a.id, a.event_ids]))
  })

  it('lets a temporal correlation pair a closed window with another rule on the same group', () => {
    const set = chained(
      '    type: temporal\n    rules: [heavy, download]\n    group-by: [source.ip]\n' +
        '    timespan: 10m\n',
    )
    const download = transfer(60_000, undefined, A, 'download')
    const { alerts } = feed(set, [transfer(0, 900, A), download], true)
    expect(alerts.map((a) => [a.rule.title, a.entity.value])).toEqual([['heavy again', A]])
    const elsewhere = transfer(60_000, undefined, B, 'download')
    expect(feed(set, [transfer(0, 900, A), elsewhere], true).alerts).toEqual([])
  })
})
