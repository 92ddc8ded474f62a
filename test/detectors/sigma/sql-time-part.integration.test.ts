import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { timeParts } from '../../../detectors/sigma/compile-value.ts'
import { SqlParams } from '../../../detectors/sigma/sql-params.ts'
import { sqlTimePart } from '../../../detectors/sigma/sql-time-part.ts'
import { openAnalyticsStore } from '../../../platform/clickhouse/analytics-store.ts'
import type { AnalyticsStore } from '../../../platform/clickhouse/analytics-store.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

/**
 * `sqlTimePart` against a reference written here from the modifiers appendix and JavaScript's
 * own dates: a string's parts as written at ISO 8601 positions (a real day of a real month),
 * a number as epoch milliseconds in UTC, ISO 8601 weeks from the week's Thursday.
 */

let store: AnalyticsStore
let dataDir: string

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'palisade-sql-time-'))
  store = await openAnalyticsStore({ database: 'palisade', dataDir, eventDays: 30 })
})

afterAll(async () => {
  await store?.close()
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

type Part = (typeof timeParts)[number]

/** A UTC date of the proleptic Gregorian calendar, years 0 to 99 included. */
function utc(year: number, month: number, day: number): Date {
  const d = new Date(0)
  d.setUTCFullYear(year, month - 1, day)
  return d
}

/**
 * The week of the date's Thursday, taken 400 years on (the same week) before 1970, so that the
 * Thursday of the earliest date JavaScript holds is a date too.
 */
function isoWeek(d: Date): number {
  const weekday = d.getUTCDay() || 7
  const cycle = d.getTime() < 0 ? 146_097 * 86_400_000 : 0
  const thursday = new Date(d.getTime() + cycle + (4 - weekday) * 86_400_000)
  const first = utc(thursday.getUTCFullYear(), 1, 1)
  return Math.floor((thursday.getTime() - first.getTime()) / 86_400_000 / 7) + 1
}

function reference(v: unknown, part: Part): number | null {
  if (typeof v === 'number') {
    const d = new Date(v)
    if (Number.isNaN(d.getTime())) return null
    const parts: Record<Part, number> = {
      minute: d.getUTCMinutes(),
      hour: d.getUTCHours(),
      day: d.getUTCDate(),
      week: isoWeek(d),
      month: d.getUTCMonth() + 1,
      year: d.getUTCFullYear(),
    }
    return parts[part]
  }
  if (typeof v !== 'string') return null
  const date = /^([0-9]{4})-([0-9]{2})-([0-9]{2})/.exec(v)
  if (!date) return null
  const [year, month, day] = date.slice(1).map(Number) as [number, number, number]
  const d = utc(year, month, day)
  if (d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return null
  if (part === 'year') return year
  if (part === 'month') return month
  if (part === 'day') return day
  if (part === 'week') return isoWeek(d)
  const time = /^.{10}[Tt ]([0-9]{2}):([0-9]{2})/.exec(v)
  if (!time || Number(time[1]) > 23 || Number(time[2]) > 59) return null
  return Number(part === 'hour' ? time[1] : time[2])
}

async function sqlParts(values: readonly unknown[], part: Part): Promise<(number | null)[]> {
  const params = new SqlParams()
  const list = params.bind(
    values.map((v) => JSON.stringify(v)),
    'Array(String)',
  )
  const result = await store.client.query({
    query: `SELECT arrayMap(_x -> ${sqlTimePart('_x', part, params)}, ${list}) AS n`,
    query_params: params.values,
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  })
  const [row] = await result.json<{ n: (number | null)[] }>()
  return row!.n
}

describe('sqlTimePart', () => {
  const random = seededRandom(1970)
  const pad = (n: number, width: number): string => String(n).padStart(width, '0')
  const values: unknown[] = [
    ...['2020-12-31T23:59:59Z', '2021-01-03 00:00', '2021-01-04t12:30', '0004-01-01'],
    ...['0000-02-29', '0100-02-29', '2299-12-31', '2300-01-01', '1899-12-31', '9999-12-31 23:59'],
    ...[
      '2025-02-29',
      '2025-04-31',
      '2025-00-01',
      '2025-13-01',
      '2025-01-01T24:00',
      '2025-01-01 7:0',
    ],
    ...['٢٠٢٥-01-01', '2025/01/01', ' 2025-01-01', '2025-01-01x', '', 'x'],
    ...[0, -1, -0.5, 0.5, 8.64e15, -8.64e15, 8.64e15 + 2, 1e21, -62198755200001, 253402300800000],
    ...[true, null, [], {}],
  ]
  for (let i = 0; i < 400; i++) {
    values.push(Math.round((random() - 0.5) * 2 * 8.64e15))
    values.push((random() - 0.5) * 1e13)
    const y = Math.floor(random() * 10_000)
    const m = 1 + Math.floor(random() * 13)
    const d = 1 + Math.floor(random() * 31)
    const sep = ['T', 't', ' ', '_'][Math.floor(random() * 4)]
    const time = `${pad(Math.floor(random() * 25), 2)}:${pad(Math.floor(random() * 61), 2)}`
    values.push(`${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}${sep}${time}:00+05:30`)
  }

  for (const part of timeParts) {
    it(`reads the ${part} of dates as written and of epoch milliseconds in UTC`, async () => {
      const read = await sqlParts(values, part)
      const wrong = values.flatMap((v, i) =>
        reference(v, part) === read[i]
          ? []
          : [`${JSON.stringify(v)}: expected ${reference(v, part)}, SQL ${read[i]}`],
      )
      expect(wrong).toEqual([])
    })
  }
})
