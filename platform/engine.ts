import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import type { FastifyInstance } from 'fastify'
import { Counter, Gauge } from 'prom-client'

import { buildApp } from '../api/app.ts'
import { auditExportRoutes } from '../api/routes/audit-routes.ts'
import { huntRoutes } from '../api/routes/hunt-routes.ts'
import { ruleRoutes } from '../api/routes/rule-routes.ts'
import type { AuditLog } from '../audit/audit-log.ts'
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
import { createDetector } from '../detectors/detector.ts'
import { HuntJobs } from '../detectors/hunts/hunt-jobs.ts'
import { loadMappings } from '../detectors/sigma/load-mappings.ts'
import { createPipeline } from '../ingest/pipeline.ts'
import type { Pipeline } from '../ingest/pipeline.ts'
import { startSyslogListeners } from '../ingest/sources/syslog-listener.ts'
import type { SyslogListeners } from '../ingest/sources/syslog-listener.ts'
import { insertAlerts } from './clickhouse/alert-repository.ts'
import { openAnalyticsStore } from './clickhouse/analytics-store.ts'
import type { AnalyticsStore } from './clickhouse/analytics-store.ts'
import type { PalisadeConfig } from './config/config-schema.ts'
import { PalisadeError } from './errors.ts'
import type { Logger } from './logger.ts'
import { createMetrics } from './metrics/metrics.ts'
import { countTokens, createToken } from './state/api-tokens.ts'
import { listDisabledRules } from './state/disabled-rules.ts'
import { openStateStore } from './state/state-store.ts'
import type { StateStore } from './state/state-store.ts'
import { packageInfo } from './package-info.ts'

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
  pipeline: Pipeline
  syslog: SyslogListeners
  /** Where the API listens, e.g. `http://127.0.0.1:8470`. */
  url: string
  /** Path of the admin token file, if there is one in the data dir. */
  adminTokenFile?: string
  /** True when this start made the admin token (a fresh instance). */
  adminTokenCreated: boolean
  close(): Promise<void>
}

export async function startEngine(config: PalisadeConfig, logger: Logger): Promise<Engine> {
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
    const ruleDirs = [
      ...(config.builtinRules ? [packageInfo.builtinRulesDir] : []),
      ...config.rules,
    ]
    const detector = createDetector(ruleDirs, logger.child({ component: 'detector' }), {
      disabled: await listDisabledRules(state.db),
      mappings: config.sigma.mappings,
      correlation: config.sigma.correlation,
    })
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
    new Gauge({
      name: 'palisade_correlation_late_events',
      help: 'Events that reached a correlation after their window had closed (not counted in it)',
      registers: [metrics.registry],
      collect() {
        this.set(detector.correlator.state().late)
      },
    })
    new Gauge({
      name: 'palisade_correlation_groups',
      help: 'Group keys correlation rules hold now (a correlation and its group-by values)',
      registers: [metrics.registry],
      collect() {
        this.set(detector.correlator.groups())
      },
    })
    new Gauge({
      name: 'palisade_correlation_max_groups',
      help: 'Most group keys correlation rules may hold (sigma.correlation.maxGroups)',
      registers: [metrics.registry],
      collect() {
        this.set(config.sigma.correlation.maxGroups)
      },
    })
    new Gauge({
      name: 'palisade_correlation_evicted_groups',
      help:
        'Group keys evicted at the limit: with open windows (state "open": their alerts may ' +
        'be missed) or with only a watermark (state "idle")',
      labelNames: ['state'],
      registers: [metrics.registry],
      collect() {
        const { evicted, pruned } = detector.correlator.state()
        this.set({ state: 'open' }, evicted)
        this.set({ state: 'idle' }, pruned)
      },
    })
    const pipeline = createPipeline({ store, detector, metrics })

    const app = await buildApp({
      store,
      state,
      audit,
      checkpoints,
      signer,
      pipeline,
      metrics,
      logger: logger.child({ component: 'api' }),
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

    const syslog = await startSyslogListeners({
      ...config.syslog,
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
      pipeline,
      syslog,
      url: address.replace('[::1]', 'localhost'),
      adminTokenFile,
      adminTokenCreated,
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
