import type { AnalyticsStore } from './analytics-store.ts'

/** One row of `audit_entries`: the entry's canonical JSON and its leaf hash in hex. */
export interface AuditRow {
  idx: number
  time: string
  entry: string
  leaf_hash: string
}

/** Stores one audit entry. The table is append-only and never expires (migration 2). */
export async function insertAuditEntry(store: AnalyticsStore, row: AuditRow): Promise<void> {
  await store.client.insert({
    table: `${store.database}.audit_entries`,
    values: [row],
    format: 'JSONEachRow',
  })
}

/**
 * How many entries are stored and one past the highest index. The two are equal in a log
 * with no gap and no duplicate; the caller decides what to do when they are not.
 */
export async function countAuditEntries(
  store: AnalyticsStore,
): Promise<{ count: number; end: number }> {
  const result = await store.client.query({
    query: `SELECT count() AS count, if(count() = 0, 0, max(idx) + 1) AS end
      FROM ${store.database}.audit_entries`,
    format: 'JSONEachRow',
  })
  const [row] = await result.json<{ count: number; end: number }>()
  return { count: Number(row?.count ?? 0), end: Number(row?.end ?? 0) }
}

/** Entries start, start + 1, …, end - 1 in index order; fewer if some are missing. */
export async function readAuditRows(
  store: AnalyticsStore,
  start: number,
  end: number,
  columns: 'idx, leaf_hash' | 'idx, time, entry, leaf_hash' = 'idx, time, entry, leaf_hash',
): Promise<AuditRow[]> {
  const result = await store.client.query({
    query: `SELECT ${columns} FROM ${store.database}.audit_entries
      WHERE idx >= {start:UInt64} AND idx < {end:UInt64} ORDER BY idx`,
    query_params: { start, end },
    format: 'JSONEachRow',
  })
  return (await result.json<AuditRow>()).map((r) => ({ ...r, idx: Number(r.idx) }))
}

/**
 * The index of the first entry whose time is at or after `time`, or undefined when none is.
 * Entries are appended in index order with the clock of the one appending process, so every
 * entry from that index on is at or after `time` too, unless the clock was set back.
 */
export async function firstAuditIndexAtOrAfter(
  store: AnalyticsStore,
  time: Date,
): Promise<number | undefined> {
  const result = await store.client.query({
    query: `SELECT idx FROM ${store.database}.audit_entries
      WHERE time >= fromUnixTimestamp64Milli({ms:Int64}, 'UTC') ORDER BY idx LIMIT 1`,
    query_params: { ms: time.getTime() },
    format: 'JSONEachRow',
  })
  const [row] = await result.json<{ idx: number | string }>()
  return row === undefined ? undefined : Number(row.idx)
}
