import type { DlpActions } from '../enrich/dlp/dlp-policy.ts'
import type { DlpRedactor } from '../enrich/dlp/dlp-redactor.ts'
import type { Alert } from '../platform/alert-model.ts'
import type { AnalyticsStore } from '../platform/clickhouse/analytics-store.ts'
import { insertAlerts } from '../platform/clickhouse/alert-repository.ts'
import { insertDeadLetters } from '../platform/clickhouse/dead-letter-repository.ts'
import { insertDlpFindings } from '../platform/clickhouse/dlp-finding-repository.ts'
import type { EventFindings } from '../platform/clickhouse/dlp-finding-repository.ts'
import type { DeadLetter } from '../platform/clickhouse/dead-letter-repository.ts'
import { findStoredIds, insertEvents } from '../platform/clickhouse/event-repository.ts'
import { isDataRefusal } from '../platform/clickhouse/store-errors.ts'
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
  /**
   * Set only by Palisade's own emitters (auth/auth-events.ts): their events alone may claim a
   * reserved dataset (`palisade.*`), which the built-in rules trust. Every outside source
   * (HTTP ingest, syslog, replay) leaves it unset, so a forged sign-in is a dead letter.
   */
  internal?: boolean
}

export type RecordResult =
  | { index: number; status: 'stored'; id: string }
  /** Already stored by an earlier batch (or earlier in this one): kept once, not again. */
  | { index: number; status: 'duplicate'; id: string }
  /**
   * Acknowledged by the Kafka brokers (`acks=all`), for a worker to store (the Kafka
   * transport): a duplicate is dropped by the worker, not reported here.
   */
  | { index: number; status: 'accepted'; id: string }
  | {
      index: number
      status: 'dead_letter'
      dead_letter_id: string
      error: { code: string; message: string; path?: string }
    }

export interface BatchResult {
  results: RecordResult[]
  /** Records handed to Kafka for a worker (the Kafka transport only). */
  accepted?: number
  stored: number
  duplicates: number
  dead_lettered: number
  alerts: number
}

export interface Pipeline {
  process(batch: Batch): Promise<BatchResult>
  /** Stores the alerts of correlation windows that time has closed; returns how many. */
  tick(now?: Date): Promise<number>
  /**
   * The ingest sequence number of the last event detected on so far: the detectors' state
   * reflects exactly the events up to it, until the next batch is detected. `stored` settles
   * once every batch and tick detected up to it has stored its events and alerts: true, or
   * false if one failed. Read it, and the detectors' state, in one synchronous step.
   */
  detectedThrough(): { position: number; stored: Promise<boolean> }
  /**
   * Runs detection again on events already stored (after a restart, those after the last
   * checkpoint, in their ingest order) to bring the detectors' state up to date, and stores
   * the alerts that raises which are not stored yet: those the crash kept from being stored,
   * and none twice. Returns how many it stored.
   */
  redetect(events: PalisadeEvent[]): Promise<number>
}

/**
 * The embedded transport: a batch is normalised, detected on and stored inline, and the
 * caller is answered only after every event, dead letter and alert is in ClickHouse.
 *
 * - An event whose id is already stored is a duplicate: it is neither detected on nor stored
 *   again, so a resent batch changes nothing.
 * - A store that does not answer (or answers "later") rejects the whole batch, so the sender
 *   retries it.
 * - A store that refuses some rows as data gets the batch split until the refused records are
 *   found; those become dead letters with the store's reason and the rest is stored. One bad
 *   record never sinks its batch, and a refused batch is never retried forever.
 */
export function createPipeline(deps: {
  store: AnalyticsStore
  detector: Detector
  metrics?: Metrics
  /** The last ingest sequence number used before (stored, or in a checkpoint); default 0. */
  lastSeq?: number
  /** Called once a batch is stored, e.g. to checkpoint every so many batches. */
  afterBatch?: () => void
  /**
   * Called with the alerts just stored (by a batch, a tick or a redetection), once each, before
   * the batch (or tick) is answered, so whatever weighs alerts (zero-trust risk) knows of an
   * alert as soon as a query can find it.
   */
  onAlertsStored?: (alerts: Alert[]) => void
  /**
   * Data loss prevention: events are scanned after normalisation; detection sees the
   * originals (with `dlp.*` added) and only the policy's copies are stored. Dead letters and
   * alerts are redacted alike, and findings go to their own table. Absent: nothing is scanned.
   */
  dlp?: DlpRedactor
}): Pipeline {
  const { store, detector, metrics, dlp } = deps
  let lastSeq = deps.lastSeq ?? 0
  /** Batches and ticks that changed detection state and have not stored their results yet. */
  const unsettled = new Set<Promise<boolean>>()
  const track = (): ((ok: boolean) => void) => {
    let settle!: (ok: boolean) => void
    const done = new Promise<boolean>((resolve) => (settle = resolve))
    unsettled.add(done)
    void done.then(() => unsettled.delete(done))
    return settle
  }

  return {
    async process(batch) {
      const stopTimer = metrics?.batchSeconds.startTimer({ source: batch.source })
      const letters: DeadLetter[] = []
      const results: RecordResult[] = []
      const deadLetter = (
        record: ParsedRecord,
        reason: RecordError,
        actions: DlpActions | undefined = dlp?.actions(batch.source, ''),
      ): RecordResult => {
        let letter = toDeadLetter(batch, record, reason)
        // What is stored of a refused record is redacted by policy too: its bytes, and the
        // reason, which may quote the value it refused.
        if (dlp && actions) {
          letter = {
            ...letter,
            raw: dlp.redactText(letter.raw, actions),
            reason: dlp.redactText(letter.reason, actions),
          }
        }
        letters.push(letter)
        return {
          index: record.index,
          status: 'dead_letter',
          dead_letter_id: letter.id,
          error: reason,
        }
      }

      const valid: { record: ParsedRecord; event: PalisadeEvent; slot: number }[] = []
      for (const record of batch.records) {
        const outcome = record.error
          ? ({ ok: false, reason: record.error } as const)
          : normaliseRecord(record, {
              receivedAt: batch.receivedAt,
              internal: batch.internal === true,
            })
        if (outcome.ok) {
          valid.push({ record, event: outcome.event, slot: results.length })
          results.push({ index: record.index, status: 'stored', id: outcome.event.id })
        } else {
          results.push(deadLetter(record, outcome.reason))
        }
      }

      const stored = await findStoredIds(
        store,
        valid.map((v) => v.event.id),
      )
      let fresh: typeof valid = []
      for (const item of valid) {
        if (stored.has(item.event.id)) {
          results[item.slot] = { index: item.record.index, status: 'duplicate', id: item.event.id }
        } else {
          stored.add(item.event.id) // a second copy later in this batch is a duplicate too
          fresh.push(item)
        }
      }

      // DLP before detection, so rules can match `dlp.*`; detection keeps the originals.
      const storedCopy = new Map<(typeof valid)[number], PalisadeEvent>()
      const findings: EventFindings[] = []
      const replaced = new Map<string, string>()
      if (dlp) {
        const kept: typeof valid = []
        for (const item of fresh) {
          const outcome = dlp.applyToEvent(item.event, batch.source)
          const dataset = item.event.event?.dataset ?? ''
          if (outcome.findings.length > 0) {
            findings.push({
              eventId: item.event.id,
              timestamp: item.event['@timestamp'],
              source: batch.source,
              dataset,
              findings: outcome.findings,
            })
          }
          for (const [original, redacted] of outcome.replaced) replaced.set(original, redacted)
          if (outcome.blocked) {
            const what = outcome.findings
              .filter((f) => f.action === 'block')
              .map((f) => `${f.type} at ${f.path}`)
            results[item.slot] = deadLetter(
              item.record,
              {
                code: 'PAL_DLP_BLOCKED',
                message: `the DLP policy blocks events holding ${[...new Set(what)].join(', ')}`,
              },
              dlp.actions(batch.source, dataset),
            )
            continue
          }
          storedCopy.set(item, outcome.stored)
          kept.push(item)
        }
        fresh = kept
      }

      // Numbered in the order they are detected, in the same synchronous step, so a
      // checkpoint taken between two batches names exactly the events its state reflects.
      const sequence = new Map(fresh.map((f) => [f, ++lastSeq]))
      const alerts = detector.detect(fresh.map((f) => f.event))
      const settle = fresh.length > 0 ? track() : undefined
      const now = new Date()
      let kept: Alert[]
      try {
        // Events before alerts: an alert must never point at an event that is not stored.
        const refused = await insertIsolating(fresh, (items) =>
          insertEvents(
            store,
            items.map((i) => storedCopy.get(i) ?? i.event),
            now,
            items.map((i) => sequence.get(i)!),
          ),
        )
        const refusedIds = new Set<string>()
        for (const { item, error } of refused) {
          refusedIds.add(item.event.id)
          results[item.slot] = deadLetter(item.record, {
            code: 'PAL_STORE_REFUSED',
            message: `the analytics store refused this record: ${firstLine(error)}`,
          })
        }
        if (batch.writeDeadLetters !== false) await insertDeadLettersSafely(store, letters, now)
        kept = await newAlerts(
          store,
          alerts.filter((a) => a.event_ids.some((id) => !refusedIds.has(id))),
        )
        if (dlp) {
          const actions = dlp.actions(batch.source, '')
          kept = kept.map((alert) => dlp.redactAlert(alert, replaced, actions))
        }
        await insertAlerts(store, kept, now)
        await insertDlpFindings(
          store,
          findings.filter((f) => !refusedIds.has(f.eventId)),
          now,
        )
        if (kept.length > 0) deps.onAlertsStored?.(kept)
        settle?.(true)
      } catch (error) {
        settle?.(false)
        throw error
      }

      const counts = { stored: 0, duplicates: 0, dead_lettered: 0 }
      for (const r of results) {
        if (r.status === 'stored') counts.stored++
        else if (r.status === 'duplicate') counts.duplicates++
        else counts.dead_lettered++
      }
      metrics?.records.inc({ source: batch.source, outcome: 'stored' }, counts.stored)
      metrics?.records.inc({ source: batch.source, outcome: 'duplicate' }, counts.duplicates)
      metrics?.records.inc({ source: batch.source, outcome: 'dead_letter' }, counts.dead_lettered)
      for (const alert of kept) metrics?.alerts.inc({ kind: alert.rule.kind })
      stopTimer?.()
      deps.afterBatch?.()
      return { results, ...counts, alerts: kept.length }
    },

    async tick(now = new Date()) {
      const flushed = detector.flush(now.getTime())
      // Closing a window changes state too: a checkpoint must not hold it closed before its
      // alert is stored.
      const settle = flushed.length > 0 ? track() : undefined
      let alerts: Alert[]
      try {
        alerts = await newAlerts(store, flushed)
        if (dlp) {
          const actions = dlp.actions('', '')
          alerts = alerts.map((alert) => dlp.redactAlert(alert, new Map(), actions))
        }
        await insertAlerts(store, alerts, now)
        if (alerts.length > 0) deps.onAlertsStored?.(alerts)
        settle?.(true)
      } catch (error) {
        settle?.(false)
        throw error
      }
      for (const alert of alerts) metrics?.alerts.inc({ kind: alert.rule.kind })
      return alerts.length
    },

    detectedThrough() {
      const waiting = [...unsettled]
      return {
        position: lastSeq,
        stored: Promise.all(waiting).then((done) => done.every(Boolean)),
      }
    },

    async redetect(events) {
      const alerts = await newAlerts(store, detector.detect(events))
      await insertAlerts(store, alerts, new Date())
      if (alerts.length > 0) deps.onAlertsStored?.(alerts)
      for (const alert of alerts) metrics?.alerts.inc({ kind: alert.rule.kind })
      return alerts.length
    },
  }
}

type RecordError = { code: string; message: string; path?: string }

/**
 * The alerts not stored yet. An alert's id is deterministic, but after a restart the same
 * window can fire again on a different event, with a different time, which the table (keyed
 * by time and id) would keep as a second row; and a resent batch would count its alerts again.
 */
async function newAlerts(store: AnalyticsStore, alerts: Alert[]): Promise<Alert[]> {
  if (alerts.length === 0) return alerts
  const unique = [...new Map(alerts.map((a) => [a.id, a])).values()]
  const stored = await findStoredIds(
    store,
    unique.map((a) => a.id),
    'alerts',
  )
  return unique.filter((a) => !stored.has(a.id))
}

function toDeadLetter(batch: Batch, record: ParsedRecord, reason: RecordError): DeadLetter {
  return {
    id: newId(),
    received: batch.receivedAt.toISOString(),
    status: 'pending',
    source: batch.source,
    format: batch.format,
    stream: batch.stream,
    position: (batch.startPosition ?? 0) + record.index,
    reason_code: reason.code,
    reason: reason.message,
    path: reason.path ?? '',
    raw: record.raw,
  }
}

/**
 * Inserts `items`; when the store refuses them as data, splits the batch in halves until each
 * refused item stands alone, and returns those with the store's error. An insert is atomic in
 * ClickHouse, so a refused half left nothing behind. Errors that are not data refusals
 * propagate: the sender retries the whole batch.
 */
export async function insertIsolating<T>(
  items: T[],
  insert: (items: T[]) => Promise<void>,
): Promise<{ item: T; error: unknown }[]> {
  if (items.length === 0) return []
  try {
    await insert(items)
    return []
  } catch (error) {
    if (!isDataRefusal(error)) throw error
    if (items.length === 1) return [{ item: items[0]!, error }]
    const middle = Math.ceil(items.length / 2)
    return [
      ...(await insertIsolating(items.slice(0, middle), insert)),
      ...(await insertIsolating(items.slice(middle), insert)),
    ]
  }
}

/**
 * Dead letters are the last place a record can go, so a letter the store refuses is stored
 * again with its original bytes base64-encoded (the refusal is almost always about the text).
 */
async function insertDeadLettersSafely(store: AnalyticsStore, letters: DeadLetter[], now: Date) {
  const refused = await insertIsolating(letters, (items) => insertDeadLetters(store, items, now))
  if (refused.length === 0) return
  const encoded = refused.map(({ item, error }) => ({
    ...item,
    raw: Buffer.from(item.raw, 'utf8').toString('base64'),
    reason: `${item.reason} (stored base64-encoded: the store refused the text: ${firstLine(error)})`,
  }))
  await insertDeadLetters(store, encoded, now)
}

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error)
    .split('\n')[0]!
    .slice(0, 300)
}
