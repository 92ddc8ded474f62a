import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'

import fastifyCookie from '@fastify/cookie'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod'

import { handleError } from '../../api/error-handler.ts'
import type { PeopleContext } from '../../api/people-context.ts'
import { factorRoutes } from '../../api/routes/factor-routes.ts'
import { ruleRoutes } from '../../api/routes/rule-routes.ts'
import { sessionRoutes } from '../../api/routes/session-routes.ts'
import { tokenRoutes } from '../../api/routes/token-routes.ts'
import { userRoutes } from '../../api/routes/user-routes.ts'
import type { AuditEntryInput, AuditLog } from '../../audit/audit-log.ts'
import { checkAuditEntry } from '../../audit/check-audit-entry.ts'
import { AuthEvents } from '../../auth/auth-events.ts'
import { SecretBox } from '../../auth/secret-box.ts'
import { createDetector } from '../../detectors/detector.ts'
import type { Pipeline } from '../../ingest/pipeline.ts'
import { createLogger } from '../../platform/logger.ts'
import { createToken } from '../../platform/state/api-tokens.ts'
import { openStateStore } from '../../platform/state/state-store.ts'
import type { StateStore } from '../../platform/state/state-store.ts'
import { repoRoot } from './test-engine.ts'

export const ORIGIN = 'https://palisade.example'

/**
 * The people routes (sessions, factors, users) with tokens and rules, on a real SQLite state
 * store, an audit log that checks entries as the real one does, a pipeline that keeps the
 * auth events it is given, and a clock the test moves.
 */
export interface PeopleApp {
  app: FastifyInstance
  state: StateStore
  people: PeopleContext
  audit: AuditEntryInput[]
  /** ECS events the pipeline received, in order. */
  events: Record<string, unknown>[]
  adminToken: string
  clock: { now: number }
  close(): Promise<void>
}

export async function startPeopleApp(
  options: { attestation?: 'none' | 'direct'; stateUrl?: string } = {},
): Promise<PeopleApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'palisade-people-'))
  const state = await openStateStore({ dataDir, url: options.stateUrl })
  const audit: AuditEntryInput[] = []
  const auditLog: AuditLog = {
    async record(entry) {
      checkAuditEntry(entry)
      audit.push(entry)
      return { index: audit.length - 1, leaf_hash: '0'.repeat(64) }
    },
  }
  const events: Record<string, unknown>[] = []
  const pipeline: Pipeline = {
    async process(batch) {
      for (const r of batch.records) events.push(r.event!)
      return {
        results: [],
        stored: batch.records.length,
        duplicates: 0,
        dead_lettered: 0,
        alerts: 0,
      }
    },
    tick: async () => 0,
    detectedThrough: () => ({ position: 0, stored: Promise.resolve(true) }),
    redetect: async () => 0,
  }
  const clock = { now: Date.UTC(2026, 11, 4, 9, 0, 0) }
  const people: PeopleContext = {
    idleMs: 30 * 60_000,
    absoluteMs: 12 * 3_600_000,
    stepUpMs: 10 * 60_000,
    enrolmentMs: 24 * 3_600_000,
    issuer: 'Palisade',
    publicUrl: ORIGIN,
    attestation: options.attestation ?? 'none',
    secrets: new SecretBox(randomBytes(32)),
    events: new AuthEvents(auditLog, pipeline),
    now: () => new Date(clock.now),
  }

  const app = Fastify()
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  app.setErrorHandler(handleError)
  await app.register(fastifyCookie)
  app.decorate('people', people)
  const db = state.db
  await app.register(sessionRoutes, { db, people })
  await app.register(factorRoutes, { db, people })
  await app.register(userRoutes, { db, audit: auditLog, people })
  await app.register(tokenRoutes, { db, audit: auditLog })
  const detector = createDetector([join(repoRoot, 'rules', 'builtin')], createLogger('silent'))
  await app.register(ruleRoutes, { db, audit: auditLog, rules: detector.rules })
  const adminToken = (await createToken(db, 'test admin', ['admin'])).token

  return {
    app,
    state,
    people,
    audit,
    events,
    adminToken,
    clock,
    async close() {
      await app.close()
      await state.close()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** A browser of one person: keeps the session cookie the API sets, sends it back. */
export class Browser {
  cookie: string | undefined
  readonly app: FastifyInstance
  readonly ip: string

  constructor(app: FastifyInstance, ip = '192.0.2.10') {
    this.app = app
    this.ip = ip
  }

  async send(method: string, url: string, body?: unknown) {
    const response = await this.app.inject({
      method: method as 'GET',
      url,
      remoteAddress: this.ip,
      headers: this.cookie ? { cookie: `palisade_session=${this.cookie}` } : {},
      ...(body === undefined ? {} : { payload: body as object }),
    })
    const set = response.cookies.find((c) => c.name === 'palisade_session')
    if (set) this.cookie = set.value === '' ? undefined : set.value
    return {
      status: response.statusCode,
      body: response.body ? response.json() : undefined,
      response,
    }
  }
}

/** Adds a person through the API with the admin token and enrols them with `password`. */
export async function addPerson(
  people: PeopleApp,
  name: string,
  role: string,
  password = 'correct horse battery staple',
): Promise<{ id: string; password: string }> {
  const added = await people.app.inject({
    method: 'POST',
    url: '/v1/users',
    headers: { authorization: `Bearer ${people.adminToken}` },
    payload: { name, role },
  })
  if (added.statusCode !== 201) throw new Error(`users add: ${added.body}`)
  const { user, enrolment_token } = added.json()
  const enrolled = await people.app.inject({
    method: 'POST',
    url: '/v1/enrolment',
    payload: { token: enrolment_token, password },
  })
  if (enrolled.statusCode !== 204) throw new Error(`enrolment: ${enrolled.body}`)
  return { id: user.id, password }
}
