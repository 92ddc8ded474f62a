import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import type { FastifyInstance } from 'fastify'
import { Counter, Gauge } from 'prom-client'

import { buildApp } from '../api/app.ts'
import { accessRoutes } from '../api/routes/access-routes.ts'
import { responseRoutes } from '../api/routes/response-routes.ts'
import { auditExportRoutes } from '../api/routes/audit-routes.ts'
import { huntRoutes } from '../api/routes/hunt-routes.ts'
import { ruleRoutes } from '../api/routes/rule-routes.ts'
import type { AuditLog } from '../audit/audit-log.ts'
import { AuthEvents } from '../auth/auth-events.ts'
import { SecretBox } from '../auth/secret-box.ts'
import { ClickHouseCheckpointStore } from '../audit/checkpoint-store.ts'
import type { CheckpointStore } from '../audit/checkpoint-store.ts'
import { Checkpointer } from '../audit/checkpointer.ts'
import { clickHouseEntryReader, ExportJobs } from '../audit/export/export-jobs.ts'
import { openAuditLog } from '../audit/merkle-audit-log.ts'
import type { MerkleAuditLog } from '../audit/merkle-audit-log.ts'
import type { CheckpointSigner } from '../audit/signers/checkpoint-signer.ts'
import { openCheckpointSigner } from '../audit/signers/open-checkpoint-signer.ts'
import { signerFailureAlert } from '../audit/signer-failure-alert.ts'
import { auditStartup } from '../audit/startup-audit.ts'
import { AccessControl } from '../auth/zero-trust/access-control.ts'
import { loadPlaybooks } from '../auth/zero-trust/playbook-schema.ts'
import { Responder } from '../auth/zero-trust/responder.ts'
import { CorrelationCheckpointer, EMBEDDED_STREAM } from '../detectors/correlation-checkpointer.ts'
import { registerCorrelationMetrics } from '../detectors/correlation-metrics.ts'
import { composeDetectors } from '../detectors/detector.ts'
import { HuntJobs } from '../detectors/hunts/hunt-jobs.ts'
import { resumeCorrelations } from '../detectors/resume-correlations.ts'
import { loadMappings } from '../detectors/sigma/load-mappings.ts'
import { EventProducer } from '../ingest/event-producer.ts'
import { createKafkaIngestPipeline } from '../ingest/kafka/kafka-ingest-pipeline.ts'
import { openDlpRedactor } from '../enrich/dlp/open-dlp-redactor.ts'
import { createPipeline } from '../ingest/pipeline.ts'
import type { Pipeline } from '../ingest/pipeline.ts'
import { startSyslogListeners } from '../ingest/sources/syslog-listener.ts'
import type { SyslogListeners } from '../ingest/sources/syslog-listener.ts'
import { insertAlerts } from './clickhouse/alert-repository.ts'
import { openAnalyticsStore } from './clickhouse/analytics-store.ts'
import { lastIngestSeq } from './clickhouse/event-repository.ts'
import type { AnalyticsStore } from './clickhouse/analytics-store.ts'
import type { PalisadeConfig } from './config/config-schema.ts'
import { PalisadeError } from './errors.ts'
import type { Logger } from './logger.ts'
import { createMetrics } from './metrics/metrics.ts'
import { countTokens, createToken } from './state/api-tokens.ts'
import { openStateStore } from './state/state-store.ts'
import { readStreamCheckpoint } from './state/stream-checkpoints.ts'
import type { StateStore } from './state/state-store.ts'
import { packageInfo } from './package-info.ts'
import { startDetection } from './start-detection.ts'
import { startWorker } from './worker.ts'
import type { Worker } from './worker.ts'

/** A running all-in-one Palisade: API, syslog listeners, pipeline and stores in one process. */
export interface Engine {
  app: FastifyInstance
  store: AnalyticsStore
  state: StateStore
  /** The audit log every security-relevant action is recorded in. */
  audit: MerkleAuditLog
  /** The one key that signs the audit log's checkpoints. */
  signer: CheckpointSigner
  /** Signs checkpoints every `audit.checkpoint.everyEntries` entries or `everySeconds`. */
  checkpointer: Checkpointer
  checkpoints: CheckpointStore
  /** Signed audit exports, written one at a time to `<dataDir>/exports/<id>/`. */
  exports: ExportJobs
  /** Hunts over stored events, run one at a time. */
  hunts: HuntJobs
  /** Zero-trust decisions, their policies and the risk they weigh. */
  access: AccessControl
  /** Response playbooks acting on stored alerts. */
  responder: Responder
  pipeline: Pipeline
  syslog: SyslogListeners
  /** Where the API listens, e.g. `http://127.0.0.1:8470`. */
  url: string
  /** Path of the admin token file, if there is one in the data dir. */
  adminTokenFile?: string
  /** True when this start made the admin token (a fresh instance). */
  adminTokenCreated: boolean
  /** The worker `start` runs beside the API when the transport is Kafka. */
  worker?: Worker
  close(): Promise<void>
}

/**
 * What a process runs (DESIGN.md, "Two ways to run"). `all` (`palisade start`) is everything
 * in one process, whatever the transport. With the Kafka transport, `ingest` is the API and
 * the syslog listeners producing to Kafka, and `api` the API alone (its `POST /v1/events`
 * produces to Kafka too); neither detects, which `palisade worker` processes do.
 */
export type EngineRole = 'all' | 'ingest' | 'api'

/** What a process runs, and what a test may set that configuration does not. */
export interface EngineOptions {
  /** `all` by default (`palisade start`). */
  role?: EngineRole
  /** The clock zero-trust decisions and risk decay read; tests move it instead of sleeping. */
  now?: () => Date
}

export async function startEngine(
  config: PalisadeConfig,
  logger: Logger,
  options: EngineOptions = {},
): Promise<Engine> {
  const role = options.role ?? 'all'
  const kafka = config.transport.kind === 'kafka'
  if (role !== 'all' && !kafka) {
    throw new PalisadeError(
      'PAL_CONFIG_INVALID',
      `the ${role} role hands events to workers over Kafka: expected transport.kind kafka ` +
        `(PALISADE_TRANSPORT=kafka with PALISADE_KAFKA_BROKERS), got ${config.transport.kind}; ` +
        'palisade start runs everything in one process without Kafka',
      { status: 400 },
    )
  }
  mkdirSync(config.dataDir, { recursive: true })
  const store = await openAnalyticsStore({
    url: config.clickhouse.url,
    username: config.clickhouse.username,
    password: config.clickhouse.password,
    database: config.clickhouse.database,
    dataDir: config.dataDir,
    eventDays: config.retention.eventDays,
  })
  const state = await openStateStore({ url: config.state.url, dataDir: config.dataDir })
  const closers: (() => Promise<unknown>)[] = [() => store.close(), () => state.close()]

  try {
    const audit = await openAuditLog({ store, state })
    closers.unshift(() => audit.drain())
    const metrics = createMetrics()
    const auditLogger = logger.child({ component: 'audit' })
    const signer = await openCheckpointSigner(config.audit.signer, {
      dataDir: config.dataDir,
      logger: auditLogger,
    })
    closers.unshift(() => signer.close())
    if (signer.kind === 'software') {
      auditLogger.warn(
        { key_id: signer.keyId, fingerprint: signer.fingerprint() },
        'audit checkpoints are signed by a software key in the data dir: development only',
      )
    }
    const signerFailures = new Counter({
      name: 'palisade_audit_signer_failures_total',
      help: 'Times the audit checkpoint signer started failing (once per outage and error code)',
      labelNames: ['code'],
      registers: [metrics.registry],
    })
    const checkpoints = new ClickHouseCheckpointStore(store)
    const checkpointer = await Checkpointer.open({
      log: audit,
      signer,
      store: checkpoints,
      everyEntries: config.audit.checkpoint.everyEntries,
      everySeconds: config.audit.checkpoint.everySeconds,
      onSignerFailure: async (error, { treeSize }) => {
        signerFailures.inc({ code: error.code })
        auditLogger.error(
          { code: error.code, retriable: error.retriable, key_id: signer.keyId },
          'the audit checkpoint signer failed; checkpoints wait as pending',
        )
        const now = new Date()
        await insertAlerts(store, [signerFailureAlert(error, signer, treeSize, now)], now)
      },
      logger: auditLogger,
    })
    checkpointer.start()
    closers.unshift(() => checkpointer.stop())

    const adminTokenCreated = await bootstrapAdminToken(state, audit, config.dataDir)
    const adminTokenFile = existsSync(adminTokenPath(config.dataDir))
      ? adminTokenPath(config.dataDir)
      : undefined
    const correlationCheckpoint = config.sigma.correlation.checkpoint
    const { detector, anomaly, detectorLogger } = await startDetection(
      config,
      state.db,
      logger,
      closers,
    )
    // Audit the start, the key and what changed since the last start (or the last reload).
    await auditStartup({
      audit,
      state,
      config,
      ruleSet: detector.ruleSet,
      signer,
      logger: auditLogger,
    })
    const exports = await ExportJobs.open({
      dir: join(config.dataDir, 'exports'),
      log: audit,
      entries: clickHouseEntryReader(store),
      checkpoints,
      checkpointer,
      signer,
      logger: auditLogger,
    })
    closers.unshift(() => exports.close())
    registerCorrelationMetrics(metrics.registry, detector, config.sigma.correlation.maxGroups)
    // Correlation state resumes before the API listens: from the last checkpoint, then the
    // events stored after it, so no new event overtakes the ones replayed (DESIGN.md, Data
    // flow: Partitioning). Numbering goes on after both, so no number is used twice.
    // Before the pipeline, so every alert it stores (the resumed ones too) weighs on risk and
    // meets the playbooks.
    const responder = await Responder.open({
      db: state.db,
      audit,
      playbooks: loadPlaybooks(config.access.playbooks),
      dryRun: config.access.dryRun,
      logger: logger.child({ component: 'response' }),
      ...(options.now ? { now: options.now } : {}),
    })
    closers.unshift(() => responder.settled())
    const access = await AccessControl.open({
      contains: (request) => responder.contains(request),
      db: state.db,
      store,
      audit,
      logger: logger.child({ component: 'access' }),
      riskHalfLifeMs: config.access.riskHalfLifeMinutes * 60_000,
      ...(options.now ? { now: options.now } : {}),
    })
    closers.unshift(() => access.close())
    const checkpoint = kafka ? null : await readStreamCheckpoint(state.db, EMBEDDED_STREAM)
    const lastSeq = kafka
      ? 0
      : Math.max(await lastIngestSeq(store), Number(checkpoint?.position) || 0)
    const dlp = openDlpRedactor(config.dlp)
    let producer: EventProducer | undefined
    if (kafka) {
      const { kafka: k } = config.transport
      producer = await EventProducer.connect({
        brokers: k.brokers,
        clientId: `${k.clientId}-ingest`,
        topicPrefix: k.topicPrefix,
        keyFields: k.keyFields,
        sendTimeoutMs: k.sendTimeoutMs,
        retries: 2,
        logger,
      })
      const opened = producer
      // Registered before the API and the listeners, so it closes after them: whatever they
      // accepted is acknowledged first.
      closers.unshift(() => opened.disconnect())
    }
    // With Kafka, detection runs in the workers: this process only produces.
    const pipeline = producer
      ? createKafkaIngestPipeline({
          producer,
          keyFields: config.transport.kafka.keyFields,
          metrics,
        })
      : createPipeline({
          store,
          ...(dlp ? { dlp } : {}),
          detector: anomaly ? composeDetectors(detector, anomaly.detector) : detector,
          metrics,
          lastSeq,
          // Defined below, before any batch can arrive: the replay stores no batch.
          afterBatch: () => correlationCheckpointer.batchDone(),
          onAlertsStored: (alerts) => {
            access.observe(alerts)
            // Not awaited: a slow webhook must not hold up ingest; `responder.settled()` waits.
            void responder.handle(alerts)
          },
        })
    const resumed = kafka
      ? { position: 0, replayed: 0 }
      : await resumeCorrelations({
          checkpoint,
          store,
          detector,
          pipeline,
          logger: detectorLogger,
        })
    new Gauge({
      name: 'palisade_correlation_replayed_events',
      help:
        'Events stored after the last correlation checkpoint that this start fed through ' +
        'detection again to resume correlation state',
      registers: [metrics.registry],
    }).set(resumed.replayed)
    const correlationCheckpoints = new Counter({
      name: 'palisade_correlation_checkpoints_total',
      help:
        'Correlation checkpoints, by outcome: written, skipped (a batch before it failed to ' +
        'store) or failed (the state store refused it)',
      labelNames: ['outcome'],
      registers: [metrics.registry],
    })
    const correlationCheckpointer = new CorrelationCheckpointer({
      db: state.db,
      pipeline,
      detector,
      everyBatches: correlationCheckpoint.everyBatches,
      everySeconds: correlationCheckpoint.everySeconds,
      logger: detectorLogger,
      position: resumed.position,
      onOutcome: (outcome) => correlationCheckpoints.inc({ outcome }),
    })
    if (!kafka) correlationCheckpointer.start()
    // Registered before the API and the listeners, so it runs after they close: the last
    // checkpoint holds every batch they accepted.
    closers.unshift(() => correlationCheckpointer.stop())
    if (anomaly) {
      new Gauge({
        name: 'palisade_anomaly_entities',
        help: 'Entities anomaly detection holds now, over every feature set',
        registers: [metrics.registry],
        collect() {
          this.set(anomaly.detector.state().entities)
        },
      })
      new Gauge({
        name: 'palisade_anomaly_evicted_entities',
        help:
          'Entities forgotten at anomaly.maxEntities: with an open window (state "open": its ' +
          'anomaly may be missed) or without (state "idle")',
        labelNames: ['state'],
        registers: [metrics.registry],
        collect() {
          const { evicted } = anomaly.detector.state()
          this.set({ state: 'open' }, evicted.open)
          this.set({ state: 'idle' }, evicted.idle)
        },
      })
    }

    const apiLogger = logger.child({ component: 'api' })
    const { people: peopleConfig } = config
    const secrets = SecretBox.fromEnv(peopleConfig.kekEnv)
    if (!secrets) {
      apiLogger.warn(
        { env: peopleConfig.kekEnv },
        'no key-encryption key in the environment: TOTP enrolment and sign-in are refused',
      )
    }
    const app = await buildApp({
      people: {
        idleMs: peopleConfig.idleMinutes * 60_000,
        absoluteMs: peopleConfig.absoluteHours * 3_600_000,
        stepUpMs: peopleConfig.stepUpMinutes * 60_000,
        enrolmentMs: peopleConfig.enrolmentHours * 3_600_000,
        issuer: peopleConfig.issuer,
        // WebAuthn needs a host name as RP id: browsers refuse an IP address (§5.1.3).
        publicUrl: peopleConfig.publicUrl ?? `http://localhost:${config.http.port}`,
        attestation: peopleConfig.webauthn.attestation,
        secrets,
        events: new AuthEvents(audit, pipeline, apiLogger),
        now: () => new Date(),
      },
      store,
      state,
      audit,
      checkpoints,
      signer,
      pipeline,
      metrics,
      logger: apiLogger,
      bodyLimitBytes: config.http.bodyLimitBytes,
      timeZone: config.syslog.timeZone,
      version: packageInfo.version,
    })
    closers.unshift(() => app.close())
    // Here rather than in buildApp: the export jobs are the running engine's, not the app's.
    await app.register(auditExportRoutes, { db: state.db, exports, audit })
    await app.register(ruleRoutes, { db: state.db, audit, rules: detector.rules })
    const hunts = await HuntJobs.open({
      store,
      db: state.db,
      audit,
      rules: detector.rules,
      // Read again, as the detector read it: both back ends route and map fields alike.
      mapping: loadMappings(config.sigma.mappings),
      logger: logger.child({ component: 'hunts' }),
    })
    closers.unshift(() => hunts.close())
    await app.register(huntRoutes, { db: state.db, store, audit, hunts })
    await app.register(accessRoutes, { db: state.db, store, audit, access })
    await app.register(responseRoutes, { db: state.db, audit, responder })
    const address = await listen(app, config.http.host, config.http.port)

    // Windows with an upper bound are decided when they close, which wall-clock time decides
    // when no newer event arrives to move the watermark.
    const ticker = setInterval(() => {
      pipeline
        .tick()
        .catch((error: unknown) => logger.error({ err: error }, 'correlation tick failed'))
    }, 5_000)
    ticker.unref()
    closers.unshift(async () => clearInterval(ticker))

    const worker =
      kafka && role === 'all'
        ? await startWorker(config, logger, {
            store,
            state,
            metrics,
            onAlertsStored: (alerts) => {
              access.observe(alerts)
              void responder.handle(alerts)
            },
          })
        : undefined
    if (worker) closers.unshift(() => worker.close())

    const syslog = await startSyslogListeners({
      ...config.syslog,
      ...(role === 'api' ? { udpPort: 0, tcpPort: 0 } : {}),
      pipeline,
      logger: logger.child({ component: 'syslog' }),
    })
    closers.unshift(() => syslog.close())

    return {
      app,
      store,
      state,
      audit,
      signer,
      checkpointer,
      checkpoints,
      exports,
      hunts,
      access,
      responder,
      pipeline,
      syslog,
      url: address.replace('[::1]', 'localhost'),
      adminTokenFile,
      adminTokenCreated,
      ...(worker ? { worker } : {}),
      close: async () => {
        for (const close of closers) await close().catch(() => undefined)
      },
    }
  } catch (error) {
    for (const close of closers) await close().catch(() => undefined)
    throw error
  }
}

async function listen(app: FastifyInstance, host: string, port: number): Promise<string> {
  try {
    return await app.listen({ host, port })
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'EADDRINUSE' && code !== 'EACCES') throw error
    throw new PalisadeError(
      'PAL_PORT_UNAVAILABLE',
      `cannot listen for the API on ${host}:${port} (${code}); pass --port or set PALISADE_PORT`,
      { cause: error },
    )
  }
}

/**
 * On a fresh instance there is no token, so nobody could call the API: make one admin token
 * and leave it in the data dir, readable by its owner only, where the CLI finds it.
 */
async function bootstrapAdminToken(
  state: StateStore,
  audit: AuditLog,
  dataDir: string,
): Promise<boolean> {
  if ((await countTokens(state.db)) > 0) return false
  const { token, record } = await createToken(state.db, 'admin (first start)', ['admin'])
  await audit.record({
    actor: { kind: 'system', id: 'palisade', name: 'first start' },
    action: 'token.create',
    target: { kind: 'token', id: record.id },
    outcome: 'success',
    details: { name: record.name, scopes: 'admin' },
  })
  const file = adminTokenPath(dataDir)
  writeFileSync(file, `${token}\n`, { mode: 0o600 })
  chmodSync(file, 0o600)
  return true
}

export function adminTokenPath(dataDir: string): string {
  return join(dataDir, 'admin-token')
}
