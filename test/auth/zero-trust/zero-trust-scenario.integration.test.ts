import { fileURLToPath } from 'node:url'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { createToken } from '../../../platform/state/api-tokens.ts'
import { createSession } from '../../../platform/state/sessions.ts'
import { hashEnrolmentToken, insertUser } from '../../../platform/state/users.ts'
import { startTestEngine } from '../../helpers/test-engine.ts'
import type { TestEngine } from '../../helpers/test-engine.ts'

const RULES = fileURLToPath(new URL('./rules', import.meta.url))
const ATTACKER = '203.0.113.7'
const ALICE_LAPTOP = '198.51.100.20'

/** The test's clock: decisions and risk decay read it, and the test moves it. */
let clock = new Date()
let palisade: TestEngine
let decideToken: string
let analystCookie: string

beforeAll(async () => {
  palisade = await startTestEngine({ rules: [RULES] }, { now: () => clock })
  const db = palisade.engine.state.db
  await insertUser(db, {
    name: 'alice',
    role: 'admin',
    enrolmentHash: hashEnrolmentToken('alice-unused'),
    enrolmentExpiresAt: new Date(Date.now() + 60_000),
  })
  const analyst = await insertUser(db, {
    name: 'ana',
    role: 'analyst',
    enrolmentHash: hashEnrolmentToken('ana-unused'),
    enrolmentExpiresAt: new Date(Date.now() + 60_000),
  })
  analystCookie = (await createSession(db, analyst.id, new Date())).cookie
  decideToken = (await createToken(db, 'gateway', ['decide'])).token
}, 120_000)

afterAll(async () => {
  await palisade?.close()
})

/** What a gateway in front of an admin console would ask for alice, on her laptop. */
function aliceRequest(mfaAgeSeconds = 3600) {
  return {
    subject: { type: 'user', id: 'alice' },
    resource: { type: 'console', id: 'alerts', sensitivity: 'medium' },
    action: { name: 'read' },
    context: {
      device: { id: 'laptop-7', managed: true, compliant: true },
      network: { address: ALICE_LAPTOP },
      location: { country: 'GB' },
      mfa: { method: 'totp', age_seconds: mfaAgeSeconds },
      session: { id: 's-1', age_seconds: 600 },
    },
  }
}

/** Asks for a decision; the clock moves a second after each, as it would between requests. */
async function decide(body: object = aliceRequest()) {
  const answer = await palisade.request('POST', '/v1/access/decisions', {
    body,
    token: decideToken,
  })
  clock = new Date(clock.getTime() + 1000)
  return answer
}

/** A high alert a few seconds old weighs 50, decayed by a few thousandths of its half-life. */
function expectFreshHighRisk(score: number) {
  expect(score).toBeGreaterThanOrEqual(49)
  expect(score).toBeLessThanOrEqual(50)
}

/** Twelve failed SSH logins for alice, 4 s apart up to `end`, as RFC 5424 syslog lines. */
function bruteForceLines(end: Date, port: number): string {
  const lines: string[] = []
  for (let i = 0; i < 12; i++) {
    const at = new Date(end.getTime() - 44_000 + i * 4_000).toISOString()
    lines.push(
      `<38>1 ${at} bastion sshd ${4100 + i} - - Failed password for alice from ${ATTACKER} ` +
        `port ${port + i} ssh2`,
    )
  }
  return `${lines.join('\n')}\n`
}

async function replay(end: Date, port: number) {
  const sent = await palisade.request('POST', '/v1/events?format=syslog', {
    body: bruteForceLines(end, port),
    contentType: 'text/plain',
  })
  expect(sent.status).toBe(202)
  return sent.body
}

async function auditEntries(action: string): Promise<any[]> {
  const { store } = palisade.engine
  const result = await store.client.query({
    query: `SELECT entry FROM ${store.database}.audit_entries ORDER BY idx`,
    format: 'JSONEachRow',
  })
  const rows = await result.json<{ entry: string }>()
  return rows.map((r) => JSON.parse(r.entry)).filter((e) => e.action === action)
}

describe('a brute force against a user changes what the user may do at the next decision', () => {
  let alertId: string

  it('allows alice while nothing is known against her', async () => {
    const answer = await decide()
    expect(answer.status).toBe(200)
    expect(answer.body).toMatchObject({
      decision: 'allow',
      policies: ['enabled-users-may-act'],
      obligations: ['re-authenticate within 12 hours'],
      risk: { score: 0, user: 0, address: 0 },
    })
  })

  it('steps alice up at the first decision after the brute-force alert is stored, naming it', async () => {
    const result = await replay(clock, 50100)
    expect(result.alerts).toBeGreaterThanOrEqual(1)
    const alerts = await palisade.request(
      'GET',
      `/v1/alerts?rule_id=6f1d2c3b-8a4e-4f5d-9b6c-7e8f9a0b1c2d`,
    )
    expect(alerts.body.items).toHaveLength(1)
    alertId = alerts.body.items[0].id
    expect(alerts.body.items[0].entity).toEqual({ kind: 'user.name', value: 'alice' })

    const answer = await decide()
    expect(answer.status).toBe(200)
    expect(answer.body.decision).toBe('step_up')
    expect(answer.body.policies).toEqual(['step-up-on-elevated-risk'])
    expect(answer.body.obligations).toEqual(['verify a second factor within 5 minutes'])
    expectFreshHighRisk(answer.body.risk.user)
    const named = answer.body.reasons.find((r: any) => r.alert_id === alertId)
    expect(named.message).toContain('SSH Brute Force Against One User')
  })

  it('shows the risk and the alert behind it through the API', async () => {
    const risk = await palisade.request('GET', '/v1/risk/user/alice')
    expect(risk.status).toBe(200)
    expect(risk.body).toMatchObject({ kind: 'user', value: 'alice' })
    expectFreshHighRisk(risk.body.score)
    expect(risk.body.contributions[0]).toMatchObject({ alert_id: alertId, level: 'high' })
  })

  it('allows alice again once she verifies a fresh second factor', async () => {
    const answer = await decide(aliceRequest(30))
    expect(answer.body.decision).toBe('allow')
    expectFreshHighRisk(answer.body.risk.user)
  })

  it('lifts the restriction when the risk has decayed, with the clock moved an hour', async () => {
    clock = new Date(clock.getTime() + 61 * 60_000)
    const answer = await decide()
    expect(answer.body.decision).toBe('allow')
    expect(answer.body.risk.user).toBeLessThan(40)
  })

  it('lifts the restriction when an analyst clears alice after triage', async () => {
    await replay(clock, 50200)
    expect((await decide()).body.decision).toBe('step_up')

    const cleared = await fetch(`${palisade.url}/v1/risk/user/alice/clear`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        cookie: `palisade_session=${analystCookie}`,
      },
      body: JSON.stringify({ reason: 'alice was travelling and mistyped; confirmed by phone' }),
    })
    expect(cleared.status).toBe(200)
    const body = (await cleared.json()) as any
    expect(body.before.score).toBeGreaterThanOrEqual(40)
    expect(body.after.score).toBe(0)
    expect((await decide()).body.decision).toBe('allow')
    const [entry] = await auditEntries('risk.clear')
    expect(entry).toMatchObject({
      actor: { kind: 'user', name: 'ana' },
      target: { kind: 'risk.user', id: 'alice' },
    })
  })

  it('logs every decision in ClickHouse and audits each step-up with the alert behind it', async () => {
    const log = await palisade.request('GET', '/v1/access/decisions?subject=alice&limit=100')
    expect(log.status).toBe(200)
    const outcomes = log.body.items.map((d: any) => d.decision).reverse()
    expect(outcomes).toEqual(['allow', 'step_up', 'allow', 'allow', 'step_up', 'allow'])
    const audited = await auditEntries('access.decide')
    expect(audited.map((e) => e.details.decision)).toEqual(['step_up', 'step_up'])
    expect(audited[0].details.alerts).toContain(alertId)
    expect(audited[0]).toMatchObject({ outcome: 'denied', target: { kind: 'user', id: 'alice' } })
  })
})

describe('the decision point fails closed on the API', () => {
  it('denies a malformed request with 400 and says what was expected, what came and where', async () => {
    const request = aliceRequest() as any
    request.context.network.address = 'not-an-address'
    request.context.device.colour = 'blue'
    const answer = await decide(request)
    expect(answer.status).toBe(400)
    expect(answer.body.decision).toBe('deny')
    expect(answer.body.error.code).toBe('PAL_DECISION_REQUEST_INVALID')
    const paths = answer.body.error.problems.map((p: any) => p.path)
    expect(paths).toEqual(expect.arrayContaining(['context.network.address', 'context.device']))
    expect(answer.body.error.message).toContain('colour')
  })

  it.each([
    ['an empty body', ''],
    ['a body that is not JSON', '{"subject":'],
    ['a __proto__ key', '{"__proto__": {"admin": true}, "subject": {"type": "user"}}'],
    ['a constructor key', '{"constructor": {"prototype": {"admin": true}}}'],
  ])('denies %s with 400 and a decision, as it denies any malformed request', async (_, body) => {
    const answer = await palisade.request('POST', '/v1/access/decisions', {
      body,
      contentType: 'application/json',
      token: decideToken,
    })
    expect(answer.status).toBe(400)
    expect(answer.body.decision).toBe('deny')
    expect(answer.body.reasons).toMatchObject([{ code: 'malformed_request', path: '(root)' }])
    expect(answer.body.error.code).toBe('PAL_DECISION_REQUEST_INVALID')
    expect(answer.body.error.message).toContain('expected a JSON object')
  })

  it('denies a subject Palisade does not know', async () => {
    const request = aliceRequest() as any
    request.subject.id = 'mallory'
    const answer = await decide(request)
    expect(answer.status).toBe(200)
    expect(answer.body).toMatchObject({ decision: 'deny', reasons: [{ code: 'unknown_subject' }] })
  })

  it('refuses a token without the decide scope before reading the request', async () => {
    const read = (await createToken(palisade.engine.state.db, 'reader', ['read'])).token
    const answer = await palisade.request('POST', '/v1/access/decisions', {
      body: aliceRequest(),
      token: read,
    })
    expect(answer.status).toBe(403)
  })
})

describe('policies as data on the API', () => {
  it('refuses a policy set that fails validation, keeps the one in force and audits both', async () => {
    const before = await palisade.request('GET', '/v1/access/policies')
    expect(before.body.version).toBe(1)

    const refused = await palisade.request('PUT', '/v1/access/policies', {
      body: { policies: 'permit (principal, action, resource) when { context.device.managed };' },
    })
    expect(refused.status).toBe(422)
    expect(refused.body.error.code).toBe('PAL_POLICY_INVALID')
    expect(refused.body.error.message).toContain('device.managed')
    expect(refused.body.error.version_in_force).toBe(1)
    expect((await decide()).body.decision).toBe('allow')

    const accepted = await palisade.request('PUT', '/v1/access/policies', {
      body: {
        policies:
          '@id("only-write") permit (principal, action == Palisade::Action::"write", resource);',
      },
    })
    expect(accepted.status).toBe(200)
    expect(accepted.body.version).toBe(2)
    const answer = await decide()
    expect(answer.body).toMatchObject({
      decision: 'deny',
      policy_version: 2,
      reasons: [{ code: 'not_permitted' }],
    })
    const audited = await auditEntries('policy.update')
    expect(audited.map((e) => e.outcome)).toEqual(['success', 'failure', 'success'])
  })
})
