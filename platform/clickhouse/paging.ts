import { ValidationError } from '../errors.ts'
import { isUuid } from '../event-id.ts'
import type { AnalyticsStore } from './analytics-store.ts'

/**
 * Keyset paging shared by every list endpoint: rows are ordered newest first by
 * (timestamp, id), and the opaque cursor is the key of the last row a page returned.
 */
export interface PageQuery {
  from?: string
  to?: string
  limit: number
  cursor?: string
}

export interface Page<T> {
  items: T[]
  next_cursor: string | null
}

interface CursorKey {
  t: string
  id: string
}

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url')
}

/** @throws {ValidationError} when the cursor was not made by `encodeCursor`. */
export function decodeCursor(cursor: string): CursorKey {
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as CursorKey
    const wellShaped =
      typeof key.t === 'string' &&
      !Number.isNaN(Date.parse(key.t)) &&
      typeof key.id === 'string' &&
      isUuid(key.id)
    if (wellShaped) return key
  } catch {
    // fall through to the error below
  }
  throw new ValidationError('cursor: expected a cursor returned by a previous page', {
    field: 'cursor',
  })
}

/**
 * Builds the WHERE clause parts for time range and cursor on a table keyed by
 * (`timeColumn`, id), with their parameters.
 */
export function pageConditions(
  page: PageQuery,
  timeColumn: string,
): { where: string[]; params: Record<string, unknown> } {
  const where: string[] = []
  const params: Record<string, unknown> = {}
  if (page.from) {
    where.push(`${timeColumn} >= parseDateTime64BestEffort({from:String}, 3, 'UTC')`)
    params.from = page.from
  }
  if (page.to) {
    where.push(`${timeColumn} < parseDateTime64BestEffort({to:String}, 3, 'UTC')`)
    params.to = page.to
  }
  if (page.cursor) {
    const key = decodeCursor(page.cursor)
    where.push(
      `(${timeColumn}, id) < (parseDateTime64BestEffort({cursor_t:String}, 3, 'UTC'), toUUID({cursor_id:String}))`,
    )
    params.cursor_t = key.t
    params.cursor_id = key.id
  }
  return { where, params }
}

/**
 * What every list query selects besides its payload: the key, as text, under names that do not
 * shadow the columns (ClickHouse lets WHERE see SELECT aliases, so `toString(id) AS id` would
 * turn the cursor comparison into a string comparison).
 */
export interface KeyedRow {
  row_id: string
  row_time: string
}

/** Turns `limit + 1` fetched rows into a page and the cursor for the next one. */
export function toPage<R extends KeyedRow, T>(
  rows: R[],
  limit: number,
  map: (row: R) => T,
): Page<T> {
  const more = rows.length > limit
  const kept = more ? rows.slice(0, limit) : rows
  const last = kept[kept.length - 1]
  return {
    items: kept.map(map),
    next_cursor: more && last ? encodeCursor({ t: toIso(last.row_time), id: last.row_id }) : null,
  }
}

/** ClickHouse DateTime64 text ('2024-01-01 10:00:00.000') to RFC 3339. */
export function toIso(clickhouseTime: string): string {
  return `${clickhouseTime.replace(' ', 'T')}Z`
}

export interface PageSpec {
  table: string
  /** The time column of the table's (time, id) key. */
  timeColumn: string
  /** The payload columns to select besides the key. */
  columns: string
  page: PageQuery
  /** Conditions besides the time range and cursor, with their bound parameters. */
  where?: string[]
  params?: Record<string, unknown>
}

/**
 * One page of a list endpoint: rows in the time range, after the cursor and matching the
 * extra conditions, newest first, each id once (FINAL).
 */
export async function selectPage<R extends KeyedRow, T>(
  store: AnalyticsStore,
  spec: PageSpec,
  map: (row: R) => T,
): Promise<Page<T>> {
  const paging = pageConditions(spec.page, spec.timeColumn)
  const where = [...paging.where, ...(spec.where ?? [])]
  const time = spec.timeColumn
  const result = await store.client.query({
    query: `SELECT toString(id) AS row_id, toString(${time}) AS row_time, ${spec.columns}
      FROM ${store.database}.${spec.table} FINAL
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY ${time} DESC, id DESC
      LIMIT {limit:UInt32}`,
    query_params: {
      ...paging.params,
      ...Object.fromEntries(Object.entries(spec.params ?? {}).filter(([, v]) => v !== undefined)),
      limit: spec.page.limit + 1,
    },
    format: 'JSONEachRow',
  })
  return toPage(await result.json<R>(), spec.page.limit, map)
}
