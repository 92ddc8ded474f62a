import { randomBytes } from 'node:crypto'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { createToken } from '../../platform/state/api-tokens.ts'
import { createSession } from '../../platform/state/sessions.ts'
import { hashEnrolmentToken, insertUser } from '../../platform/state/users.ts'
import { startTestEngine } from '../helpers/test-engine.ts'
import type { TestEngine } from '../helpers/test-engine.ts'

type Scope = 'ingest' | 'read' | 'decide' | 'admin' | 'audit_export' | 'risk_clear'

/** Who may call a route, as the issue and the README say; written here, not read from code. */
type Access =
  | { kind: 'public' }
  /** People only, with a session (`partial`: also one still waiting for its second factor). */
  | { kind: 'session'; partial?: boolean; stepUp?: boolean }
  | { kind: 'scope'; scope: Scope; stepUp?: boolean }

const pub: Access = { kind: 'public' }
const session: Access = { kind: 'session' }
const partial: Access = { kind: 'session', partial: true }
const sessionStepUp: Access = { kind: 'session', stepUp: true }
const scope = (s: Scope, stepUp = false): Access => ({ kind: 'scope', scope: s, stepUp })

const routes: Record<string, Access> = {
  'GET /healthz': pub,
  'GET /readyz': pub,
  'GET /metrics': pub,
  'POST /v1/events': scope('ingest'),
  'GET /v1/events': scope('read'),
  'GET /v1/events/{id}': scope('read'),
  'GET /v1/stats': scope('read'),
  'GET /v1/alerts': scope('read'),
  'GET /v1/dead-letters': scope('read'),
  'POST /v1/dead-letters/replay': scope('admin'),
  'GET /v1/tokens': scope('admin'),
  'POST /v1/tokens': scope('admin', true),
  'DELETE /v1/tokens/{id}': scope('admin', true),
  'POST /v1/sealing-keys/challenges': scope('admin', true),
  'POST /v1/sealing-keys': scope('admin', true),
  'POST /v1/sealing-keys/{kid}/rotation': scope('admin', true),
  'GET /v1/sealing-keys': scope('ingest'),
  'GET /v1/sealing-keys/{kid}': scope('ingest'),
  'GET /v1/audit/checkpoints': scope('read'),
  'GET /v1/audit/proofs/inclusion': scope('read'),
  'GET /v1/audit/proofs/consistency': scope('read'),
  'GET /v1/audit/public-key': scope('read'),
  'POST /v1/audit/exports': scope('audit_export', true),
  'GET /v1/audit/exports': scope('audit_export', true),
  'GET /v1/audit/exports/{id}': scope('audit_export', true),
  'GET /v1/audit/exports/{id}/files/{name}': scope('audit_export', true),
  'GET /v1/rules': scope('read'),
  'GET /v1/rules/{id}': scope('read'),
  'PATCH /v1/rules/{id}': scope('admin', true),
  'POST /v1/rules/reload': scope('admin', true),
  'POST /v1/hunts': scope('admin'),
  'GET /v1/hunts': scope('read'),
  'GET /v1/hunts/{id}': scope('read'),
  'POST /v1/hunts/{id}/cancel': scope('admin'),
  'DELETE /v1/hunts/{id}': scope('admin'),
  'GET /v1/users': scope('admin'),
  'POST /v1/users': scope('admin', true),
  'PATCH /v1/users/{id}': scope('admin', true),
  'POST /v1/users/{id}/factor-reset': scope('admin', true),
  'POST /v1/session': pub,
  'POST /v1/enrolment': pub,
  'GET /v1/session': partial,
  'DELETE /v1/session': partial,
  'POST /v1/session/totp': partial,
  'POST /v1/session/recovery-code': partial,
  'POST /v1/session/webauthn/options': partial,
  'POST /v1/session/webauthn': partial,
  'DELETE /v1/sessions': session,
  'POST /v1/access/decisions': scope('decide'),
  'GET /v1/access/decisions': scope('read'),
  'GET /v1/access/policies': scope('read'),
  'PUT /v1/access/policies': scope('admin', true),
  'GET /v1/risk': scope('read'),
  'GET /v1/risk/{kind}/{value}': scope('read'),
  'POST /v1/risk/{kind}/{value}/clear': scope('risk_clear'),
  'GET /v1/response/actions': scope('read'),
  'POST /v1/response/actions/{id}/approve': scope('admin', true),
  'POST /v1/response/actions/{id}/undo': scope('admin', true),
  'GET /v1/me/factors': session,
  'POST /v1/me/totp': session,
  'POST /v1/me/totp/confirm': session,
  'DELETE /v1/me/totp': sessionStepUp,
  'POST /v1/me/recovery-codes': sessionStepUp,
  'POST /v1/me/webauthn/registration-options': session,
  'POST /v1/me/webauthn/credentials': session,
  'DELETE /v1/me/webauthn/credentials/{id}': sessionStepUp,
}

/**
 * What each role may do (issues 7 and 13): an admin all, an analyst read and clear risk,
 * compliance read and export.
 */
const roleScopes: Record<string, Scope[]> = {
  admin: ['ingest', 'read', 'decide', 'admin', 'audit_export', 'risk_clear'],
  analyst: ['read', 'risk_clear'],
  compliance: ['read', 'audit_export'],
  service: ['ingest'],
}

type Caller =
  | { kind: 'none' }
  | { kind: 'token'; scope: 'ingest' | 'read' | 'decide' | 'admin'; value: string }
  | { kind: 'session'; role: string; userId: string; fresh: boolean; pending?: boolean }

let palisade: TestEngine
const callers: Record<string, Caller> = { none: { kind: 'none' } }

beforeAll(async () => {
  const kek = 'PALISADE_TEST_KEK_AUTHZ'
  process.env[kek] = randomBytes(32).toString('base64')
  palisade = await startTestEngine({
    people: { kekEnv: kek, publicUrl: 'https://palisade.example' },
  })
  const db = palisade.engine.state.db
  for (const s of ['ingest', 'read', 'decide', 'admin'] as const) {
    callers[`token:${s}`] = {
      kind: 'token',
      scope: s,
      value: (await createToken(db, `walk ${s}`, [s])).token,
    }
  }
  for (const role of Object.keys(roleScopes)) {
    const user = await insertUser(db, {
      name: `walk-${role}`,
      role: role as 'admin',
      enrolmentHash: hashEnrolmentToken(randomBytes(16).toString('hex')),
      enrolmentExpiresAt: new Date(Date.now() + 60_000),
    })
    callers[`session:${role}`] = { kind: 'session', role, userId: user.id, fresh: true }
    if (role === 'analyst') {
      // A user with a second factor whose session has not verified it yet.
      const pending = await insertUser(db, {
        name: 'walk-pending',
        role: 'admin',
        enrolmentHash: hashEnrolmentToken(randomBytes(16).toString('hex')),
        enrolmentExpiresAt: new Date(Date.now() + 60_000),
      })
      await db
        .insertInto('webauthn_credentials')
        .values({
          id: 'walk-key',
          user_id: pending.id,
          name: 'key',
          public_key: 'AA',
          counter: 0,
          transports: '',
          aaguid: '00000000-0000-0000-0000-000000000000',
          created_at: new Date().toISOString(),
          last_used_at: null,
        })
        .execute()
      callers['session:admin, second factor pending'] = {
        kind: 'session',
        role: 'admin',
        userId: pending.id,
        fresh: false,
        pending: true,
      }
    }
    if (role === 'admin') {
      callers['session:admin, factor not recent'] = {
        kind: 'session',
        role,
        userId: user.id,
        fresh: false,
      }
    }
  }
}, 120_000)

afterAll(async () => {
  await palisade?.close()
})

/** A fresh session per request (so signing out in one does not end the next). */
async function headersFor(caller: Caller): Promise<Record<string, string>> {
  if (caller.kind === 'none') return {}
  if (caller.kind === 'token') return { authorization: `Bearer ${caller.value}` }
  const now = new Date()
  const mfaAt = caller.fresh ? now : new Date(now.getTime() - 60 * 60_000)
  const { cookie } = await createSession(palisade.engine.state.db, caller.userId, now, {
    created_at: now.toISOString(),
    mfa_at: caller.pending ? null : mfaAt.toISOString(),
    mfa_method: 'totp',
  })
  return { cookie: `palisade_session=${cookie}` }
}

/** What the table says `caller` gets: through (any answer but 401/403), or which refusal. */
function expected(access: Access, caller: Caller): 'through' | 401 | 403 | 'step_up_required' {
  if (access.kind === 'public') return 'through'
  if (caller.kind === 'none') return 401
  if (caller.kind === 'session' && caller.pending) {
    return access.kind === 'session' && access.partial ? 'through' : 401
  }
  if (access.kind === 'session') {
    if (caller.kind !== 'session') return 401
    return access.stepUp && !caller.fresh ? 'step_up_required' : 'through'
  }
  const held =
    caller.kind === 'token'
      ? caller.scope === 'admin'
        ? roleScopes.admin!
        : [caller.scope]
      : roleScopes[caller.role]!
  if (!held.includes(access.scope)) return 403
  if (access.stepUp && caller.kind === 'session' && !caller.fresh) return 'step_up_required'
  return 'through'
}

describe('every route, for every role, every token and no credentials', () => {
  it('lists in OpenAPI exactly the routes of the table, besides the hidden probes', async () => {
    const doc = (await palisade.request('GET', '/docs/json')).body as {
      paths: Record<string, Record<string, unknown>>
    }
    const listed = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`),
    )
    const hidden = ['GET /healthz', 'GET /readyz', 'GET /metrics']
    expect(listed.sort()).toEqual(
      Object.keys(routes)
        .filter((r) => !hidden.includes(r))
        .sort(),
    )
  })

  it('documents the error codes of every people route in OpenAPI', async () => {
    const doc = (await palisade.request('GET', '/docs/json')).body as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>
    }
    const people = /^\/v1\/(session|sessions|enrolment|me|users)\b/
    for (const [path, methods] of Object.entries(doc.paths).filter(([p]) => people.test(p))) {
      for (const [method, operation] of Object.entries(methods)) {
        const errors = JSON.stringify(
          Object.entries(operation.responses).filter(([status]) => status >= '400'),
        )
        expect(errors, `${method} ${path}`).toMatch(/"PAL_[A-Z_]+"/)
      }
    }
    const totp = doc.paths['/v1/session/totp']!.post!.responses
    expect(JSON.stringify(totp['401'])).toContain('PAL_TOTP_REFUSED')
    expect(JSON.stringify(totp['429'])).toContain('PAL_LOCKED_OUT')
    const addUser = doc.paths['/v1/users']!.post!.responses
    expect(JSON.stringify(addUser['401'])).toContain('step_up_required')
  })

  it('answers each caller as the table says', async () => {
    const problems: string[] = []
    for (const [route, access] of Object.entries(routes)) {
      const [method, template] = route.split(' ') as [string, string]
      const path = template.replace(/\{[^}]+\}/g, 'nonexistent')
      for (const [name, caller] of Object.entries(callers)) {
        const headers = await headersFor(caller)
        const withBody = method === 'POST' || method === 'PATCH'
        const response = await fetch(palisade.url + path, {
          method,
          headers: withBody ? { ...headers, 'content-type': 'application/json' } : headers,
          ...(withBody ? { body: '{}' } : {}),
        })
        const text = await response.text()
        const code = (() => {
          try {
            return (JSON.parse(text) as { error?: { code?: string } }).error?.code
          } catch {
            return undefined
          }
        })()
        const want = expected(access, caller)
        const got = response.status
        const ok =
          want === 'through'
            ? got !== 401 && got !== 403 && got < 500
            : want === 'step_up_required'
              ? got === 401 && code === 'step_up_required'
              : got === want
        if (!ok) problems.push(`${route} as ${name}: expected ${want}, got ${got} ${code ?? ''}`)
      }
    }
    expect(problems).toEqual([])
  }, 300_000)
})
