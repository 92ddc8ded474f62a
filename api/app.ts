import fastifyCookie from '@fastify/cookie'
import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import Fastify, { LogController } from 'fastify'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod'

import type { CheckpointStore } from '../audit/checkpoint-store.ts'
import type { MerkleAuditLog } from '../audit/merkle-audit-log.ts'
import type { CheckpointSigner } from '../audit/signers/checkpoint-signer.ts'
import type { Pipeline } from '../ingest/pipeline.ts'
import type { AnalyticsStore } from '../platform/clickhouse/analytics-store.ts'
import type { Metrics } from '../platform/metrics/metrics.ts'
import type { StateStore } from '../platform/state/state-store.ts'
import { crossOriginCheck } from './cross-origin-check.ts'
import { handleError } from './error-handler.ts'
import type { PeopleContext } from './people-context.ts'
import { auditRoutes } from './routes/audit-routes.ts'
import { CLIENT_BUILD_DIR, clientRoutes } from './routes/client-routes.ts'
import { deadLetterRoutes } from './routes/dead-letter-routes.ts'
import { factorRoutes } from './routes/factor-routes.ts'
import { healthRoutes } from './routes/health-routes.ts'
import { ingestRoutes } from './routes/ingest-routes.ts'
import { queryRoutes } from './routes/query-routes.ts'
import { sealingKeyRoutes } from './routes/sealing-key-routes.ts'
import { sessionRoutes } from './routes/session-routes.ts'
import { tokenRoutes } from './routes/token-routes.ts'
import { userRoutes } from './routes/user-routes.ts'

export interface AppDeps {
  store: AnalyticsStore
  state: StateStore
  /** Where security-relevant actions are recorded before they are reported done. */
  audit: MerkleAuditLog
  checkpoints: CheckpointStore
  signer: CheckpointSigner
  pipeline: Pipeline
  metrics: Metrics
  logger: FastifyBaseLogger
  bodyLimitBytes: number
  timeZone: string
  version: string
  /** Sign-in, sessions and second factors; without it only bearer tokens are accepted. */
  people?: PeopleContext
  /** The built MFA set-up page served under /security/; `dist/client` unless told. */
  clientDir?: string
}

/** The HTTP API: a thin layer that checks the caller and the input, then calls the domain. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: deps.bodyLimitBytes,
    // Per-request access lines would dwarf the events themselves; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
  })
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  app.setErrorHandler(handleError)
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({
      error: {
        code: 'PAL_NO_ROUTE',
        message: `no route ${request.method} ${request.url}; see /docs`,
      },
    }),
  )

  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'Palisade API',
        version: deps.version,
        description:
          'Ingest security events, read alerts and events, manage dead letters, ' +
          'prove the audit log.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          session: { type: 'apiKey', in: 'cookie', name: 'palisade_session' },
        },
      },
      security: [{ bearer: [] }, { session: [] }],
    },
    transform: jsonSchemaTransform,
  })
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' })
  await app.register(fastifyCookie)
  // Before any route reads a body: a forged cross-site request learns nothing from a 400.
  app.addHook('onRequest', crossOriginCheck(deps.people?.publicUrl))
  if (deps.people) app.decorate('people', deps.people)

  const db = deps.state.db
  await app.register(healthRoutes, { store: deps.store, state: deps.state, metrics: deps.metrics })
  await app.register(ingestRoutes, { db, pipeline: deps.pipeline, timeZone: deps.timeZone })
  await app.register(queryRoutes, { db, store: deps.store })
  await app.register(deadLetterRoutes, {
    db,
    store: deps.store,
    audit: deps.audit,
    pipeline: deps.pipeline,
    timeZone: deps.timeZone,
  })
  await app.register(tokenRoutes, { db, audit: deps.audit })
  await app.register(sealingKeyRoutes, { db, audit: deps.audit })
  if (deps.people) {
    const people = deps.people
    await app.register(sessionRoutes, { db, people })
    await app.register(factorRoutes, { db, people })
    await app.register(userRoutes, { db, audit: deps.audit, people })
    await app.register(clientRoutes, { root: deps.clientDir ?? CLIENT_BUILD_DIR })
  }
  await app.register(auditRoutes, {
    db,
    log: deps.audit,
    checkpoints: deps.checkpoints,
    signer: deps.signer,
  })
  return app
}
