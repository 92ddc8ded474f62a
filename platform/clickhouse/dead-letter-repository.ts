import type { AnalyticsStore } from './analytics-store.ts'
import { wellFormed } from '../well-formed.ts'
import { selectPage, toIso } from './paging.ts'
import type { KeyedRow, Page, PageQuery } from './paging.ts'

/**
 * A record that could not become an event: its original bytes, where it came from and why it
 * was refused. Replaying one re-runs it through the pipeline; its status then says how it went.
 */
export interface DeadLetter {
  id: string
  received: string
  status: 'pending' | 'replayed' | 'failed_again'
  source: string
  format: string
  stream: string
  position: number
  reason_code: string
  reason: string
  path: string
  raw: string
}

export interface DeadLetterQuery extends PageQuery {
  status?: DeadLetter['status']
}

export async function insertDeadLetters(
  store: AnalyticsStore,
  letters: DeadLetter[],
  updated: Date,
): Promise<void> {
  if (letters.length === 0) return
  await store.client.insert({
    table: `${store.database}.dead_letters`,
    values: letters.map((l) => ({
      ...l,
      reason: wellFormed(l.reason),
      path: wellFormed(l.path),
      raw: wellFormed(l.raw),
      updated: updated.toISOString(),
    })),
    format: 'JSONEachRow',
  })
}

const letterColumns = 'status, source, format, stream, position, reason_code, reason, path, raw'

export async function queryDeadLetters(
  store: AnalyticsStore,
  query: DeadLetterQuery,
): Promise<Page<DeadLetter>> {
  return selectPage<DeadLetterRow, DeadLetter>(
    store,
    {
      table: 'dead_letters',
      timeColumn: 'received',
      columns: letterColumns,
      page: query,
      where: query.status ? ['status = {status:String}'] : [],
      params: { status: query.status },
    },
    fromRow,
  )
}

/** Reads dead letters by id, in any status; for replay. */
export async function getDeadLetters(store: AnalyticsStore, ids: string[]): Promise<DeadLetter[]> {
  if (ids.length === 0) return []
  const result = await store.client.query({
    query: `SELECT toString(id) AS row_id, toString(received) AS row_time, ${letterColumns}
      FROM ${store.database}.dead_letters FINAL
      WHERE id IN (SELECT arrayJoin(arrayMap(x -> toUUID(x), {ids:Array(String)})))
      ORDER BY received, id`,
    query_params: { ids },
    format: 'JSONEachRow',
  })
  const rows = await result.json<DeadLetterRow>()
  return rows.map(fromRow)
}

type DeadLetterRow = KeyedRow & Omit<DeadLetter, 'id' | 'received'>

function fromRow({ row_id, row_time, ...rest }: DeadLetterRow): DeadLetter {
  return { id: row_id, received: toIso(row_time), ...rest, position: Number(rest.position) }
}
