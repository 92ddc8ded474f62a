import { newId } from '../../platform/event-id.ts'
import type { Metrics } from '../../platform/metrics/metrics.ts'
import type { EventProducer, KeyedEnvelope } from '../event-producer.ts'
import { normaliseRecord } from '../normalise.ts'
import type { Pipeline, RecordResult } from '../pipeline.ts'
import { entityKey } from './entity-key.ts'
import type { DeadLetterEnvelope } from './message-envelope.ts'

/**
 * The Kafka transport's ingest side: a batch is normalised here (so the sender learns at once
 * which records are refused, and each event can be keyed by its detection entity), then its
 * events and dead letters are produced, and the caller is answered only once the brokers
 * acknowledged every message with `acks=all`. Detection and storage happen in the workers
 * (`createKafkaWorker`), which drop a redelivered or resent event by its id.
 *
 * @throws PalisadeError `PAL_TRANSPORT_UNAVAILABLE` (503, retriable) from `process` when the
 *   brokers did not acknowledge: nothing of the batch is acknowledged, the sender resends it
 */
export function createKafkaIngestPipeline(deps: {
  producer: EventProducer
  keyFields: readonly string[]
  metrics?: Metrics
}): Pipeline {
  const { producer, keyFields, metrics } = deps
  return {
    async process(batch) {
      const stopTimer = metrics?.batchSeconds.startTimer({ source: batch.source })
      const received = batch.receivedAt.toISOString()
      const events: KeyedEnvelope[] = []
      const letters: DeadLetterEnvelope[] = []
      const results: RecordResult[] = []
      for (const record of batch.records) {
        const position = (batch.startPosition ?? 0) + record.index
        const outcome = record.error
          ? ({ ok: false, reason: record.error } as const)
          : normaliseRecord(record, {
              receivedAt: batch.receivedAt,
              internal: batch.internal === true,
            })
        if (outcome.ok) {
          const event = outcome.event
          events.push({
            key: entityKey(event, keyFields),
            envelope: {
              v: 1,
              source: batch.source,
              format: batch.format,
              stream: batch.stream,
              position,
              received,
              ...(batch.internal ? { internal: true } : {}),
              raw: record.raw,
              event,
            },
          })
          results.push({ index: record.index, status: 'accepted', id: event.id })
          continue
        }
        const id = newId()
        const reason = outcome.reason
        if (batch.writeDeadLetters !== false) {
          letters.push({
            v: 1,
            letter: {
              id,
              received,
              status: 'pending',
              source: batch.source,
              format: batch.format,
              stream: batch.stream,
              position,
              reason_code: reason.code,
              reason: reason.message,
              path: reason.path ?? '',
              raw: record.raw,
            },
          })
        }
        results.push({
          index: record.index,
          status: 'dead_letter',
          dead_letter_id: id,
          error: reason,
        })
      }

      await producer.sendEnvelopes(events, letters)
      metrics?.records.inc({ source: batch.source, outcome: 'accepted' }, events.length)
      metrics?.records.inc({ source: batch.source, outcome: 'dead_letter' }, letters.length)
      stopTimer?.()
      return {
        results,
        accepted: events.length,
        stored: 0,
        duplicates: 0,
        dead_lettered: results.length - events.length,
        alerts: 0,
      }
    },

    // Detection runs in the workers: a gateway holds no window to close and no state to save.
    async tick() {
      return 0
    },

    detectedThrough() {
      return { position: 0, stored: Promise.resolve(true) }
    },

    async redetect() {
      return 0
    },
  }
}
