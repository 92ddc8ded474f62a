import { createHmac, randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { Alert } from '../../../platform/alert-model.ts'
import { createSession, findSession } from '../../../platform/state/sessions.ts'
import { findUserByName, hashEnrolmentToken, insertUser } from '../../../platform/state/users.ts'
import { startTestEngine } from '../../helpers/test-engine.ts'
import type { TestEngine } from '../../helpers/test-engine.ts'

const RULES = fileURLToPath(new URL('./rules', import.meta.url))
const USER_BRUTE_FORCE = '6f1d2c3b-8a4e-4f5d-9b6c-7e8f9a0b1c2d'
const SOURCE_BRUTE_FORCE = 'dbc9f7ff-1f83-4fa8-bd48-a06e250c39a6'
const SECRET_ENV = 'PALISADE_TEST_WEBHOOK_KEY'
const secret = randomBytes(32).toString('hex')

/** What the loopback receiver got: the body, and whether its signature checked out. */
const received: { body: any; signed: boolean }[] = []
let receiver: Server
let palisade: TestEngine
let aliceCookie: string

function playbooks(webhook: string): string {
  return `version: 1
playbooks:
  - id: contain-user-brute-force
    match: { rule_ids: [${USER_BRUTE_FORCE}], min_level: high, entity_kinds: [user.name] }
    actions:
      - { type: require_step_up }
      - { type: revoke_sessions }
      - { type: lock_account, approval: true }
      - { type: notify, url: "${webhook}", secret_env: ${SECRET_ENV} }
  - id: block-guessing-source
    match: { rule_ids: [${SOURCE_BRUTE_FORCE}], tags: [attack.t1110.001] }
    actions:
      - { type: block_address, prefix: 24 }
  - id: rehearse-lock
    dry_run: true
    match: { tags: [attack.t1110.001], entity_kinds: [user.name] }
    actions:
      - { type: lock_account }
`
}

beforeAll(async () => {
  process.env[SECRET_ENV] = secret
  receiver = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')))
    request.on('end', () => {
      const timestamp = String(request.headers['x-palisade-timestamp'])
      const expected = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')
      received.push({
        body: JSON.parse(body),
        signed: request.headers['x-palisade-signature'] === `v1=${expected}`,
      })
      response.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  const { port } = receiver.address() as AddressInfo
  const dir = mkdtempSync(join(tmpdir(), 'palisade-playbooks-'))
  const file = join(dir, 'playbooks.yml')
  writeFileSync(file, playbooks(`http://127.0.0.1:${port}/hooks/palisade`))

  palisade = await startTestEngine({ rules: [RULES], access: { playbooks: [file] } })
  const db = palisade.engine.state.db
  const alice = await insertUser(db, {
    name: 'alice',
    role: 'analyst',
    enrolmentHash: hashEnrolmentToken('alice-unused'),
    enrolmentExpiresAt: new Date(Date.now() + 60_000),
  })
  aliceCookie = (await createSession(db, alice.id, new Date())).cookie
}, 120_000)

afterAll(async () => {
  await palisade?.close()
  await new Promise((resolve) => receiver?.close(resolve))
})

function request(address: string, mfaAgeSeconds = 3600) {
  return {
    subject: { type: 'user', id: 'alice' },
    resource: { type: 'console', id: 'alerts', sensitivity: 'low' },
    action: { name: 'read' },
    context: {
      network: { address },
      mfa: { method: 'totp', age_seconds: mfaAgeSeconds },
    },
  }
}

async function decide(address: string, mfaAgeSeconds = 3600) {
  const answer = await palisade.request('POST', '/v1/access/decisions', {
    body: request(address, mfaAgeSeconds),
  })
  return answer.body
}

async function actions(): Promise<any[]> {
  return (await palisade.request('GET', '/v1/response/actions')).body.items
}

function byPlaybook(rows: any[], playbook: string, type: string) {
  return rows.find((r) => r.playbook_id === playbook && r.type === type)
}

async function auditActions(): Promise<string[]> {
  const { store } = palisade.engine
  const result = await store.client.query({
    query: `SELECT entry FROM ${store.database}.audit_entries ORDER BY idx`,
    format: 'JSONEachRow',
  })
  const rows = await result.json<{ entry: string }>()
  return rows.map((r) => JSON.parse(r.entry).action).filter((a) => a.startsWith('response.'))
}

describe('response playbooks acting on a brute force', () => {
  let stored: Alert[]

  it('acts on the alerts as soon as they are stored', async () => {
    const lines: string[] = []
    const end = Date.now()
    for (let i = 0; i < 12; i++) {
      const at = new Date(end - 44_000 + i * 4_000).toISOString()
      lines.push(
        `<38>1 ${at} bastion sshd ${4100 + i} - - Failed password for alice from ` +
          `203.0.113.7 port ${50100 + i} ssh2`,
      )
    }
    const sent = await palisade.request('POST', '/v1/events?format=syslog', {
      body: `${lines.join('\n')}\n`,
      contentType: 'text/plain',
    })
    expect(sent.status).toBe(202)
    stored = (await palisade.request('GET', '/v1/alerts?level=high')).body.items
    expect(stored.map((a) => a.rule.id).sort()).toEqual(
      [USER_BRUTE_FORCE, SOURCE_BRUTE_FORCE].sort(),
    )

    const rows = await actions()
    const states = rows.map((r) => `${r.playbook_id} ${r.type} ${r.state}`).sort()
    expect(states).toEqual([
      'block-guessing-source block_address done',
      'contain-user-brute-force lock_account pending_approval',
      'contain-user-brute-force notify done',
      'contain-user-brute-force require_step_up done',
      'contain-user-brute-force revoke_sessions done',
      'rehearse-lock lock_account dry_run',
    ])
    expect(byPlaybook(rows, 'block-guessing-source', 'block_address').target).toBe('203.0.113.0/24')
  })

  it('ends alice’s sessions and requires her to step up at the next decision', async () => {
    expect(await findSession(palisade.engine.state.db, aliceCookie)).toBeUndefined()
    const decision = await decide('198.51.100.20')
    expect(decision.decision).toBe('step_up')
    expect(decision.reasons.map((r: any) => r.code)).toContain('step_up_required_by_response')
  })

  it('denies every decision from the blocked range, naming the action', async () => {
    const decision = await decide('203.0.113.99', 10)
    const block = byPlaybook(await actions(), 'block-guessing-source', 'block_address')
    expect(decision).toMatchObject({
      decision: 'deny',
      reasons: [{ code: 'address_blocked', action_id: block.id }],
    })
  })

  it('posts one notice signed with HMAC-SHA256 over its time and body', () => {
    expect(received).toHaveLength(1)
    expect(received[0]).toMatchObject({
      signed: true,
      body: { state: 'done', playbook: 'contain-user-brute-force', entity: { value: 'alice' } },
    })
  })

  it('acts once when the same alerts are delivered again', async () => {
    const before = await actions()
    await palisade.engine.responder.handle(stored)
    await palisade.engine.responder.handle(stored)
    const after = await actions()
    expect(after.map((r) => `${r.id} ${r.state}`).sort()).toEqual(
      before.map((r) => `${r.id} ${r.state}`).sort(),
    )
    expect(received).toHaveLength(1)
  })

  it('only records what a dry run would do, and leaves alice’s account alone', async () => {
    const rehearsal = byPlaybook(await actions(), 'rehearse-lock', 'lock_account')
    expect(rehearsal.detail).toBe('would lock the account alice')
    const alice = await findUserByName(palisade.engine.state.db, 'alice')
    expect(alice?.disabled_at).toBeNull()
  })

  it('locks alice only once an admin approves, and undo restores her account', async () => {
    const lock = byPlaybook(await actions(), 'contain-user-brute-force', 'lock_account')
    const approved = await palisade.request('POST', `/v1/response/actions/${lock.id}/approve`)
    expect(approved.status).toBe(200)
    expect(approved.body.state).toBe('done')
    expect((await findUserByName(palisade.engine.state.db, 'alice'))?.disabled_at).not.toBeNull()
    expect((await decide('198.51.100.20', 10)).decision).toBe('deny')

    const again = await palisade.request('POST', `/v1/response/actions/${lock.id}/approve`)
    expect(again.status).toBe(409)
    expect(again.body.error.message).toBe(
      'expected an action waiting for approval, got one in state done',
    )

    const undone = await palisade.request('POST', `/v1/response/actions/${lock.id}/undo`)
    expect(undone.body).toMatchObject({
      state: 'undone',
      detail: 'account alice restored to enabled',
    })
    expect((await findUserByName(palisade.engine.state.db, 'alice'))?.disabled_at).toBeNull()
  })

  it('lifts the block and the step-up when they are undone', async () => {
    const rows = await actions()
    for (const type of ['block_address', 'require_step_up']) {
      const row = rows.find((r) => r.type === type)
      const undone = await palisade.request('POST', `/v1/response/actions/${row.id}/undo`)
      expect(undone.body.state).toBe('undone')
    }
    const fromRange = await decide('203.0.113.99', 10)
    expect(fromRange.reasons.map((r: any) => r.code)).not.toContain('address_blocked')
    expect(fromRange.decision).toBe('allow')
  })

  it('sends a signed retraction when a notice is undone', async () => {
    const notice = byPlaybook(await actions(), 'contain-user-brute-force', 'notify')
    await palisade.request('POST', `/v1/response/actions/${notice.id}/undo`)
    expect(received.map((r) => [r.body.state, r.signed])).toEqual([
      ['done', true],
      ['undone', true],
    ])
  })

  it('audits every action, approval and undo', async () => {
    const audited = await auditActions()
    const count = (action: string) => audited.filter((a) => a === action).length
    expect(count('response.start')).toBe(4)
    expect(count('response.execute')).toBe(5)
    expect(count('response.pending_approval')).toBe(1)
    expect(count('response.dry_run')).toBe(1)
    expect(count('response.approve')).toBe(1)
    expect(count('response.undo')).toBe(4)
  })
})
