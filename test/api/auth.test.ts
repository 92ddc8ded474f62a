import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { handleError } from '../../api/error-handler.ts'
import { auditExportRoutes } from '../../api/routes/audit-routes.ts'
import { deadLetterRoutes } from '../../api/routes/dead-letter-routes.ts'
import { ingestRoutes } from '../../api/routes/ingest-routes.ts'
import { ruleRoutes } from '../../api/routes/rule-routes.ts'
import { tokenRoutes } from '../../api/routes/token-routes.ts'
import type { AuditEntryInput, AuditLog } from '../../audit/audit-log.ts'
import { checkAuditEntry } from '../../audit/check-audit-entry.ts'
import type { ExportJobs } from '../../audit/export/export-jobs.ts'
import { createDetector } from '../../detectors/detector.ts'
import type { Pipeline } from '../../ingest/pipeline.ts'
import type { AnalyticsStore } from '../../platform/clickhouse/analytics-store.ts'
import { createLogger } from '../../platform/logger.ts'
import { createToken } from '../../platform/state/api-tokens.ts'
import { openStateStore } from '../../platform/state/state-store.ts'
import type { StateStore } from '../../platform/state/state-store.ts'
import { repoRoot } from '../helpers/test-engine.ts'

const dataDir = mkdtempSync(join(tmpdir(), 'palisade-auth-'))
let state: StateStore
let app: FastifyInstance
let tokens: { read: string; ingest: string; admin: string }
const recorded: AuditEntryInput[] = []
const audit: AuditLog = {
  async record(entry) {
    // What the real log would refuse, this one refuses too.
    checkAuditEntry(entry)
    recorded.push(entry)
    return { index: recorded.length - 1, leaf_hash: '0'.repeat(64) }
  },
}
/** Batches that reached the pipeline: none should, from a caller that was refused. */
const batches: unknown[] = []
const pipeline: Pipeline = {
  async process(batch) {
    batches.push(batch)
    throw new Error('not expected in this test')
  },
  tick: async () => 0,
  detectedThrough: () => ({ position: 0, stored: Promise.resolve(true) }),
  redetect: async () => 0,
}

beforeAll(async () => {
  state = await openStateStore({ dataDir })
  const token = async (scope: 'read' | 'ingest' | 'admin') =>
    (await createToken(state.db, `${scope} caller`, [scope])).token
  tokens = { read: await token('read'), ingest: await token('ingest'), admin: await token('admin') }

  const detector = createDetector([join(repoRoot, 'rules', 'builtin')], createLogger('silent'))
  app = Fastify()
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  app.setErrorHandler(handleError)
  await app.register(ingestRoutes, { db: state.db, pipeline, timeZone: 'UTC' })
  await app.register(tokenRoutes, { db: state.db, audit })
  await app.register(ruleRoutes, { db: state.db, audit, rules: detector.rules })
  // Neither is reached by a refused request: what they would call is left out.
  const store = {} as AnalyticsStore
  await app.register(deadLetterRoutes, { db: state.db, store, audit, pipeline, timeZone: 'UTC' })
  await app.register(auditExportRoutes, { db: state.db, exports: {} as ExportJobs, audit })
})

afterAll(async () => {
  await app?.close()
  await state?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

/** A request with a body that fails validation, by `token` (none when undefined). */
async function send(method: 'PATCH' | 'POST', url: string, body: string, token?: string) {
  const res = await app.inject({
    method,
    url,
    payload: body,
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
  })
  return { status: res.statusCode, code: (res.json() as { error: { code: string } }).error.code }
}

const invalid = [
  { method: 'PATCH', url: '/v1/rules/nope', body: '{"enabled":"x"}', scope: 'admin' },
  { method: 'POST', url: '/v1/tokens', body: '{"name":"","scopes":["root"]}', scope: 'admin' },
  { method: 'POST', url: '/v1/events?format=nope', body: '{not json', scope: 'ingest' },
] as const

describe('authentication before validation', () => {
  it.each(invalid)('answers $method $url without a token 401, whatever the body', async (r) => {
    expect(await send(r.method, r.url, r.body)).toEqual({ status: 401, code: 'PAL_AUTH_MISSING' })
    expect(await send(r.method, r.url, r.body, 'pal_unknown')).toEqual({
      status: 401,
      code: 'PAL_AUTH_UNKNOWN',
    })
  })

  it.each(invalid)('answers $method $url with a token of another scope 403', async (r) => {
    expect(await send(r.method, r.url, r.body, tokens.read)).toEqual({
      status: 403,
      code: 'PAL_AUTH_SCOPE',
    })
  })

  it.each(invalid)(
    'validates $method $url for a token with the scope, then answers 400',
    async (r) => {
      const right = r.scope === 'admin' ? tokens.admin : tokens.ingest
      expect((await send(r.method, r.url, r.body, right)).status).toBe(400)
      expect(batches).toEqual([])
    },
  )
})

describe('a token refused for its scope', () => {
  const admin = [
    { method: 'PATCH', url: '/v1/rules/r-1', action: 'rule.toggle', target: 'rule:r-1' },
    { method: 'POST', url: '/v1/rules/reload', action: 'rules.reload', target: 'rule_set:loaded' },
    { method: 'GET', url: '/v1/tokens', action: 'token.list' },
    { method: 'POST', url: '/v1/tokens', action: 'token.create' },
    { method: 'DELETE', url: '/v1/tokens/t-1', action: 'token.revoke', target: 'token:t-1' },
    { method: 'POST', url: '/v1/dead-letters/replay', action: 'dead_letter.replay' },
    { method: 'POST', url: '/v1/audit/exports', action: 'audit.export' },
    { method: 'GET', url: '/v1/audit/exports', action: 'audit.export_list' },
    {
      method: 'GET',
      url: '/v1/audit/exports/e-1/files/entries.ndjson',
      action: 'audit.export_download',
      target: 'audit_export:e-1',
    },
  ] as const

  it.each(admin)('is audited as $action when it calls $method $url', async (r) => {
    const before = recorded.length
    const res = await app.inject({
      method: r.method,
      url: r.url,
      headers: { authorization: `Bearer ${tokens.read}`, 'content-type': 'application/json' },
      ...(r.method === 'GET' || r.method === 'DELETE' ? {} : { payload: '{"enabled":"x"}' }),
    })
    expect(res.statusCode).toBe(403)
    const entries = recorded.slice(before)
    expect(entries).toHaveLength(1)
    const [entry] = entries
    expect(entry).toEqual({
      actor: { kind: 'token', id: expect.any(String), name: 'read caller' },
      source: { ip: '127.0.0.1' },
      action: r.action,
      ...('target' in r
        ? { target: { kind: r.target.split(':')[0], id: r.target.split(':')[1] } }
        : {}),
      outcome: 'failure',
      details: {
        reason: 'scope',
        code: 'PAL_AUTH_SCOPE',
        required: 'admin',
        held: 'read',
        method: r.method,
        route: expect.stringMatching(/^\/v1\//),
      },
    })
  })

  it('is not audited without a token, nor on a read route, nor when admitted', async () => {
    const before = recorded.length
    const none = await app.inject({ method: 'POST', url: '/v1/rules/reload' })
    expect(none.statusCode).toBe(401)
    const ingest = { authorization: `Bearer ${tokens.ingest}` }
    const list = await app.inject({ method: 'GET', url: '/v1/rules', headers: ingest })
    expect(list.statusCode).toBe(403)
    const byAdmin = { authorization: `Bearer ${tokens.admin}` }
    const tokenList = await app.inject({ method: 'GET', url: '/v1/tokens', headers: byAdmin })
    expect(tokenList.statusCode).toBe(200)
    expect(recorded.slice(before)).toEqual([])
  })
})
