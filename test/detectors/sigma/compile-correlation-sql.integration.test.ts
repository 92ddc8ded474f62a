import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import {
  compileCorrelationSql,
  type CorrelationSqlRow,
} from '../../../detectors/sigma/compile-correlation-sql.ts'
import { parseRuleText } from '../../../detectors/sigma/load-rules.ts'
import { compileRuleSet } from '../../../detectors/sigma/rule-set.ts'
import type {
  CorrelationRule,
  DetectionRule,
  FilterRule,
} from '../../../detectors/sigma/sigma-rule.ts'
import { openAnalyticsStore } from '../../../platform/clickhouse/analytics-store.ts'
import type { AnalyticsStore } from '../../../platform/clickhouse/analytics-store.ts'
import { insertEvents } from '../../../platform/clickhouse/event-repository.ts'
import type { PalisadeEvent } from '../../../platform/event-model.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'
import { base, detections, eventMaker } from './correlation-sql-fixtures.ts'

/**
 * Correlations over stored events (issue 6) against a reference written here from SLIDING.md
 * alone: a plain walk along each group's events in (time, id) order. The events are made to
 * sit on the windows' edges: exactly T and T - 1 ms apart, ties in time broken by id, bursts,
 * absent group-by and value fields, events two rules match, and a filter on one rule.
 */

function correlation(n: number, body: string): string {
  return `title: correlation ${n}
id: 20000000-0000-4000-a000-${String(n).padStart(12, '0')}
correlation:
${body
  .trim()
  .split('\n')
  .map((l) => `    ${l}`)
  .join('\n')}
`
}

/** Each correlation's number, and what it shows. */
const correlations: Record<number, string> = {
  1: correlation(
    1,
    `type: event_count
rules: [failed_password]
group-by: [source.ip]
timespan: 10s
condition: {gte: 10}`,
  ),
  2: correlation(
    2,
    `type: event_count
rules: [failed_password]
group-by: [source.ip]
timespan: 1s
condition: {gt: 1}`,
  ),
  3: correlation(
    3,
    `type: event_count
rules: [failed_password]
group-by: [source.ip]
timespan: 1s
condition: {gte: 2}`,
  ),
  4: correlation(
    4,
    `type: value_count
rules: [failed_password, invalid_user]
group-by: [source.ip]
timespan: 1m
condition: {gte: 3, field: user.name}`,
  ),
  5: correlation(
    5,
    `type: value_count
rules: [failed_password]
group-by: [source.ip]
timespan: 1m
condition: {gt: 2, field: 'user.name,host.name'}`,
  ),
  6: correlation(
    6,
    `type: event_count
rules: [failed_password]
group-by: [source.ip]
timespan: 10s
condition: {lt: 3}`,
  ),
  7: correlation(
    7,
    `type: event_count
rules: [failed_password, invalid_user]
group-by: [source.ip, user.name]
timespan: 30s
condition: {gt: 2, lte: 5}`,
  ),
  8: correlation(
    8,
    `type: value_count
rules: [failed_password]
group-by: [source.ip]
timespan: 1m
condition: {eq: 2, field: user.name}`,
  ),
  9: correlation(
    9,
    `type: event_count
rules: [failed_password, invalid_user]
group-by: [address]
aliases:
    address: {failed_password: source.ip, invalid_user: client.ip}
timespan: 5s
condition: {gte: 4}`,
  ),
  10: correlation(
    10,
    `type: event_count
rules: [invalid_user]
group-by: []
timespan: 1h
condition: {neq: 1}`,
  ),
}

const { documents, rejections } = parseRuleText(
  [detections, ...Object.values(correlations)].join('---\n'),
  'correlations.yml',
)
const rules = documents.filter((d): d is DetectionRule => d.kind === 'detection')
const byNumber = (n: number): CorrelationRule =>
  documents.find(
    (d): d is CorrelationRule =>
      d.kind === 'correlation' && d.id.endsWith(String(n).padStart(12, '0')),
  )!
const set = compileRuleSet(documents)

const event = eventMaker()

function failed(ip: string | undefined, user?: string, host?: string): Record<string, unknown> {
  return {
    message: 'Failed password',
    ...(ip === undefined ? {} : { source: { ip } }),
    ...(user === undefined ? {} : { user: { name: user } }),
    ...(host === undefined ? {} : { host: { name: host } }),
  }
}

function generated(random: () => number): PalisadeEvent[] {
  const out: PalisadeEvent[] = []
  const at = (t: number, fields: Record<string, unknown>): void => {
    out.push(event(random, t, fields))
  }
  // A burst of 50, 100 ms apart: gte 10 in 10 s gives 5 alerts (correlation 1).
  for (let i = 0; i < 50; i++) at(base + i * 100, failed('10.0.0.1', `u${i % 7}`))
  // Pairs exactly T apart and T - 1 ms apart, for T = 1 s (correlations 2 and 3).
  for (let i = 0; i < 6; i++) {
    at(base + 20_000 + i * 1000, failed('10.0.0.2'))
    at(base + 40_000 + i * 999, failed('10.0.0.3'))
  }
  // Ties in time, broken by id: which event triggers depends on the ids' order.
  for (let i = 0; i < 25; i++) at(base + 60_000 + Math.floor(i / 5) * 400, failed('10.0.0.4'))
  // No source address at all: grouped under an empty value, as the stream does.
  for (let i = 0; i < 14; i++) at(base + 70_000 + i * 300, failed(undefined, `v${i % 4}`))
  // One event two rules match, and the alias reading client.ip for invalid_user.
  for (let i = 0; i < 12; i++) {
    const t = base + 80_000 + i * 700
    at(t, { message: 'Failed password for Invalid user x', source: { ip: '10.0.0.5' } })
    at(t + 1, { message: 'Invalid user y', client: { ip: '10.0.0.5' }, user: { name: 'y' } })
  }
  // Windows of two users (one event without a user, not counted) and of three (correlation 8).
  for (let i = 0; i < 6; i++) {
    at(base + 90_000 + i * 1000, failed('10.0.0.6', i === 5 ? undefined : `w${i % 2}`))
    at(base + 150_000 + i * 1000, failed('10.0.0.6', `w${i % 3}`))
  }
  // Random activity over ten minutes: few addresses, users and hosts, some absent.
  const ips = ['10.0.1.1', '10.0.1.2', '10.0.1.3', undefined]
  const users = ['root', 'admin', 'bob', 'alice', undefined]
  const hosts = ['h1', 'h2', undefined]
  for (let i = 0; i < 600; i++) {
    const t = base + 100_000 + Math.floor(random() * 600_000)
    const pick = <T>(pool: readonly T[]): T => pool[Math.floor(random() * pool.length)]!
    if (random() < 0.25) {
      const ip = pick(ips)
      at(t, {
        message: 'Invalid user',
        ...(ip ? { client: { ip }, source: { ip } } : {}),
        ...(random() < 0.8 ? { user: { name: pick(users) } } : {}),
      })
    } else at(t, failed(pick(ips), pick(users), pick(hosts)))
  }
  // Not matched by any rule.
  for (let i = 0; i < 20; i++)
    at(base + i * 50, { message: 'Accepted', source: { ip: '10.0.0.1' } })
  return out
}

interface Alert {
  group: string[]
  ids: string[]
  value: number
  start: number
  end: number
  trigger: string | null
  tOpen: number | null
}

/** The stream's `text`: how a field's value is grouped and counted. */
function text(v: unknown): string {
  if (v === undefined || v === null) return ''
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  return JSON.stringify(v)
}

/** SLIDING.md, walked by hand. */
function reference(c: CorrelationRule, events: readonly PalisadeEvent[], cap = 100): Alert[] {
  const ruleIds = c.rules.map((r) => rules.find((d) => d.id === r || d.name === r)!.id)
  const sliding = [c.condition.lt, c.condition.lte, c.condition.eq, c.condition.neq].every(
    (b) => b === undefined,
  )
  const groups = new Map<string, { group: string[]; t: number; id: string; v: string }[]>()
  for (const e of events) {
    const matched = new Set(set.evaluate(e).map((r) => r.id))
    const seen = new Set<string>()
    for (const ruleId of ruleIds.filter((id) => matched.has(id))) {
      const rule = set.ruleById(ruleId)!
      if (rule.kind !== 'detection') throw new Error('not a detection rule')
      const name = rules.find((d) => d.id === ruleId)!.name
      const read = (f: string): string => text(rule.field(f)(e))
      const group = c.groupBy.map((f) => read((name && c.aliases[f]?.[name]) || f))
      const key = JSON.stringify(group)
      if (seen.has(key)) continue
      seen.add(key)
      const parts = (c.field ?? '').split(',').map(read)
      const v = c.type !== 'value_count' || parts.includes('') ? '' : parts.join('\u0001')
      // A sliding value_count's group is its events that have a value.
      if (c.type === 'value_count' && sliding && v === '') continue
      const list = groups.get(key) ?? []
      list.push({ group, t: Date.parse(e['@timestamp']), id: e.id, v })
      groups.set(key, list)
    }
  }
  const T = c.timespanMs
  type Member = { group: string[]; t: number; id: string; v: string }
  // A sliding value_count's set stands for each value by its latest event.
  const standing = (xs: Member[]): Member[] =>
    c.type === 'value_count' ? xs.filter((x, i) => !xs.slice(i + 1).some((y) => y.v === x.v)) : xs
  const measure = (xs: { v: string }[]): number =>
    c.type === 'event_count' ? xs.length : new Set(xs.map((x) => x.v).filter((v) => v)).size
  const holds = (n: number): boolean => {
    const k = c.condition
    return (
      (k.gt === undefined || n > k.gt) &&
      (k.gte === undefined || n >= k.gte) &&
      (k.lt === undefined || n < k.lt) &&
      (k.lte === undefined || n <= k.lte) &&
      (k.eq === undefined || n === k.eq) &&
      (k.neq === undefined || n !== k.neq)
    )
  }
  const alerts: Alert[] = []
  for (const list of groups.values()) {
    list.sort((a, b) => a.t - b.t || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    if (sliding) {
      let after = -1
      for (let k = 0; k < list.length; k++) {
        const tk = list[k]!.t
        const candidates = list.filter((x, j) => j > after && j <= k && tk - T < x.t)
        if (!holds(measure(candidates))) continue
        const members = standing(candidates)
        alerts.push({
          group: list[k]!.group,
          ids: members.map((x) => x.id).slice(0, cap),
          value: measure(candidates),
          start: members[0]!.t,
          end: tk,
          trigger: list[k]!.id,
          tOpen: null,
        })
        after = k
      }
    } else {
      let i = 0
      while (i < list.length) {
        const tOpen = list[i]!.t
        let j = i
        while (j < list.length && list[j]!.t < tOpen + T) j++
        const inside = list.slice(i, j)
        if (holds(measure(inside))) {
          alerts.push({
            group: list[i]!.group,
            ids: inside.map((x) => x.id).slice(0, cap),
            value: measure(inside),
            start: tOpen,
            end: tOpen + T,
            trigger: null,
            tOpen,
          })
        }
        i = j
      }
    }
  }
  return sorted(alerts)
}

function sorted(alerts: Alert[]): Alert[] {
  const key = (a: Alert): string =>
    [
      JSON.stringify(a.group),
      String(a.start).padStart(16),
      String(a.end).padStart(16),
      a.ids[0],
    ].join('\u0000')
  return alerts.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
}

let store: AnalyticsStore
let dataDir: string
const events = generated(seededRandom(66))

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'palisade-sql-corr-'))
  store = await openAnalyticsStore({ database: 'palisade', dataDir, eventDays: 30 })
  await insertEvents(store, events, new Date())
})

afterAll(async () => {
  await store?.close()
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

async function hunt(c: CorrelationRule, options = {}): Promise<Alert[]> {
  const { sql, params } = compileCorrelationSql(c, documents as DetectionRule[], {
    table: 'palisade.events',
    filters: documents.filter((d): d is FilterRule => d.kind === 'filter'),
    ...options,
  })
  const result = await store.client.query({
    query: sql,
    query_params: params,
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  })
  const rows = await result.json<CorrelationSqlRow>()
  expect(rows.every((r) => r.correlation_id === c.id)).toBe(true)
  return sorted(
    rows.map((r) => ({
      group: r.group_values,
      ids: r.event_ids,
      value: Number(r.value),
      start: Number(r.window_start),
      end: Number(r.window_end),
      trigger: r.trigger_event_id,
      tOpen: r.t_open === null ? null : Number(r.t_open),
    })),
  )
}

describe('correlations over stored events in SQL', () => {
  it('loads every test rule', () => {
    expect(rejections).toEqual([])
    expect(set.rejections).toEqual([])
  })

  for (const n of Object.keys(correlations).map(Number)) {
    it(`raises the alerts the SLIDING.md walk raises, for correlation ${n}`, async () => {
      const c = byNumber(n)
      const expected = reference(c, events)
      expect(expected.length).toBeGreaterThan(0)
      expect(await hunt(c)).toEqual(expected)
    })
  }

  it('splits a burst of 50 with gte 10 into 5 alerts of 10 events, none shared', async () => {
    const alerts = (await hunt(byNumber(1))).filter((a) => a.group[0] === '10.0.0.1')
    expect(alerts.map((a) => a.value)).toEqual([10, 10, 10, 10, 10])
    expect(new Set(alerts.flatMap((a) => a.ids)).size).toBe(50)
  })

  it('puts two events exactly T apart in no window, and T - 1 ms apart in one', async () => {
    const alerts = await hunt(byNumber(3))
    expect(alerts.filter((a) => a.group[0] === '10.0.0.2')).toEqual([])
    expect(alerts.filter((a) => a.group[0] === '10.0.0.3').map((a) => a.ids.length)).toEqual([
      2, 2, 2,
    ])
  })

  it('groups events without the group-by field under an empty value', async () => {
    const alerts = await hunt(byNumber(1))
    expect(alerts.some((a) => a.group[0] === '')).toBe(true)
  })

  it('counts only the events from the given time on, and caps the event ids', async () => {
    const from = new Date(base + 1000)
    const later = events.filter((e) => Date.parse(e['@timestamp']) >= from.getTime())
    const c = byNumber(1)
    expect(await hunt(c, { from, maxEventIds: 3 })).toEqual(reference(c, later, 3))
  })
})
