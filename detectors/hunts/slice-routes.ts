import type { AnalyticsStore } from '../../platform/clickhouse/analytics-store.ts'
import type { TimeBucket } from './hunt-slices.ts'

/**
 * The route keys of the events stored in a slice, as the stream's rule set files rules under
 * them (`variantKeys` in logsource-routes.ts, looked up in `RuleSet.evaluate`): a Windows
 * event's `w`, `w:<channel>` and `w:<channel>:<event id>` (the channel lowered as JavaScript
 * does), `d:<dataset>`, and a syslog record's `s` and `a:<program>`. A batch whose rules are
 * filed under none of them can match no event of the slice, in the stream or in SQL, and its
 * query is not sent: most of a hunt's time is ClickHouse analysing queries.
 */
export async function routeKeysIn(
  store: AnalyticsStore,
  slice: TimeBucket,
  signal?: AbortSignal,
): Promise<Set<string>> {
  const text = (keys: string) =>
    `if(JSONType(event, ${keys}) = 'String', JSONExtractString(event, ${keys}), ` +
    `JSONExtractRaw(event, ${keys}))`
  const result = await store.client.query({
    query: `SELECT DISTINCT
        JSONType(event, 'winlog') = 'Object' AS w,
        JSONExtractString(event, 'winlog', 'channel') AS channel,
        ${text("'winlog', 'event_id'")} AS event_id,
        ${text("'event', 'dataset'")} AS dataset,
        JSONType(event, 'log', 'syslog') = 'Object' AS s,
        JSONExtractString(event, 'log', 'syslog', 'appname') AS appname
      FROM ${store.database}.events
      WHERE timestamp >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')
        AND timestamp < fromUnixTimestamp64Milli({to:Int64}, 'UTC')`,
    query_params: { from: slice.start, to: slice.end },
    format: 'JSONEachRow',
    ...(signal ? { abort_signal: signal } : {}),
  })
  const keys = new Set<string>()
  type Row = Record<'channel' | 'event_id' | 'dataset' | 'appname', string> & { w: 0; s: 0 }
  for (const row of await result.json<Row>()) {
    if (Number(row.w)) {
      const ch = row.channel.toLowerCase()
      keys.add('w').add(`w:${ch}`).add(`w:${ch}:${row.event_id}`)
    }
    if (row.dataset !== '') keys.add(`d:${row.dataset}`)
    if (Number(row.s)) {
      keys.add('s')
      if (row.appname !== '') keys.add(`a:${row.appname}`)
    }
  }
  return keys
}
