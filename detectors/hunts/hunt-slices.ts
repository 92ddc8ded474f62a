import type { AnalyticsStore } from '../../platform/clickhouse/analytics-store.ts'

/**
 * Cutting a hunt's time range into slices that each hold a bounded number of stored events,
 * so that each query a hunt sends reads a bounded amount, its progress moves in even steps,
 * and a cancellation waits for at most one slice. Times are epoch milliseconds, ranges
 * half-open `[start, end)`, as the events table's DateTime64(3) column holds them.
 */

/** A stretch of time and how many stored events fall in it. */
export interface TimeBucket {
  start: number
  end: number
  events: number
}

/** How many buckets one counting query splits a range into. */
const BUCKETS_PER_QUERY = 4096

/**
 * Packs consecutive buckets into slices of at most `maxEvents` events each, in time order; a
 * bucket that alone holds more (one millisecond with more events than that) is a slice by
 * itself. Empty buckets join their neighbours, and the slices cover `[from, to)` with no gap,
 * so an event stored during the hunt inside the range is still read by some slice.
 *
 * @param buckets sorted by time, not overlapping, within `[from, to)`
 */
export function packSlices(
  from: number,
  to: number,
  buckets: readonly TimeBucket[],
  maxEvents: number,
): TimeBucket[] {
  const slices: TimeBucket[] = []
  let current: TimeBucket = { start: from, end: from, events: 0 }
  for (const b of buckets) {
    if (b.events === 0) continue
    if (current.events > 0 && current.events + b.events > maxEvents) {
      current.end = b.start
      slices.push(current)
      current = { start: b.start, end: b.start, events: 0 }
    }
    current.events += b.events
    current.end = b.end
  }
  // The last slice runs to the end; with no events at all it is the whole range.
  current.end = to
  slices.push(current)
  return slices
}

/**
 * The slices of `[from, to)` for the events stored now: counts per bucket, with a bucket that
 * holds more than `maxEvents` counted again in finer buckets, down to one millisecond.
 */
export async function planSlices(
  store: AnalyticsStore,
  from: number,
  to: number,
  maxEvents: number,
  signal?: AbortSignal,
): Promise<TimeBucket[]> {
  const buckets = await countBuckets(store, from, to, maxEvents, signal)
  return packSlices(from, to, buckets, maxEvents)
}

async function countBuckets(
  store: AnalyticsStore,
  from: number,
  to: number,
  maxEvents: number,
  signal?: AbortSignal,
): Promise<TimeBucket[]> {
  const width = Math.max(1, Math.ceil((to - from) / BUCKETS_PER_QUERY))
  const result = await store.client.query({
    query: `SELECT intDiv(toUnixTimestamp64Milli(timestamp) - {from:Int64}, {width:Int64}) AS b,
        count() AS n
      FROM ${store.database}.events
      WHERE timestamp >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')
        AND timestamp < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
      GROUP BY b ORDER BY b`,
    query_params: { from, to, width },
    format: 'JSONEachRow',
    ...(signal ? { abort_signal: signal } : {}),
  })
  const rows = await result.json<{ b: number | string; n: number | string }>()
  const out: TimeBucket[] = []
  for (const row of rows) {
    const start = from + Number(row.b) * width
    const bucket = { start, end: Math.min(to, start + width), events: Number(row.n) }
    if (bucket.events > maxEvents && width > 1) {
      out.push(...(await countBuckets(store, bucket.start, bucket.end, maxEvents, signal)))
    } else {
      out.push(bucket)
    }
  }
  return out
}
