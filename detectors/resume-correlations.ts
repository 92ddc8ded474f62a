import type { Pipeline } from '../ingest/pipeline.ts'
import type { AnalyticsStore } from '../platform/clickhouse/analytics-store.ts'
import { readEventsAfter } from '../platform/clickhouse/event-repository.ts'
import type { Logger } from '../platform/logger.ts'
import type { StreamCheckpoint } from '../platform/state/stream-checkpoints.ts'
import type { SavedCorrelations } from './correlation-checkpointer.ts'
import type { SigmaDetector } from './detector.ts'
import { emptyCorrelationState } from './sigma/correlation-engine.ts'

export interface ResumedCorrelations {
  /** The ingest position of the checkpoint resumed from (0: none). */
  position: number
  /** The last ingest position fed again (the checkpoint's when nothing came after it). */
  replayedThrough: number
  /** Events stored after the checkpoint and fed through detection again. */
  replayed: number
  /** Alerts that replay stored: ones a crash kept from being stored. */
  alerts: number
  /** Correlations whose saved state was dropped: they changed, or are gone. */
  dropped: string[]
}

/**
 * Brings correlation state to where it was when the engine stopped: loads the last
 * checkpoint into the detector, then reads the events stored after its position from the
 * analytics store, in the order they were detected, and feeds them through detection again
 * (storing only alerts not stored yet; an alert's id is deterministic). Run it before the
 * engine accepts traffic, so no new event overtakes the ones replayed.
 *
 * A checkpoint of another state version is ignored (windows start empty, events after it
 * are still replayed) and so are the windows of correlations whose version changed since it
 * was written; both are logged as warnings.
 */
export async function resumeCorrelations(deps: {
  checkpoint: StreamCheckpoint | null
  store: AnalyticsStore
  detector: Pick<SigmaDetector, 'rules'>
  pipeline: Pick<Pipeline, 'redetect'>
  logger: Logger
  /** Events read and detected at a time. */
  pageSize?: number
}): Promise<ResumedCorrelations> {
  const { checkpoint, store, detector, pipeline, logger } = deps
  const pageSize = deps.pageSize ?? 5000
  const position = checkpointPosition(checkpoint, logger)
  const dropped = checkpoint ? restoreState(checkpoint, detector, logger) : []

  let replayed = 0
  let alerts = 0
  let after = position
  const seen = new Set<string>()
  for (;;) {
    const page = await readEventsAfter(store, after, pageSize)
    if (page.length === 0) break
    after = page.at(-1)!.seq
    const events = page.filter((r) => !seen.has(r.event.id) && seen.add(r.event.id))
    alerts += await pipeline.redetect(events.map((r) => r.event))
    replayed += events.length
  }

  const resumed = { position, replayedThrough: after, replayed, alerts, dropped }
  logger.info(
    {
      checkpoint_position: position,
      replayed_through: after,
      replayed_events: replayed,
      alerts_stored: alerts,
      correlation_state_dropped: dropped.length,
    },
    checkpoint
      ? 'correlation state resumed from its checkpoint and the events stored after it'
      : 'no correlation checkpoint yet: events stored since the first start were replayed',
  )
  return resumed
}

function checkpointPosition(checkpoint: StreamCheckpoint | null, logger: Logger): number {
  if (!checkpoint) return 0
  const position = Number(checkpoint.position)
  if (Number.isSafeInteger(position) && position >= 0) return position
  logger.warn(
    { stream: checkpoint.stream, position: checkpoint.position.slice(0, 40) },
    'correlation checkpoint position is not an ingest sequence number: replaying from the start',
  )
  return 0
}

/** Loads the saved state into the detector; returns the correlations whose state it dropped. */
function restoreState(
  checkpoint: StreamCheckpoint,
  detector: Pick<SigmaDetector, 'rules'>,
  logger: Logger,
): string[] {
  const expected = emptyCorrelationState().version
  let saved: Partial<SavedCorrelations> | undefined
  try {
    saved = JSON.parse(checkpoint.state) as Partial<SavedCorrelations>
  } catch {
    saved = undefined
  }
  const version = saved?.correlator?.version
  if (!saved?.correlator || typeof saved.versions !== 'object' || version !== expected) {
    logger.warn(
      { written_at: checkpoint.writtenAt, version, expected },
      `correlation checkpoint ignored: expected correlation state version ${expected}, ` +
        `got ${JSON.stringify(version)}; open windows start empty`,
    )
    return []
  }

  const dropped = detector.rules.restore(saved.correlator, saved.versions ?? {})
  if (dropped.length > 0) {
    logger.warn(
      { correlations: dropped, written_at: checkpoint.writtenAt },
      'correlation checkpoint: the open windows of correlations changed or removed since ' +
        'it was written are dropped; they start empty',
    )
  }
  return dropped
}
