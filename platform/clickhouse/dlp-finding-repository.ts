import type { ActedFinding } from '../../enrich/dlp/dlp-redactor.ts'
import { wellFormed } from '../well-formed.ts'
import type { AnalyticsStore } from './analytics-store.ts'

/** The findings of one event, with where the event came from. */
export interface EventFindings {
  eventId: string
  timestamp: string
  source: string
  dataset: string
  findings: readonly ActedFinding[]
}

/** Stores DLP findings (never a value: type, path, span, confidence and action). */
export async function insertDlpFindings(
  store: AnalyticsStore,
  events: readonly EventFindings[],
  created: Date,
): Promise<void> {
  const at = created.toISOString()
  const values = events.flatMap((e) =>
    e.findings.map((f) => ({
      event_id: e.eventId,
      timestamp: e.timestamp,
      created: at,
      source: e.source,
      dataset: wellFormed(e.dataset),
      type: f.type,
      confidence: f.confidence,
      path: wellFormed(f.path),
      span_start: f.start,
      span_end: f.end,
      recogniser: f.recogniser,
      action: f.action,
    })),
  )
  if (values.length === 0) return
  await store.client.insert({
    table: `${store.database}.dlp_findings`,
    values,
    format: 'JSONEachRow',
  })
}
