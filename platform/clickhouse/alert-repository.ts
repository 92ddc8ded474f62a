import { levelRank } from '../alert-model.ts'
import type { Alert, AlertLevel } from '../alert-model.ts'
import type { AnalyticsStore } from './analytics-store.ts'
import { wellFormed, wellFormedJson } from '../well-formed.ts'
import { selectPage } from './paging.ts'
import type { KeyedRow, Page, PageQuery } from './paging.ts'

export interface AlertQuery extends PageQuery {
  ruleId?: string
  /** The lowest level to return: `medium` returns medium, high and critical. */
  level?: AlertLevel
  /** Free text in the title, entity or tags. */
  q?: string
  /** Only the stream's alerts, or only hunts'. */
  origin?: 'stream' | 'hunt'
  /** Only the alerts this hunt found. */
  huntId?: string
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
      origin: a.origin ?? 'stream',
      hunt_id: a.hunt_id ?? '',
      alert: wellFormedJson(a),
    })),
    format: 'JSONEachRow',
  })
}

export async function queryAlerts(store: AnalyticsStore, query: AlertQuery): Promise<Page<Alert>> {
  const where: string[] = []
  if (query.ruleId) where.push('rule_id = {rule_id:String}')
  if (query.level) where.push('level_rank >= {level_rank:UInt8}')
  if (query.q) {
    where.push(`(positionCaseInsensitiveUTF8(rule_title, {q:String}) > 0
      OR positionCaseInsensitiveUTF8(entity_value, {q:String}) > 0
      OR arrayExists(t -> positionCaseInsensitiveUTF8(t, {q:String}) > 0, tags))`)
  }
  if (query.origin) where.push('origin = {origin:String}')
  if (query.huntId) where.push('hunt_id = {hunt_id:String}')
  const params = {
    origin: query.origin,
    hunt_id: query.huntId,
    rule_id: query.ruleId,
    level_rank: query.level ? levelRank(query.level) : undefined,
    q: query.q,
  }
  return selectPage<KeyedRow & { alert: string }, Alert>(
    store,
    { table: 'alerts', timeColumn: 'timestamp', columns: 'alert', page: query, where, params },
    (r) => JSON.parse(r.alert) as Alert,
  )
}
