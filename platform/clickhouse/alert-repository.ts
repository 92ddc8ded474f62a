import { levelRank } from '../alert-model.ts'
import type { Alert, AlertLevel } from '../alert-model.ts'
import type { AnalyticsStore } from './analytics-store.ts'
import { wellFormed, wellFormedJson } from './well-formed.ts'
import { pageConditions, toPage } from './paging.ts'
import type { KeyedRow, Page, PageQuery } from './paging.ts'

export interface AlertQuery extends PageQuery {
  ruleId?: string
  /** The lowest level to return: `medium` returns medium, high and critical. */
  level?: AlertLevel
  /** Free text in the title, entity or tags. */
  q?: string
}

/** Stores alerts. An alert's id is deterministic, so a redelivered alert replaces itself. */
export async function insertAlerts(store: AnalyticsStore, alerts: Alert[], created: Date) {
  if (alerts.length === 0) return
  const at = created.toISOString()
  await store.client.insert({
    table: `${store.database}.alerts`,
    values: alerts.map((a) => ({
      id: a.id,
      timestamp: a['@timestamp'],
      created: at,
      rule_id: a.rule.id,
      rule_version: a.rule.version,
      rule_title: a.rule.title,
      rule_kind: a.rule.kind,
      level: a.level,
      level_rank: levelRank(a.level),
      tags: a.tags,
      entity_kind: a.entity.kind,
      entity_value: wellFormed(a.entity.value),
      event_ids: a.event_ids,
      alert: wellFormedJson(a),
    })),
    format: 'JSONEachRow',
  })
}

export async function queryAlerts(store: AnalyticsStore, query: AlertQuery): Promise<Page<Alert>> {
  const { where, params } = pageConditions(query, 'timestamp')
  if (query.ruleId) {
    where.push('rule_id = {rule_id:String}')
    params.rule_id = query.ruleId
  }
  if (query.level) {
    where.push('level_rank >= {level_rank:UInt8}')
    params.level_rank = levelRank(query.level)
  }
  if (query.q) {
    where.push(`(positionCaseInsensitiveUTF8(rule_title, {q:String}) > 0
      OR positionCaseInsensitiveUTF8(entity_value, {q:String}) > 0
      OR arrayExists(t -> positionCaseInsensitiveUTF8(t, {q:String}) > 0, tags))`)
    params.q = query.q
  }
  params.limit = query.limit + 1
  const result = await store.client.query({
    query: `SELECT toString(id) AS row_id, toString(timestamp) AS row_time, alert
      FROM ${store.database}.alerts FINAL
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY timestamp DESC, id DESC
      LIMIT {limit:UInt32}`,
    query_params: params,
    format: 'JSONEachRow',
  })
  const rows = await result.json<KeyedRow & { alert: string }>()
  return toPage(rows, query.limit, (r) => JSON.parse(r.alert) as Alert)
}
