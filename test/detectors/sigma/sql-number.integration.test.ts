import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { SqlParams } from '../../../detectors/sigma/sql-params.ts'
import { sqlNumber } from '../../../detectors/sigma/sql-number.ts'
import { openAnalyticsStore } from '../../../platform/clickhouse/analytics-store.ts'
import type { AnalyticsStore } from '../../../platform/clickhouse/analytics-store.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

/**
 * `sqlNumber` against JavaScript itself: each value, as JSON, is read by ClickHouse and by the
 * stream's rule (`toNumber` in compile-value.ts: a number, or text that is not blank and that
 * `Number` reads as a finite number), and the two must be the same double.
 */

let store: AnalyticsStore
let dataDir: string

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'palisade-sql-number-'))
  store = await openAnalyticsStore({ database: 'palisade', dataDir, eventDays: 30 })
})

afterAll(async () => {
  await store?.close()
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

function streamNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v
  if (typeof v !== 'string' || v.trim() === '') return undefined
  const n = Number(v)
  return Number.isFinite(n) ? n : undefined
}

/** What SQL reads of each value, as the text ClickHouse writes the double in (or null). */
async function sqlNumbers(values: readonly unknown[]): Promise<(string | null)[]> {
  const params = new SqlParams()
  const list = params.bind(
    values.map((v) => JSON.stringify(v)),
    'Array(String)',
  )
  const result = await store.client.query({
    query: `SELECT arrayMap(_x -> toString(${sqlNumber('_x', params)}), ${list}) AS n`,
    query_params: params.values,
    format: 'JSONEachRow',
  })
  const [row] = await result.json<{ n: (string | null)[] }>()
  return row!.n
}

async function disagreements(values: readonly unknown[]): Promise<string[]> {
  const read = await sqlNumbers(values)
  return values.flatMap((v, i) => {
    const want = streamNumber(v)
    const got = read[i] === null ? undefined : Number(read[i])
    return Object.is(want, got) || (want === 0 && got === 0)
      ? []
      : [`${JSON.stringify(v).slice(0, 60)}: stream ${want}, SQL ${read[i]}`]
  })
}

describe('sqlNumber', () => {
  it('reads every form Number reads, and nothing else, as the same double', async () => {
    const values: unknown[] = [
      ...['0x1F', '0X1f', ' 0x1F\n', '-0x1F', '+0x1F', '0x', '0x1G', '0x1F.5', '0x_1'],
      ...['0o17', '0O777', '0o8', '0b101', '0B0', '0b', '0b2', '0x0000000000000000001'],
      ...['1e99999999999999999999', '1e-99999999999999999999', '-1e-400', '1e400', '4.9e-324'],
      ...['Infinity', '-Infinity', '+Infinity', 'infinity', 'NaN', '', ' ', '\u00a0', '\ufeff'],
      ...['1_000', '1,5', '1.5.', '..5', '.', '+', '-', '.e5', '1e', '1e+', '5.', '-.5', '+.5e-3'],
      ...['007', '00.5', '1n', '١٢', '１２', '\ufeff42\u3000', '\u180e42', '0.1e1', '-0', '0e0'],
      ...['9007199254740993', '2.2250738585072011e-308', '0.1000000000000000055511151231257827'],
      4,
      -0,
      1.5,
      1e21,
      true,
      null,
      [1],
      { a: 1 },
    ]
    expect(await disagreements(values)).toEqual([])
  })

  it('rounds long hexadecimal, octal and binary integers to the nearest, ties to even', async () => {
    const random = seededRandom(53)
    const digits = (alphabet: string, n: number): string =>
      Array.from({ length: n }, () => alphabet[Math.floor(random() * alphabet.length)]).join('')
    const values: string[] = [
      // 2^53 + 1 and + 3 are ties (to even: down, then up); a 1 far past the 54th bit is not.
      '0x20000000000001',
      '0x20000000000003',
      '0x20000000000002',
      `0x20000000000001${'0'.repeat(20)}1`,
      `0b1${'0'.repeat(52)}1${'0'.repeat(40)}`,
      `0b1${'0'.repeat(51)}11${'0'.repeat(40)}`,
      // Around the largest double and 2^1024, past which Number gives Infinity.
      `0x${'f'.repeat(13)}f${'0'.repeat(242)}`,
      `0x${'f'.repeat(13)}f8${'0'.repeat(241)}`,
      `0x${'f'.repeat(13)}f7${'f'.repeat(241)}`,
      `0x1${'0'.repeat(256)}`,
      `0o1${'0'.repeat(341)}`,
      `0o${'7'.repeat(342)}`,
    ]
    for (let i = 0; i < 300; i++) {
      const n = 1 + Math.floor(random() * 90)
      values.push(`0x${digits('0123456789abcdefABCDEF', n)}`)
      values.push(`0o${digits('01234567', n)}`)
      values.push(`0b${digits('01', n * 2)}`)
      // Exactly halfway between two doubles, the kept part odd or even.
      values.push(`0b1${digits('01', 51)}${['1', '0'][i % 2]}1${'0'.repeat(i % 9)}`)
    }
    expect(await disagreements(values)).toEqual([])
  })
})
