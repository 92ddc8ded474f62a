import type { Decision } from '../../auth/zero-trust/decision-point.ts'
import { wellFormed, wellFormedJson } from '../well-formed.ts'
import type { AnalyticsStore } from './analytics-store.ts'

/** Stores decisions in `access_decisions`; a decision's id is its own, so a retry replaces it. */
export async function insertDecisions(store: AnalyticsStore, decisions: Decision[]) {
  if (decisions.length === 0) return
  await store.client.insert({
    table: `${store.database}.access_decisions`,
    values: decisions.map((d) => ({
      id: d.id,
      created: d.decided_at,
      decision: d.decision,
      subject: wellFormed(d.subject ?? ''),
      resource: wellFormed(d.resource ?? ''),
      action: wellFormed(d.action ?? ''),
      address: d.address ?? '',
      risk: d.risk.score,
      policy_version: d.policy_version,
      policies: d.policies,
      alert_ids: d.risk.alerts.map((a) => a.alert_id),
      reason_codes: d.reasons.map((r) => r.code),
      record: wellFormedJson(d),
    })),
    format: 'JSONEachRow',
  })
}

export interface DecisionQuery {
  subject?: string
  decision?: Decision['decision']
  limit: number
}

/** Decisions, newest first. */
export async function queryDecisions(
  store: AnalyticsStore,
  query: DecisionQuery,
): Promise<Decision[]> {
  const where: string[] = []
  if (query.subject !== undefined) where.push('subject = {subject:String}')
  if (query.decision !== undefined) where.push('decision = {decision:String}')
  const result = await store.client.query({
    query:
      `SELECT record FROM ${store.database}.access_decisions FINAL` +
      (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
      ' ORDER BY created DESC, id DESC LIMIT {limit:UInt32}',
    query_params: { subject: query.subject, decision: query.decision, limit: query.limit },
    format: 'JSONEachRow',
  })
  const rows = await result.json<{ record: string }>()
  return rows.map((r) => JSON.parse(r.record) as Decision)
}
