import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import {
  compileCorrelationSql,
  correlationAlertFromRow,
  type CorrelationSqlRow,
} from '../../../detectors/sigma/compile-correlation-sql.ts'
import { createCorrelator } from '../../../detectors/sigma/correlation-engine.ts'
import { loadRules, parseRuleText } from '../../../detectors/sigma/load-rules.ts'
import { compileRuleSet } from '../../../detectors/sigma/rule-set.ts'
import type {
  CorrelationRule,
  FilterRule,
  SigmaDocument,
} from '../../../detectors/sigma/sigma-rule.ts'
import type { Alert } from '../../../platform/alert-model.ts'
import { openAnalyticsStore } from '../../../platform/clickhouse/analytics-store.ts'
import type { AnalyticsStore } from '../../../platform/clickhouse/analytics-store.ts'
import { insertEvents } from '../../../platform/clickhouse/event-repository.ts'
import type { PalisadeEvent } from '../../../platform/event-model.ts'
import { opensshEvents, opensshLines } from '../../helpers/openssh-log.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'
import { base, detections, eventMaker } from './correlation-sql-fixtures.ts'
import { repoRoot } from '../../helpers/test-engine.ts'

/**
 * The correlation half of issue 6's equivalence harness: every event_count and value_count
 * correlation below, and the built-in SSH ones over the real OpenSSH log, is run by the stream
 * correlator and by the SQL back end over the same events (stored through the real store into
 * embedded ClickHouse), and their alerts are compared one by one: id, entity (the group
 * values), contributing event ids, time and message (which names the window and the count).
 * Every disagreement is reported with the correlation, the group and the fields that differ.
 *
 * The stream is fed in (time, id) order and flushed at the end, as a hunt's SQL sees the
 * events sorted: what a late event does in the stream is the stream's own tests' business
 * (correlation-windows.test.ts), since SQL has no arrival order to compare it with.
 */

/** Every condition form, for each type: lower bounds slide, the rest are anchored. */
const conditions: Record<'event_count' | 'value_count', string[]> = {
  event_count: [
    'gt: 3',
    'gte: 5',
    'gte: 1',
    'lt: 3',
    'lte: 2',
    'eq: 2',
    'neq: 1',
    'gt: 1, lt: 5',
    'gte: 2, lte: 4',
    'gte: 3, neq: 4',
  ],
  value_count: ['gte: 3', 'gt: 1', 'lt: 2', 'lte: 2', 'eq: 2', 'neq: 1', 'gt: 1, lte: 3'],
}

/** Group-by lists, with the aliases one needs. */
const groupings = [
  'group-by: [source.ip]',
  'group-by: [source.ip, user.name]',
  'group-by: []',
  'group-by: [address]\naliases:\n    address: {failed_password: source.ip, invalid_user: client.ip}',
  'group-by: [host.name]',
]
const timespans = ['1s', '10s', '1m', '5m', '1h']
const referenced = ['[failed_password]', '[failed_password, invalid_user]']
const valueFields = ['user.name', 'user.name,host.name', 'host.name']

/**
 * The correlations: each condition form of each type twice, with the group-bys, timespans,
 * referenced rules and value fields taken in turn at different paces, so the combinations vary
 * (a value field is never one the correlation groups by, which would count one value).
 */
function correlationText(): string {
  const out: string[] = []
  let n = 0
  for (let round = 0; round < 2; round++) {
    for (const type of ['event_count', 'value_count'] as const) {
      for (const condition of conditions[type]) {
        n++
        const grouping = groupings[n % groupings.length]!
        const timespan = timespans[(n + Math.floor(n / 5)) % timespans.length]!
        const rules = referenced[(n + Math.floor(n / 2)) % referenced.length]!
        let field = ''
        if (type === 'value_count') {
          const free = valueFields.filter((f) => f.split(',').every((x) => !grouping.includes(x)))
          field = `, field: '${free[n % free.length]!}'`
        }
        out.push(`title: correlation ${n}
id: 20000000-0000-4000-a000-${String(n).padStart(12, '0')}
correlation:
    type: ${type}
    rules: ${rules}
${grouping
  .split('\n')
  .map((l) => `    ${l}`)
  .join('\n')}
    timespan: ${timespan}
    condition: {${condition}${field}}
`)
      }
    }
  }
  return out.join('---\n')
}

const event = eventMaker()

/** Events on the windows' edges (T and T - 1 ms apart, ties), bursts, and three hours of noise. */
function generated(random: () => number): PalisadeEvent[] {
  const out: PalisadeEvent[] = []
  const pick = <T>(pool: readonly T[]): T => pool[Math.floor(random() * pool.length)]!
  const ips = ['10.0.1.1', '10.0.1.2', '10.0.1.3', undefined]
  const users = ['root', 'admin', 'bob', 'alice', undefined]
  const hosts = ['h1', 'h2', 'h3', undefined]
  const at = (t: number, message: string, ip?: string, user?: string, host?: string): void => {
    out.push(
      event(random, t, {
        message,
        ...(ip === undefined ? {} : { source: { ip }, client: { ip } }),
        ...(user === undefined ? {} : { user: { name: user } }),
        ...(host === undefined ? {} : { host: { name: host } }),
      }),
    )
  }
  for (const T of [1000, 10_000, 60_000, 300_000, 3_600_000]) {
    // Pairs exactly T apart and T - 1 ms apart, and a burst of ties in time.
    const t0 = base + T * 3
    for (let i = 0; i < 6; i++) {
      at(t0 + i * T, 'Failed password', '10.0.0.2', `e${i % 3}`, 'h1')
      at(t0 + i * (T - 1), 'Failed password', '10.0.0.3', `e${i % 2}`, 'h2')
    }
    for (let i = 0; i < 30; i++) {
      const t = t0 + Math.floor(i / 6) * Math.floor(T / 3)
      at(t, i % 4 === 0 ? 'Invalid user' : 'Failed password', '10.0.0.4', pick(users), 'h1')
    }
  }
  // A burst of 50 from one address; one event two rules match, many times.
  for (let i = 0; i < 50; i++) at(base + i * 100, 'Failed password', '10.0.0.1', `u${i % 7}`)
  for (let i = 0; i < 12; i++) {
    at(base + 80_000 + i * 700, 'Failed password for Invalid user x', '10.0.0.5', `x${i % 3}`)
  }
  // Three hours of activity from few addresses, users and hosts, some absent.
  for (let i = 0; i < 1500; i++) {
    const t = base + Math.floor(random() * 3 * 3_600_000)
    const message = random() < 0.25 ? 'Invalid user' : 'Failed password'
    at(t, message, pick(ips), pick(users), pick(hosts))
  }
  // Matched by no rule.
  for (let i = 0; i < 20; i++) at(base + i * 50, 'Accepted password', '10.0.0.1')
  return out
}

/** (time, id): the order both back ends take a group's events in (SLIDING.md). */
function inOrder(events: readonly PalisadeEvent[]): PalisadeEvent[] {
  const key = (e: PalisadeEvent) => Date.parse(e['@timestamp'])
  return [...events].sort((a, b) => key(a) - key(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

/** The stream's alerts for `events`, fed in order and flushed once the stream is quiet. */
function streamAlerts(
  documents: readonly SigmaDocument[],
  events: readonly PalisadeEvent[],
  maxEventIds: number,
): Alert[] {
  const set = compileRuleSet(documents)
  expect(set.rejections).toEqual([])
  const correlator = createCorrelator(set, { maxEventIds })
  const out: Alert[] = []
  for (const e of inOrder(events)) out.push(...correlator.process(e, set.evaluate(e)))
  out.push(...correlator.flush(Number.POSITIVE_INFINITY))
  return out
}

let store: AnalyticsStore
let dataDir: string

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'palisade-corr-eq-'))
  store = await openAnalyticsStore({ database: 'palisade', dataDir, eventDays: 30 })
})

afterAll(async () => {
  await store?.close()
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

interface Hunt {
  from?: Date
  to?: Date
  /** Event ids an alert carries, in both back ends; default 100. */
  maxEventIds?: number
}

/** The SQL back end's alerts for one correlation, as the stream would make them. */
async function sqlAlerts(
  c: CorrelationRule,
  documents: readonly SigmaDocument[],
  hunt: Hunt,
): Promise<Alert[]> {
  const rules = documents.filter((d) => d.kind === 'detection' || d.kind === 'correlation')
  const { sql, params } = compileCorrelationSql(c, rules, {
    table: 'palisade.events',
    filters: documents.filter((d): d is FilterRule => d.kind === 'filter'),
    ...hunt,
  })
  const result = await store.client.query({
    query: sql,
    query_params: params,
    format: 'JSONEachRow',
  })
  const rows = await result.json<CorrelationSqlRow>()
  return rows.map((r) => correlationAlertFromRow(r, c, hunt.maxEventIds))
}

/** One line per disagreement: the correlation, the group, and the fields that differ. */
function compare(c: CorrelationRule, fromStream: Alert[], fromSql: Alert[]): string[] {
  const where = (a: Alert) =>
    `correlation ${c.title} (${c.type} {${condition(c)}} in ${c.timespanMs / 1000}s) ` +
    `group ${JSON.stringify(a.entity.value)}`
  const window = (a: Alert) =>
    /from (\S+) to (\S+)\)/
      .exec(a.message ?? '')
      ?.slice(1)
      .join('..')
  const sql = new Map(fromSql.map((a) => [a.id, a]))
  const stream = new Map(fromStream.map((a) => [a.id, a]))
  const out: string[] = []
  if (sql.size !== fromSql.length) out.push(`${c.title}: SQL gave one alert id twice`)
  if (stream.size !== fromStream.length) out.push(`${c.title}: the stream gave one id twice`)
  for (const [id, s] of stream) {
    const q = sql.get(id)
    if (!q) {
      out.push(`${where(s)}: only the stream raised ${id}, ${window(s)}, ${s.event_ids.length} ids`)
      continue
    }
    const differ = (['@timestamp', 'entity', 'event_ids', 'message', 'rule'] as const).filter(
      (f) => JSON.stringify(s[f]) !== JSON.stringify(q[f]),
    )
    for (const f of differ) {
      out.push(
        `${where(s)} ${id}: ${f} stream ${JSON.stringify(s[f])}, SQL ${JSON.stringify(q[f])}`,
      )
    }
  }
  for (const [id, q] of sql) {
    if (!stream.has(id)) {
      out.push(`${where(q)}: only SQL raised ${id}, ${window(q)}, ${q.event_ids.length} ids`)
    }
  }
  return out
}

function condition(c: CorrelationRule): string {
  return Object.entries(c.condition)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ')
}

/** Runs both back ends over `events` (already stored) and returns every disagreement. */
async function differences(
  documents: readonly SigmaDocument[],
  events: readonly PalisadeEvent[],
  hunt: Hunt = {},
): Promise<{ lines: string[]; alerts: Alert[]; quiet: string[] }> {
  const { from, to } = hunt
  const inRange = events.filter((e) => {
    const t = Date.parse(e['@timestamp'])
    return (!from || t >= from.getTime()) && (!to || t < to.getTime())
  })
  const fromStream = streamAlerts(documents, inRange, hunt.maxEventIds ?? 100)
  const lines: string[] = []
  const quiet: string[] = []
  const alerts: Alert[] = []
  for (const c of documents.filter((d): d is CorrelationRule => d.kind === 'correlation')) {
    const fromSql = await sqlAlerts(c, documents, hunt)
    const mine = fromStream.filter((a) => a.rule.id === c.id)
    lines.push(...compare(c, mine, fromSql))
    alerts.push(...fromSql)
    if (fromSql.length === 0 && mine.length === 0) quiet.push(c.title)
  }
  return { lines, alerts, quiet }
}

describe('the SQL back end against the stream, correlation by correlation', () => {
  const { documents, rejections } = parseRuleText(
    [detections, correlationText()].join('---\n'),
    'correlations.yml',
  )
  const events = generated(seededRandom(6))

  beforeAll(async () => {
    await insertEvents(store, events, new Date())
  })

  it('loads every test correlation', () => {
    expect(rejections).toEqual([])
    expect(documents.filter((d) => d.kind === 'correlation')).toHaveLength(34)
  })

  it('raises the same alerts over generated events, for every condition form', async () => {
    const { lines, alerts, quiet } = await differences(documents, events)
    expect(lines.slice(0, 40).join('\n')).toBe('')
    expect(lines).toHaveLength(0)
    // Every correlation raised something, so the events exercised it.
    expect(quiet).toEqual([])
    expect(alerts.length).toBeGreaterThan(1000)
  })

  it('carries the same first event ids when both cap them, and the same counts past it', async () => {
    // With three ids an alert, an anchored value_count window's count is exact up to three
    // and "more than 3" past it in both (distinctValuesKept), and a set's ids are cut alike.
    const { lines, alerts } = await differences(documents, events, { maxEventIds: 3 })
    expect(lines.slice(0, 40).join('\n')).toBe('')
    expect(alerts.some((a) => a.message?.includes('value_count more than 3'))).toBe(true)
    expect(alerts.some((a) => a.event_ids.length === 3)).toBe(true)
  })

  for (const [name, from, to] of [
    ['the three hours of noise', base + 2_500, base + 3 * 3_600_000 - 1234],
    ['the hour-long pairs', base + 3 * 3_600_000 + 1, base + 4.5 * 3_600_000],
  ] as const) {
    it(`agrees at the ends of a hunted range cut through ${name}`, async () => {
      // SQL decides a window still open at \`to\` on the events before it; the stream decides
      // it at the flush after its last event. \`from\` cuts sets and windows short at their start.
      const range = { from: new Date(from), to: new Date(to) }
      const { lines, alerts } = await differences(documents, events, range)
      expect(lines.slice(0, 40).join('\n')).toBe('')
      expect(lines).toHaveLength(0)
      // Some anchored window was still open at \`to\`, so the end of the range was exercised.
      expect(alerts.some((a) => Date.parse(a['@timestamp']) > to)).toBe(true)
    })
  }
})

describe('the SQL back end against the stream over the real OpenSSH log', () => {
  // The SSH files of the built-in pack. The success-after-failures sequence is
  // temporal_ordered, which SQL does not run; without it the failure burst it chains on alerts
  // on its own, so SQL can be compared with it too.
  const loaded = loadRules([join(repoRoot, 'rules', 'builtin')])
  const documents = loaded.documents.filter(
    (d) =>
      basename(d.file).startsWith('ssh_') &&
      (d.kind !== 'correlation' || d.type === 'event_count' || d.type === 'value_count'),
  )
  const events = opensshEvents(opensshLines)

  beforeAll(async () => {
    await insertEvents(store, events, new Date())
  })

  it('raises the same brute-force, burst and spraying alerts', async () => {
    const ssh = documents.filter((d) => d.kind === 'correlation')
    expect(ssh.map((d) => d.title).sort()).toEqual([
      'SSH Brute Force From One Source',
      'SSH Failure Burst From One Source',
      'SSH Password Spraying From One Source',
    ])
    const { lines, alerts, quiet } = await differences(documents, events)
    expect(lines.slice(0, 40).join('\n')).toBe('')
    expect(lines).toHaveLength(0)
    expect(quiet).toEqual([])
    expect(alerts.length).toBeGreaterThan(0)
  })
})
