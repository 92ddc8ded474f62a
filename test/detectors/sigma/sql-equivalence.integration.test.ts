import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { compileSqlRule } from '../../../detectors/sigma/compile-sql.ts'
import { SqlUnsupportedError } from '../../../detectors/sigma/compile-sql-value.ts'
import { parseRuleText } from '../../../detectors/sigma/load-rules.ts'
import { compileRuleSet } from '../../../detectors/sigma/rule-set.ts'
import type { DetectionRule, FilterRule } from '../../../detectors/sigma/sigma-rule.ts'
import { openAnalyticsStore } from '../../../platform/clickhouse/analytics-store.ts'
import type { AnalyticsStore } from '../../../platform/clickhouse/analytics-store.ts'
import { insertEvents } from '../../../platform/clickhouse/event-repository.ts'
import type { PalisadeEvent } from '../../../platform/event-model.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'
import { differentialRules, expectedRefusals, placeholders } from './sql-equivalence-rules.ts'
import { generatedEvents } from './sql-equivalence-events.ts'

/**
 * The equivalence harness (issue 6): every rule of `sql-equivalence-rules.ts` is evaluated by
 * the stream's rule set and by the SQL back end over the same events, stored through the real
 * store into embedded ClickHouse, and every event on which they disagree is reported with the
 * rule and the fields the rule reads.
 */

let store: AnalyticsStore
let dataDir: string
const events = generatedEvents(seededRandom(6))

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'palisade-sql-eq-'))
  store = await openAnalyticsStore({ database: 'palisade', dataDir, eventDays: 30 })
  await insertEvents(store, events, new Date())
})

afterAll(async () => {
  await store?.close()
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

describe('the SQL back end against the stream', () => {
  const { documents, rejections } = parseRuleText(differentialRules, 'differential.yml')
  const rules = documents.filter((d): d is DetectionRule => d.kind === 'detection')
  const filters = documents.filter((d): d is FilterRule => d.kind === 'filter')
  const set = compileRuleSet(documents, { placeholders })

  it('loads every test rule in the stream', () => {
    expect(rejections).toEqual([])
    expect(set.rejections).toEqual([])
  })

  it('agrees with the stream on every generated event, for every rule SQL runs', async () => {
    // What the store holds is the event's JSON; the stream is asked about the same JSON.
    const stored = events.map((e) => JSON.parse(JSON.stringify(e)) as PalisadeEvent)
    const streamMatches = new Map<string, Set<string>>()
    for (const event of stored) {
      for (const rule of set.evaluate(event)) {
        const ids = streamMatches.get(rule.id) ?? new Set()
        ids.add(event.id)
        streamMatches.set(rule.id, ids)
      }
    }

    const refused: Record<string, string> = {}
    const disagreements: string[] = []
    const quiet: string[] = []
    let compared = 0
    for (const rule of rules) {
      let sql: { sql: string; params: Record<string, unknown> }
      try {
        const applied = filters.filter((f) => f.rules.includes(rule.id))
        sql = compileSqlRule(rule, { placeholders, filters: applied })
      } catch (err) {
        if (!(err instanceof SqlUnsupportedError)) throw err
        refused[rule.title] = err.message
        continue
      }
      const result = await store.client.query({
        query: `SELECT toString(id) AS id FROM palisade.events WHERE ${sql.sql}`,
        query_params: sql.params,
        format: 'JSONEachRow',
      })
      const fromSql = new Set((await result.json<{ id: string }>()).map((r) => r.id))
      const fromStream = streamMatches.get(rule.id) ?? new Set()
      compared++
      if (fromStream.size === 0) quiet.push(rule.title)
      for (const event of stored) {
        const s = fromStream.has(event.id)
        const q = fromSql.has(event.id)
        if (s !== q) disagreements.push(describe(rule, event, s, q))
      }
    }

    expect(disagreements.slice(0, 40).join('\n')).toBe('')
    expect(disagreements).toHaveLength(0)
    expect(Object.keys(refused).sort()).toEqual([...expectedRefusals].sort())
    // Every rule that ran matched something, so the events exercised it.
    expect(quiet).toEqual([])
    expect(compared).toBe(rules.length - expectedRefusals.length)
  })

  it('stores an event holding an integer beyond 64 bits, and SQL finds it', async () => {
    // JSON.stringify writes integers below 1e21 in full, and ClickHouse refuses a document
    // with one beyond Int64 and UInt64 (the events table's `doc` column, CAST(event, 'JSON'),
    // failed the insert): the store's JSON writer (wellFormedJson) gives them exponent form.
    const image = String.raw`C:\Windows\System32\cmd.exe`
    const probe = (n: number, size: number): PalisadeEvent =>
      ({
        id: `00000000-0000-4000-9000-00000000000${n}`,
        '@timestamp': '2025-03-01T03:15:00.000Z',
        winlog: {
          channel: 'Microsoft-Windows-Sysmon/Operational',
          event_id: 1,
          event_data: { Image: image, FileSize: size },
        },
      }) as PalisadeEvent
    // The largest double under 2^64, 1e21 (written 1e+21), 2^64, and -2^63 (written
    // -9223372036854776000, below Int64's least).
    const sizes = [18446744073709550000, 1e21, 18446744073709552000, -(2 ** 63)]
    const events = sizes.map((size, i) => probe(i + 1, size))
    await insertEvents(store, events, new Date())
    const exact = rules.find((r) => r.title === 'exact value')!
    const { sql, params } = compileSqlRule(exact)
    const result = await store.client.query({
      query: `SELECT toString(id) AS id, event FROM palisade.events
        WHERE has({ids:Array(String)}, toString(id)) AND (${sql}) ORDER BY id`,
      query_params: { ...params, ids: events.map((e) => e.id) },
      format: 'JSONEachRow',
    })
    const rows = await result.json<{ id: string; event: string }>()
    expect(rows.map((r) => r.id)).toEqual(events.map((e) => e.id))
    const stored = rows.map((r) => JSON.parse(r.event).winlog.event_data.FileSize)
    expect(stored).toEqual(sizes)
  })

  function describe(rule: DetectionRule, event: PalisadeEvent, s: boolean, q: boolean): string {
    const compiled = set.ruleById(rule.id)
    const fields = new Set<string>()
    // Search identifiers hold maps of field entries, or lists of them.
    const visit = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(visit)
      else if (node && typeof node === 'object') {
        for (const key of Object.keys(node)) {
          const name = key.split('|')[0]!
          if (name !== '') fields.add(name)
        }
      }
    }
    for (const [name, value] of Object.entries(rule.detection)) {
      if (name !== 'condition') visit(value)
    }
    const values = [...fields].map((f) => {
      const v = compiled?.kind === 'detection' ? compiled.field(f)(event) : undefined
      return `${f}=${JSON.stringify(v)}`
    })
    const keyword = fields.size === 0 ? ` message=${JSON.stringify(event.message)}` : ''
    return (
      `rule "${rule.title}" event ${event.id}: stream ${s}, SQL ${q}; ` +
      `${values.join(', ')}${keyword}`
    )
  }
})
