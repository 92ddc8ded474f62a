import type { Alert } from '../platform/alert-model.ts'
import type { AnalyticsStore } from '../platform/clickhouse/analytics-store.ts'
import { insertAlerts } from '../platform/clickhouse/alert-repository.ts'
import { insertDeadLetters } from '../platform/clickhouse/dead-letter-repository.ts'
import type { DeadLetter } from '../platform/clickhouse/dead-letter-repository.ts'
import { insertEvents } from '../platform/clickhouse/event-repository.ts'
import { newId } from '../platform/event-id.ts'
import type { PalisadeEvent } from '../platform/event-model.ts'
import type { Metrics } from '../platform/metrics/metrics.ts'
import { normaliseRecord } from './normalise.ts'
import type { ParsedRecord } from './parsed-record.ts'

/** The detection port: whatever turns events into alerts (Sigma, correlation, anomaly). */
export interface Detector {
  detect(events: PalisadeEvent[]): Alert[]
  /** Decides windows that wall-clock time `nowMs` has closed; returns their alerts. */
  flush(nowMs: number): Alert[]
}

export interface Batch {
  records: ParsedRecord[]
  /** Where the batch came from: `http`, `syslog-udp`, `syslog-tcp`, `replay`. */
  source: string
  /** The format it was parsed as, so a dead letter can be replayed the same way. */
  format: string
  stream: string
  receivedAt: Date
  /** Position of the first record in its stream, kept on dead letters for replay. */
  startPosition?: number
  /**
   * Whether invalid records become new dead letters (the default). A replay turns this off:
   * a record that fails again stays the one dead letter it already is.
   */
  writeDeadLetters?: boolean
}

export type RecordResult =
  | { index: number; status: 'stored'; id: string }
  | {
      index: number
      status: 'dead_letter'
      dead_letter_id: string
      error: { code: string; message: string; path?: string }
    }

export interface BatchResult {
  results: RecordResult[]
  stored: number
  dead_lettered: number
  alerts: number
}

export interface Pipeline {
  process(batch: Batch): Promise<BatchResult>
  /** Stores the alerts of correlation windows that time has closed; returns how many. */
  tick(now?: Date): Promise<number>
}

/**
 * The embedded transport: a batch is normalised, detected on and stored inline, and the
 * caller is answered only after every event, dead letter and alert is in ClickHouse. A store
 * failure rejects the whole batch, so the sender retries it; ids are deterministic, so the
 * retry leaves no duplicate.
 */
export function createPipeline(deps: {
  store: AnalyticsStore
  detector: Detector
  metrics?: Metrics
}): Pipeline {
  const { store, detector, metrics } = deps

  return {
    async process(batch) {
      const stopTimer = metrics?.batchSeconds.startTimer({ source: batch.source })
      const events: PalisadeEvent[] = []
      const letters: DeadLetter[] = []
      const results: RecordResult[] = []
      const received = batch.receivedAt.toISOString()

      for (const record of batch.records) {
        const outcome = record.error
          ? ({ ok: false, reason: record.error } as const)
          : normaliseRecord(record, { receivedAt: batch.receivedAt })
        if (outcome.ok) {
          events.push(outcome.event)
          results.push({ index: record.index, status: 'stored', id: outcome.event.id })
          continue
        }
        const letter: DeadLetter = {
          id: newId(),
          received,
          status: 'pending',
          source: batch.source,
          format: batch.format,
          stream: batch.stream,
          position: (batch.startPosition ?? 0) + record.index,
          reason_code: outcome.reason.code,
          reason: outcome.reason.message,
          path: outcome.reason.path ?? '',
          raw: record.raw,
        }
        letters.push(letter)
        results.push({
          index: record.index,
          status: 'dead_letter',
          dead_letter_id: letter.id,
          error: outcome.reason,
        })
      }

      const alerts = detector.detect(events)
      const now = new Date()
      // Events before alerts: an alert must never point at an event that is not stored.
      await insertEvents(store, events, now)
      if (batch.writeDeadLetters !== false) await insertDeadLetters(store, letters, now)
      await insertAlerts(store, alerts, now)

      metrics?.records.inc({ source: batch.source, outcome: 'stored' }, events.length)
      metrics?.records.inc({ source: batch.source, outcome: 'dead_letter' }, letters.length)
      for (const alert of alerts) metrics?.alerts.inc({ kind: alert.rule.kind })
      stopTimer?.()
      return {
        results,
        stored: events.length,
        dead_lettered: letters.length,
        alerts: alerts.length,
      }
    },

    async tick(now = new Date()) {
      const alerts = detector.flush(now.getTime())
      await insertAlerts(store, alerts, now)
      for (const alert of alerts) metrics?.alerts.inc({ kind: alert.rule.kind })
      return alerts.length
    },
  }
}
