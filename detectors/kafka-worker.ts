import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs'
import { Counter, Gauge, Histogram } from 'prom-client'
import type { Registry } from 'prom-client'

import type { Batch, Pipeline } from '../ingest/pipeline.ts'
import { entityKey, partitionOf } from '../ingest/kafka/entity-key.ts'
import type { KafkaTopics } from '../ingest/kafka/kafka-topics.ts'
import {
  alertEnvelope,
  deadLetterEnvelope,
  decodeEnvelope,
  encodeEnvelope,
  eventEnvelope,
} from '../ingest/kafka/message-envelope.ts'
import type { EventEnvelope } from '../ingest/kafka/message-envelope.ts'
import type { Alert } from '../platform/alert-model.ts'
import type { AnalyticsStore } from '../platform/clickhouse/analytics-store.ts'
import { insertDeadLetters } from '../platform/clickhouse/dead-letter-repository.ts'
import type { DeadLetter } from '../platform/clickhouse/dead-letter-repository.ts'
import { readEventsStoredSince } from '../platform/clickhouse/event-repository.ts'
import { isDataRefusal } from '../platform/clickhouse/store-errors.ts'
import type { PalisadeError } from '../platform/errors.ts'
import { derivedId } from '../platform/event-id.ts'
import type { Logger } from '../platform/logger.ts'
import type { SigmaDetector } from './detector.ts'
import { emptyCorrelationState } from './sigma/correlation-engine.ts'

export interface KafkaWorkerOptions {
  kafka: Kafka
  topics: KafkaTopics
  groupId: string
  sessionTimeoutMs: number
  heartbeatIntervalMs: number
  keyFields: readonly string[]
  /** Detection and storage: the same pipeline the embedded transport runs. */
  pipeline: Pipeline
  store: AnalyticsStore
  detector: Pick<SigmaDetector, 'rules' | 'ruleSet'>
  /** How far back (time stored) a rebalance reads events again; default from the rules. */
  replayLookbackMs?: number
  allowedLatenessMs: number
  registry?: Registry
  logger: Logger
}

export interface KafkaWorker {
  /**
   * Where a worker's time went since start: in the batch handler as a whole, in the pipeline
   * (envelopes read, events normalised, detected on and stored) and in committing offsets.
   */
  stats(): {
    batches: number
    /** Pipeline runs: the batches of several partitions handed over together make one. */
    groups: number
    messages: number
    handlerMs: number
    pipelineMs: number
    commitMs: number
  }
  /** Called with the alerts a batch stored, to publish them (wired by `startKafkaWorker`). */
  publishAlerts(alerts: Alert[]): void
  /** Leaves the group once the batch in hand is stored and committed, then disconnects. */
  stop(): Promise<void>
}

interface Place {
  topic: string
  partition: number
}

interface PartitionBatch {
  messages: KafkaMessage[]
  place: Place
}

/** Longest pause after repeated store failures before a partition is tried again. */
const MAX_BACKOFF_MS = 30_000
/** Events read at a time when rebuilding correlation windows. */
const REPLAY_PAGE = 5_000

/**
 * A member of the workers' consumer group: reads event and dead-letter envelopes, runs each
 * batch through the pipeline (normalise, drop duplicates by id, detect, store), and commits a
 * partition's offsets only once its batch is stored. So a crash or a rebalance redelivers what
 * was not stored, and the id check drops what was.
 *
 * Correlation state follows partitions: whenever the group hands this worker its partitions
 * (at start, after another member joined, left or died) it forgets its windows and rebuilds
 * them from the events of its partitions stored within the lookback, before the next batch.
 * Alerts that replay raises again have the ids of those already stored and are not stored
 * twice; an alert the dead worker never stored is stored then.
 *
 * When the store fails, the partition is paused (nothing is buffered) and tried again after a
 * backoff; its offsets stay where they were, and the windows are rebuilt first, since the
 * failed batch was counted but perhaps not stored.
 */
export async function startKafkaWorker(options: KafkaWorkerOptions): Promise<KafkaWorker> {
  const { kafka, topics, pipeline, store, logger } = options
  const metrics = options.registry ? workerMetrics(options.registry) : undefined
  const consumer: Consumer = kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: options.sessionTimeoutMs,
    rebalanceTimeout: Math.max(options.sessionTimeoutMs, 10_000),
    heartbeatInterval: options.heartbeatIntervalMs,
    allowAutoTopicCreation: false,
    // Bounded prefetch: a slow store holds back fetching instead of filling memory.
    maxBytesPerPartition: 1024 * 1024,
    maxBytes: 8 * 1024 * 1024,
    // Each batch costs a few store round trips whatever its size, so under load a fetch waits
    // (at most 100 ms) for about a few hundred events per partition rather than a handful.
    minBytes: 128 * 1024,
    maxWaitTimeInMs: 100,
  })
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false })
  const admin = kafka.admin()
  await Promise.all([producer.connect(), admin.connect()])

  let assigned: number[] = []
  let resyncNeeded = true
  let partitionCount = 0
  const failures = new Map<number, number>()
  const stats = { batches: 0, groups: 0, messages: 0, handlerMs: 0, pipelineMs: 0, commitMs: 0 }

  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    assigned = [...(event.payload.memberAssignment[topics.events] ?? [])].sort((a, b) => a - b)
    resyncNeeded = true
    metrics?.assigned.set(assigned.length)
    logger.info(
      { partitions: assigned, generation_member: event.payload.memberId },
      'joined the worker group',
    )
  })
  let stopping = false
  consumer.on(consumer.events.CRASH, (event) => {
    const { error, restart } = event.payload
    logger.error({ err: error, restart }, 'the Kafka consumer crashed')
    // kafkajs restarts itself only after a retriable error. A worker that stopped consuming
    // while its process lives would hold no partition and alert on nothing, so it rejoins.
    // (Debian's librdkafka 2.0.2 mock cluster refuses a follower's SyncGroup that arrives after
    // the leader's with INVALID_REQUEST, which is where this was first seen.)
    if (!restart && !stopping) setTimeout(() => void consume(), 1_000).unref()
  })

  const lookbackMs =
    options.replayLookbackMs ??
    Math.max(0, ...options.detector.ruleSet.correlations.map((c) => c.timespanMs)) +
      options.allowedLatenessMs

  /** Forgets every window and rebuilds those of the assigned partitions from the store. */
  async function resync(): Promise<void> {
    const started = Date.now()
    const { rules } = options.detector
    rules.restore(emptyCorrelationState(), {})
    if (partitionCount === 0) {
      const [meta] = (await admin.fetchTopicMetadata({ topics: [topics.events] })).topics
      partitionCount = meta?.partitions.length ?? 0
    }
    const mine = new Set(assigned)
    let replayed = 0
    let alerts = 0
    if (lookbackMs > 0 && mine.size > 0 && partitionCount > 0) {
      const since = new Date(Date.now() - lookbackMs)
      for (let offset = 0; ; offset += REPLAY_PAGE) {
        const page = await readEventsStoredSince(store, since, REPLAY_PAGE, offset)
        const ours = page.filter((event) => {
          const key = entityKey(event, options.keyFields)
          return key !== null && mine.has(partitionOf(key, partitionCount))
        })
        if (ours.length > 0) alerts += await pipeline.redetect(ours)
        replayed += ours.length
        if (page.length < REPLAY_PAGE) break
      }
    }
    resyncNeeded = false
    metrics?.resyncs.inc()
    metrics?.replayed.inc(replayed)
    logger.info(
      {
        partitions: [...mine],
        lookback_ms: lookbackMs,
        replayed_events: replayed,
        alerts_stored: alerts,
        ms: Date.now() - started,
      },
      'correlation windows rebuilt for the assigned partitions',
    )
  }

  async function handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload
    if (batch.isEmpty()) return
    const started = performance.now()
    const place = { topic: batch.topic, partition: batch.partition }
    try {
      if (batch.topic === topics.deadLetters) {
        await measured(() => storeDeadLetters(batch.messages, place))
      } else {
        await storeWithOthers(batch.messages, place)
      }
    } catch (error) {
      // The store (or the state it reads) failed: keep the offsets, pause this partition,
      // and rebuild the windows before trying again (the batch was counted, maybe not stored).
      resyncNeeded = true
      const attempt = (failures.get(batch.partition) ?? 0) + 1
      failures.set(batch.partition, attempt)
      const backoff = Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(attempt, 10))
      logger.error(
        { err: error, ...place, attempt, retry_in_ms: backoff },
        'a batch could not be stored: its partition pauses and its offsets stay uncommitted',
      )
      metrics?.storeFailures.inc()
      const resume = payload.pause()
      setTimeout(resume, backoff).unref()
      return
    }
    failures.delete(batch.partition)

    const last = batch.lastOffset()
    payload.resolveOffset(last)
    const commitStarted = performance.now()
    await consumer.commitOffsets([
      { topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() },
    ])
    stats.commitMs += performance.now() - commitStarted
    stats.batches++
    stats.messages += batch.messages.length
    stats.handlerMs += performance.now() - started
    metrics?.batchMessages.observe({ topic: batch.topic }, batch.messages.length)
    metrics?.lag.set(
      { topic: batch.topic, partition: String(batch.partition) },
      Number(batch.offsetLag()),
    )
  }

  /** Times a step of the pipeline, for `stats()` and `palisade_kafka_store_seconds`. */
  async function measured(step: () => Promise<void>): Promise<void> {
    const stepStarted = performance.now()
    await step()
    stats.pipelineMs += performance.now() - stepStarted
    metrics?.storeSeconds.observe((performance.now() - stepStarted) / 1000)
  }

  // kafkajs hands over one batch per partition, and each pipeline batch costs a few store
  // round trips whatever its size; so the batches of several partitions handed over in the
  // same turn are stored together, one group at a time, and each then commits its own offsets.
  let gathering: { items: PartitionBatch[]; done: Promise<void> } | undefined
  let storing: Promise<void> = Promise.resolve()

  function storeWithOthers(messages: KafkaMessage[], place: Place): Promise<void> {
    if (!gathering) {
      const group: { items: PartitionBatch[]; done: Promise<void> } = {
        items: [],
        done: Promise.resolve(),
      }
      gathering = group
      group.done = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        if (gathering === group) gathering = undefined
        const run = storing.then(() =>
          measured(async () => {
            if (resyncNeeded) await resync()
            stats.groups++
            await processEvents(group.items)
          }),
        )
        storing = run.catch(() => undefined)
        return run
      })
    }
    gathering.items.push({ messages, place })
    return gathering.done
  }

  async function processEvents(items: PartitionBatch[]): Promise<void> {
    const refused: DeadLetter[] = []
    const runs = new Map<string, Batch>()
    for (const { messages, place } of items) {
      for (const message of messages) {
        let envelope: EventEnvelope
        try {
          envelope = decodeEnvelope(eventEnvelope, message.value, {
            ...place,
            offset: message.offset,
          })
        } catch (error) {
          refused.push(envelopeLetter(error as PalisadeError, message, place))
          continue
        }
        // Records that arrived together (one request, one stream) run as one pipeline batch.
        const key = [
          envelope.source,
          envelope.format,
          envelope.stream,
          envelope.received,
          envelope.internal === true,
        ].join('\u0000')
        let run = runs.get(key)
        if (!run) {
          run = {
            records: [],
            source: envelope.source,
            format: envelope.format,
            stream: envelope.stream,
            receivedAt: new Date(envelope.received),
            startPosition: 0,
            ...(envelope.internal ? { internal: true } : {}),
          }
          runs.set(key, run)
        }
        // The index is the record's position in its stream, which a dead letter keeps.
        run.records.push({ index: envelope.position, raw: envelope.raw, event: envelope.event })
      }
    }
    for (const run of runs.values()) await pipeline.process(run)
    if (refused.length > 0) await insertDeadLetters(store, refused, new Date())
  }

  async function storeDeadLetters(
    messages: KafkaMessage[],
    place: { topic: string; partition: number },
  ): Promise<void> {
    const letters: DeadLetter[] = []
    for (const message of messages) {
      try {
        const { letter } = decodeEnvelope(deadLetterEnvelope, message.value, {
          ...place,
          offset: message.offset,
        })
        letters.push(letter)
      } catch (error) {
        letters.push(envelopeLetter(error as PalisadeError, message, place))
      }
    }
    try {
      await insertDeadLetters(store, letters, new Date())
    } catch (error) {
      if (!isDataRefusal(error)) throw error
      // The last place a record can go: kept base64-encoded rather than retried forever.
      await insertDeadLetters(
        store,
        letters.map((l) => ({ ...l, raw: Buffer.from(l.raw, 'utf8').toString('base64') })),
        new Date(),
      )
    }
  }

  async function consume(): Promise<void> {
    try {
      if (stopping) return
      await consumer.connect()
      await consumer.subscribe({
        topics: [topics.events, topics.deadLetters],
        fromBeginning: true,
      })
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        // Batches of different partitions handed over together are stored together.
        partitionsConsumedConcurrently: 16,
        eachBatch: handleBatch,
      })
    } catch (error) {
      logger.error({ err: error }, 'the Kafka consumer could not start; trying again')
      if (!stopping) setTimeout(() => void consume(), 1_000).unref()
    }
  }
  await consume()

  return {
    stats: () => ({ ...stats }),
    publishAlerts(alerts) {
      producer
        .send({
          topic: topics.alerts,
          acks: -1,
          messages: alerts.map((alert) => ({
            key: alert.entity ? `${alert.entity.kind}=${alert.entity.value}` : alert.rule.id,
            value: encodeEnvelope(alertEnvelope, { v: 1, alert }),
          })),
        })
        .catch((error: unknown) => {
          // The alert is stored (and queryable); only its copy on the alerts topic is missing.
          metrics?.alertPublishFailures.inc(alerts.length)
          logger.warn(
            { err: error, alerts: alerts.length },
            'stored alerts could not be published to the alerts topic',
          )
        })
    },
    async stop() {
      stopping = true
      await consumer.disconnect()
      await Promise.allSettled([producer.disconnect(), admin.disconnect()])
    },
  }
}

/**
 * A message that is not a valid envelope becomes a dead letter with the reason and its bytes,
 * under an id derived from where it was read, so a redelivery stores it once.
 */
function envelopeLetter(
  error: PalisadeError,
  message: KafkaMessage,
  place: { topic: string; partition: number },
): DeadLetter {
  if (error?.code !== 'PAL_KAFKA_ENVELOPE_INVALID') throw error
  const where = `${place.topic}\u0000${place.partition}\u0000${message.offset}`
  return {
    id: derivedId('kafka-message', where),
    received: new Date(Number(message.timestamp) || Date.now()).toISOString(),
    status: 'pending',
    source: 'kafka',
    format: 'envelope',
    stream: `${place.topic}[${place.partition}]`,
    position: Number(message.offset),
    reason_code: error.code,
    reason: error.message,
    path: String(error.context.path ?? ''),
    raw: message.value?.toString('utf8') ?? '',
  }
}

function workerMetrics(registry: Registry) {
  return {
    assigned: new Gauge({
      name: 'palisade_kafka_assigned_partitions',
      help: 'Partitions of the events topic the group gave this worker at its last join',
      registers: [registry],
    }),
    lag: new Gauge({
      name: 'palisade_kafka_consumer_lag',
      help: 'Messages behind the high watermark, per partition, after the last batch stored',
      labelNames: ['topic', 'partition'],
      registers: [registry],
    }),
    batchMessages: new Histogram({
      name: 'palisade_kafka_batch_messages',
      help: 'Messages per batch a worker stored and committed',
      labelNames: ['topic'],
      buckets: [1, 10, 50, 100, 500, 1000, 5000],
      registers: [registry],
    }),
    storeSeconds: new Histogram({
      name: 'palisade_kafka_store_seconds',
      help: 'Time to detect on and store one batch read from Kafka',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    storeFailures: new Counter({
      name: 'palisade_kafka_store_failures_total',
      help: 'Batches whose storing failed: their partition paused, offsets not committed',
      registers: [registry],
    }),
    resyncs: new Counter({
      name: 'palisade_kafka_resyncs_total',
      help: 'Times correlation windows were rebuilt from the store (assignment, store failure)',
      registers: [registry],
    }),
    replayed: new Counter({
      name: 'palisade_kafka_replayed_events_total',
      help: 'Stored events fed through detection again to rebuild correlation windows',
      registers: [registry],
    }),
    alertPublishFailures: new Counter({
      name: 'palisade_kafka_alert_publish_failures_total',
      help: 'Stored alerts that could not be copied to the alerts topic',
      registers: [registry],
    }),
  }
}
