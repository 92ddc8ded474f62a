import type { PalisadeEvent } from '../event-model.ts'
import { wellFormedJson } from '../well-formed.ts'
import type { AnalyticsStore } from './analytics-store.ts'
import { selectPage } from './paging.ts'
import type { KeyedRow, Page, PageQuery } from './paging.ts'

export interface EventQuery extends PageQuery {
  /** Free text, matched case-insensitively anywhere in the event. */
  q?: string
}

interface EventRow extends KeyedRow {
  event: string
}

/**
 * Stores normalised events. Re-inserting an event with the same id and time is a no-op.
 *
 * @param sequence each event's ingest sequence number (in the order of `events`): the order
 *   the stream detected them in, which a restart replays after a correlation checkpoint.
 *   Without it the events get 0: stored outside the stream, never replayed.
 */
export async function insertEvents(
  store: AnalyticsStore,
  events: PalisadeEvent[],
  ingested: Date,
  sequence?: readonly number[],
): Promise<void> {
  if (events.length === 0) return
  const at = ingested.toISOString()
  await store.client.insert({
    table: `${store.database}.events`,
    values: events.map((e, i) => ({
      id: e.id,
      timestamp: e['@timestamp'],
      ingested: at,
      ingest_seq: sequence?.[i] ?? 0,
      event: wellFormedJson(e),
    })),
    format: 'JSONEachRow',
  })
}

/** The largest ingest sequence number stored, or 0 when no event has one. */
export async function lastIngestSeq(store: AnalyticsStore): Promise<number> {
  const result = await store.client.query({
    query: `SELECT toString(max(ingest_seq)) AS seq FROM ${store.database}.events`,
    format: 'JSONEachRow',
  })
  const [row] = await result.json<{ seq: string }>()
  return Number(row?.seq ?? 0)
}

/**
 * Up to `limit` events whose ingest sequence number is above `after`, in sequence order: the
 * events a restart feeds its detectors again after a checkpoint; the next page starts after
 * the last `seq`. An event stored twice (two batches racing with the same id) comes once per
 * number; the caller keeps the first.
 */
export async function readEventsAfter(
  store: AnalyticsStore,
  after: number,
  limit: number,
): Promise<{ seq: number; event: PalisadeEvent }[]> {
  const result = await store.client.query({
    query: `SELECT toString(ingest_seq) AS seq, event FROM ${store.database}.events
      WHERE ingest_seq > {after:UInt64}
      ORDER BY ingest_seq
      LIMIT {limit:UInt32}`,
    query_params: { after, limit },
    format: 'JSONEachRow',
  })
  const rows = await result.json<{ seq: string; event: string }>()
  return rows.map((r) => ({ seq: Number(r.seq), event: JSON.parse(r.event) as PalisadeEvent }))
}

/**
 * Which of `ids` are already stored in `table` (events or alerts). Ids are the rows' identity,
 * but the tables are keyed by (timestamp, id), so an event resent with another time (one that
 * had none and took its arrival time), or an alert raised again after a restart by a different
 * event of the same window, would otherwise become a second row.
 */
export async function findStoredIds(
  store: AnalyticsStore,
  ids: string[],
  table: 'events' | 'alerts' = 'events',
): Promise<Set<string>> {
  if (ids.length === 0) return new Set()
  const result = await store.client.query({
    // `id IN {ids:Array(UUID)}` would compare with the array as one value and match nothing;
    // the subquery makes a set, which the bloom filter index can use.
    query: `SELECT DISTINCT toString(id) AS id FROM ${store.database}.${table}
      WHERE id IN (SELECT arrayJoin({ids:Array(UUID)}))`,
    query_params: { ids },
    format: 'JSONEachRow',
  })
  return new Set((await result.json<{ id: string }>()).map((r) => r.id))
}

export async function queryEvents(
  store: AnalyticsStore,
  query: EventQuery,
): Promise<Page<PalisadeEvent>> {
  const text = query.q ? ['positionCaseInsensitiveUTF8(event, {q:String}) > 0'] : []
  return selectPage<EventRow, PalisadeEvent>(
    store,
    {
      table: 'events',
      timeColumn: 'timestamp',
      columns: 'event',
      page: query,
      where: text,
      params: { q: query.q },
    },
    (r) => JSON.parse(r.event),
  )
}

export async function getEvent(store: AnalyticsStore, id: string): Promise<PalisadeEvent | null> {
  const result = await store.client.query({
    query: `SELECT event FROM ${store.database}.events FINAL WHERE id = toUUID({id:String}) LIMIT 1`,
    query_params: { id },
    format: 'JSONEachRow',
  })
  const rows = await result.json<{ event: string }>()
  return rows[0] ? (JSON.parse(rows[0].event) as PalisadeEvent) : null
}

/** How many events, alerts and dead letters are stored, each id once. */
export async function countStored(
  store: AnalyticsStore,
): Promise<{ events: number; alerts: number; dead_letters: number }> {
  const db = store.database
  const result = await store.client.query({
    query: `SELECT
      (SELECT count() FROM ${db}.events FINAL) AS events,
      (SELECT count() FROM ${db}.alerts FINAL) AS alerts,
      (SELECT count() FROM ${db}.dead_letters FINAL) AS dead_letters`,
    format: 'JSONEachRow',
  })
  const [row] = await result.json<{ events: number; alerts: number; dead_letters: number }>()
  return {
    events: Number(row?.events ?? 0),
    alerts: Number(row?.alerts ?? 0),
    dead_letters: Number(row?.dead_letters ?? 0),
  }
}

/**
 * Events stored (by `ingested` time) at or after `since`, in event-time order then id, a page
 * of `limit` from `offset`: what a Kafka worker reads to rebuild the correlation windows of the
 * partitions it was given.
 */
export async function readEventsStoredSince(
  store: AnalyticsStore,
  since: Date,
  limit: number,
  offset = 0,
): Promise<PalisadeEvent[]> {
  const result = await store.client.query({
    query: `SELECT event FROM ${store.database}.events FINAL
      WHERE ingested >= parseDateTime64BestEffort({since:String}, 3)
      ORDER BY timestamp, id
      LIMIT {limit:UInt32} OFFSET {offset:UInt64}`,
    query_params: { since: since.toISOString(), limit, offset },
    format: 'JSONEachRow',
  })
  const rows = await result.json<{ event: string }>()
  return rows.map((r) => JSON.parse(r.event) as PalisadeEvent)
}
