import type { ClickHouseSettings } from '@clickhouse/client'

import { huntAlertId, type Alert } from '../../platform/alert-model.ts'
import { insertAlerts } from '../../platform/clickhouse/alert-repository.ts'
import type { AnalyticsStore } from '../../platform/clickhouse/analytics-store.ts'
import type { PalisadeEvent } from '../../platform/event-model.ts'
import {
  correlationAlertFromRow,
  type CorrelationSqlRow,
} from '../sigma/compile-correlation-sql.ts'
import { mainActor } from '../sigma/rule-set.ts'
import {
  batchQuery,
  correlationQuery,
  huntQuerySettings,
  type HuntPlan,
  type HuntRule,
} from './hunt-plan.ts'
import { planSlices } from './hunt-slices.ts'
import { routeKeysIn } from './slice-routes.ts'

/** How far a hunt has got. */
export interface HuntProgress {
  slices: { done: number; total: number }
  events: { done: number; total: number }
  /**
   * Queries done of all the hunt may send (one per batch of rules and slice; a batch whose
   * routes no event of the slice is on is done without one; then one per correlation, after
   * the slices): they move while a slice is read, so a bar can follow them.
   */
  queries: { done: number; total: number }
  /** Alerts written so far: one per rule and event it matched, and one per correlation's. */
  matches: number
}

export interface RunHuntOptions {
  store: AnalyticsStore
  /** Part of every alert's id, so running the same hunt again writes the same alerts. */
  huntId: string
  plan: HuntPlan
  /** Epoch milliseconds, `from` included, `to` not. */
  from: number
  to: number
  /**
   * Most events a slice holds (one millisecond holding more is one slice); default 250,000.
   * Large, because each query first costs ClickHouse a second or two of analysis for a batch
   * of SigmaHQ rules, whatever the number of events it then reads.
   */
  maxSliceEvents?: number
  /**
   * Stops the hunt: between slices and between the queries of a slice, and the query running
   * at the time (a ClickHouse server cancels it; embedded chDB lets it finish in the
   * background and the hunt stops waiting for it).
   */
  signal?: AbortSignal
  /** Called once the slices are known, after each query, and after each slice is stored. */
  onProgress?: (progress: HuntProgress) => void | Promise<void>
  /** When the alerts are said to be made; defaults to now. */
  now?: () => Date
}

export interface HuntOutcome {
  state: 'done' | 'cancelled'
  progress: HuntProgress
}

/**
 * Runs a planned hunt over the events stored in `[from, to)`, one time slice at a time, and
 * writes each match as an alert marked as a hunt's (`origin: 'hunt'`, `hunt_id`), with the
 * rule id, version, level and tags and the entity the stream's alert for the same event would
 * have. The alerts of each slice are stored before the next slice starts, so a cancelled hunt
 * keeps what it found. Then each correlation is one query over the whole range (its windows
 * cross the slices), whose alerts are the stream's for the same events, marked alike.
 *
 * @throws whatever the store throws (the alerts of the slices done stay stored)
 */
export async function runHunt(options: RunHuntOptions): Promise<HuntOutcome> {
  const { store, plan, signal } = options
  const now = options.now ?? (() => new Date())
  const maxSliceEvents = options.maxSliceEvents ?? 250_000
  const progress: HuntProgress = {
    slices: { done: 0, total: 0 },
    events: { done: 0, total: 0 },
    queries: { done: 0, total: 0 },
    matches: 0,
  }
  // A server cancels a read-only query whose client went away only when asked to; chDB has
  // no such setting to take (and no way to stop a query once started).
  const settings: ClickHouseSettings = store.embedded
    ? huntQuerySettings
    : { ...huntQuerySettings, cancel_http_readonly_queries_on_client_close: 1 }
  const cancelled = (): HuntOutcome => ({ state: 'cancelled', progress })
  if (signal?.aborted) return cancelled()

  let slices
  try {
    slices = await planSlices(store, options.from, options.to, maxSliceEvents, signal)
  } catch (error) {
    if (signal?.aborted) return cancelled()
    throw error
  }
  progress.slices.total = slices.length
  progress.events.total = slices.reduce((n, s) => n + s.events, 0)
  progress.queries.total =
    slices.filter((s) => s.events > 0).length * plan.batches.length + plan.correlations.length
  await options.onProgress?.(structuredClone(progress))

  for (const slice of slices) {
    if (signal?.aborted) return cancelled()
    // By id: one event stored twice (a redelivery not yet merged) is one alert.
    const alerts = new Map<string, Alert>()
    if (slice.events > 0) {
      let present: Set<string>
      try {
        present = await routeKeysIn(store, slice, signal)
      } catch (error) {
        if (signal?.aborted) return cancelled()
        throw error
      }
      for (const batch of plan.batches) {
        if (signal?.aborted) return cancelled()
        if (!batch.keys.some((k) => present.has(k))) {
          progress.queries.done++
          continue
        }
        let rows: Record<string, unknown>[]
        try {
          const result = await store.client.query({
            query: batchQuery(batch, store.database),
            query_params: { ...batch.params, hunt_from: slice.start, hunt_to: slice.end },
            format: 'JSONEachRow',
            clickhouse_settings: settings,
            ...(signal ? { abort_signal: signal } : {}),
          })
          rows = await result.json<Record<string, unknown>>()
        } catch (error) {
          if (signal?.aborted) return cancelled()
          throw error
        }
        for (const row of rows) {
          const event = JSON.parse(String(row['event'])) as PalisadeEvent
          batch.rules.forEach((rule, i) => {
            if (!Number(row[`r${i}`])) return
            const alert = huntAlert(options.huntId, rule, event)
            alerts.set(alert.id, alert)
          })
        }
        progress.queries.done++
        await options.onProgress?.(structuredClone(progress))
      }
    }
    // Stored even when the hunt was cancelled meanwhile: what a finished query found is kept.
    await insertAlerts(store, [...alerts.values()], now())
    progress.slices.done++
    progress.events.done += slice.events
    progress.matches += alerts.size
    await options.onProgress?.(structuredClone(progress))
  }

  for (const hunted of plan.correlations) {
    if (signal?.aborted) return cancelled()
    const { sql, params } = correlationQuery(hunted, store.database, options.from, options.to)
    let rows: CorrelationSqlRow[]
    try {
      const result = await store.client.query({
        query: sql,
        query_params: params,
        format: 'JSONEachRow',
        clickhouse_settings: settings,
        ...(signal ? { abort_signal: signal } : {}),
      })
      rows = await result.json<CorrelationSqlRow>()
    } catch (error) {
      if (signal?.aborted) return cancelled()
      throw error
    }
    const alerts = new Map<string, Alert>()
    for (const row of rows) {
      const alert = huntCorrelationAlert(
        options.huntId,
        correlationAlertFromRow(row, hunted.correlation),
      )
      alerts.set(alert.id, alert)
    }
    await insertAlerts(store, [...alerts.values()], now())
    progress.queries.done++
    progress.matches += alerts.size
    await options.onProgress?.(structuredClone(progress))
  }
  return { state: 'done', progress }
}

/**
 * The stream's alert for a correlation's window, as a hunt's: the same rule, version, entity,
 * events and time, under the hunt's id scheme with the stream's alert id as what makes it
 * unique (that id already names the group and the window).
 */
export function huntCorrelationAlert(huntId: string, stream: Alert): Alert {
  return {
    ...stream,
    id: huntAlertId(huntId, stream.rule.id, stream.rule.version, stream.id),
    origin: 'hunt',
    hunt_id: huntId,
  }
}

/** A hunt's alert for one rule and event, shaped as the stream's (`RuleSet.alertsFor`). */
export function huntAlert(huntId: string, rule: HuntRule, event: PalisadeEvent): Alert {
  return {
    id: huntAlertId(huntId, rule.id, rule.version, event.id),
    '@timestamp': event['@timestamp'],
    rule: { id: rule.id, version: rule.version, title: rule.title, kind: 'sigma' },
    level: rule.level,
    tags: rule.tags,
    entity: mainActor(event),
    event_ids: [event.id],
    message: rule.title,
    origin: 'hunt',
    hunt_id: huntId,
  }
}
