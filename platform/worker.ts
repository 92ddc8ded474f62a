import { mkdirSync } from 'node:fs'

import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { Counter } from 'prom-client'

import { registerCorrelationMetrics } from '../detectors/correlation-metrics.ts'
import { composeDetectors } from '../detectors/detector.ts'
import { startKafkaWorker } from '../detectors/kafka-worker.ts'
import type { KafkaWorker } from '../detectors/kafka-worker.ts'
import { createKafka } from '../ingest/kafka/kafka-connection.ts'
import { kafkaTopics } from '../ingest/kafka/kafka-topics.ts'
import { openDlpRedactor } from '../enrich/dlp/open-dlp-redactor.ts'
import { createPipeline } from '../ingest/pipeline.ts'
import { openAnalyticsStore } from './clickhouse/analytics-store.ts'
import type { AnalyticsStore } from './clickhouse/analytics-store.ts'
import type { PalisadeConfig } from './config/config-schema.ts'
import { PalisadeError } from './errors.ts'
import type { Alert } from './alert-model.ts'
import type { Logger } from './logger.ts'
import { createMetrics } from './metrics/metrics.ts'
import type { Metrics } from './metrics/metrics.ts'
import { openStateStore } from './state/state-store.ts'
import type { StateStore } from './state/state-store.ts'
import { startDetection } from './start-detection.ts'

/** A running `palisade worker`: a member of the workers' consumer group. */
export interface Worker {
  kafka: KafkaWorker
  /** `/metrics` and `/healthz`, when this worker serves them itself. */
  url?: string
  close(): Promise<void>
}

/**
 * Starts a worker: the Sigma (and anomaly) detectors, the pipeline that stores, and a Kafka
 * consumer feeding it (see `startKafkaWorker`). Inside `palisade start` it shares the engine's
 * store, state and metrics; as `palisade worker` it opens its own and serves `/metrics` and
 * `/healthz` on the API port.
 *
 * @throws PalisadeError `PAL_CONFIG_INVALID` when the transport is not Kafka
 */
export async function startWorker(
  config: PalisadeConfig,
  logger: Logger,
  shared?: {
    store: AnalyticsStore
    state: StateStore
    metrics: Metrics
    /** Told of the alerts this worker stores (`palisade start`'s zero-trust risk and playbooks). */
    onAlertsStored?: (alerts: Alert[]) => void
  },
): Promise<Worker> {
  if (config.transport.kind !== 'kafka') {
    throw new PalisadeError(
      'PAL_CONFIG_INVALID',
      `a worker consumes from Kafka: expected transport.kind kafka (PALISADE_TRANSPORT=kafka), ` +
        `got ${config.transport.kind}`,
      { status: 400 },
    )
  }
  const closers: (() => Promise<unknown>)[] = []
  try {
    let store = shared?.store
    let state = shared?.state
    if (!store || !state) {
      mkdirSync(config.dataDir, { recursive: true })
      store = await openAnalyticsStore({
        url: config.clickhouse.url,
        username: config.clickhouse.username,
        password: config.clickhouse.password,
        database: config.clickhouse.database,
        dataDir: config.dataDir,
        eventDays: config.retention.eventDays,
      })
      const opened = store
      closers.unshift(() => opened.close())
      state = await openStateStore({ url: config.state.url, dataDir: config.dataDir })
      const openedState = state
      closers.unshift(() => openedState.close())
    }
    const metrics = shared?.metrics ?? createMetrics()

    const { detector, anomaly } = await startDetection(config, state.db, logger, closers)
    if (!shared) {
      registerCorrelationMetrics(metrics.registry, detector, config.sigma.correlation.maxGroups)
    }

    const alertsByRule = new Counter({
      name: 'palisade_kafka_alerts_stored_total',
      help: 'Alerts this worker stored, by rule (a replayed alert already stored is not counted)',
      labelNames: ['rule_id'],
      registers: [metrics.registry],
    })
    // The pipeline is made before the consumer that feeds it; the alerts it stores are
    // published once the consumer (which owns the producer) exists.
    const started: { worker?: KafkaWorker } = {}
    // The workers store what Kafka carried, so they apply the DLP policy, as the embedded
    // pipeline does: detection sees the originals, the store only the policy's copies.
    const dlp = openDlpRedactor(config.dlp)
    const pipeline = createPipeline({
      store,
      ...(dlp ? { dlp } : {}),
      detector: anomaly ? composeDetectors(detector, anomaly.detector) : detector,
      metrics,
      onAlertsStored: (alerts) => {
        for (const alert of alerts) alertsByRule.inc({ rule_id: alert.rule.id })
        started.worker?.publishAlerts(alerts)
        shared?.onAlertsStored?.(alerts)
      },
    })
    const { kafka: kafkaConfig } = config.transport
    const workerLogger = logger.child({ component: 'worker' })
    const running = await startKafkaWorker({
      kafka: createKafka({
        brokers: kafkaConfig.brokers,
        clientId: `${kafkaConfig.clientId}-worker`,
        logger,
      }),
      topics: kafkaTopics(kafkaConfig.topicPrefix),
      groupId: kafkaConfig.groupId,
      sessionTimeoutMs: kafkaConfig.sessionTimeoutMs,
      heartbeatIntervalMs: kafkaConfig.heartbeatIntervalMs,
      keyFields: kafkaConfig.keyFields,
      pipeline,
      store,
      detector,
      ...(kafkaConfig.replayLookbackMs !== undefined
        ? { replayLookbackMs: kafkaConfig.replayLookbackMs }
        : {}),
      allowedLatenessMs: config.sigma.correlation.allowedLatenessMs,
      registry: metrics.registry,
      logger: workerLogger,
    })
    started.worker = running
    // Stopped first: the batch in hand is stored and committed before the store closes.
    closers.unshift(() => running.stop())

    // Windows with an upper bound are decided when they close, which wall-clock time decides
    // when no newer event arrives (as in the embedded engine).
    const ticker = setInterval(() => {
      pipeline
        .tick()
        .catch((error: unknown) => workerLogger.error({ err: error }, 'correlation tick failed'))
    }, 5_000)
    ticker.unref()
    closers.unshift(async () => clearInterval(ticker))

    let url: string | undefined
    if (!shared) {
      const app = await metricsApp(metrics)
      closers.unshift(() => app.close())
      url = await app.listen({ host: config.http.host, port: config.http.port })
    }
    return {
      kafka: running,
      ...(url ? { url } : {}),
      close: async () => {
        for (const close of closers) await close().catch(() => undefined)
      },
    }
  } catch (error) {
    for (const close of closers) await close().catch(() => undefined)
    throw error
  }
}

/** A worker serves no API: only what an orchestrator and Prometheus ask of it. */
async function metricsApp(metrics: Metrics): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType)
    return metrics.registry.metrics()
  })
  return app
}
