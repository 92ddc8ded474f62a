import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { afterAll, describe, expect, it } from 'vitest'

import { hashEnrolmentToken, insertUser } from '../../../platform/state/users.ts'
import { startTestEngine } from '../../helpers/test-engine.ts'
import type { TestEngine } from '../../helpers/test-engine.ts'

const RULES = fileURLToPath(new URL('./rules', import.meta.url))
const dataDir = mkdtempSync(join(tmpdir(), 'palisade-risk-restart-'))
let palisade: TestEngine | undefined

afterAll(async () => {
  await palisade?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

function ask(user: string) {
  return {
    subject: { type: 'user', id: user },
    resource: { type: 'console', id: 'alerts', sensitivity: 'low' },
    action: { name: 'read' },
    context: { network: { address: '198.51.100.20' }, mfa: { method: 'totp', age_seconds: 900 } },
  }
}

async function decide(user: string) {
  return (await palisade!.request('POST', '/v1/access/decisions', { body: ask(user) })).body
}

async function bruteForce(user: string) {
  const end = Date.now()
  const lines = Array.from({ length: 12 }, (_, i) => {
    const at = new Date(end - 44_000 + i * 4_000).toISOString()
    return `<38>1 ${at} bastion sshd ${4100 + i} - - Failed password for ${user} from 203.0.113.7 port ${50100 + i} ssh2`
  })
  const sent = await palisade!.request('POST', '/v1/events?format=syslog', {
    body: `${lines.join('\n')}\n`,
    contentType: 'text/plain',
  })
  expect(sent.status).toBe(202)
}

describe('zero-trust state across a restart', () => {
  it('keeps a stored alert’s weight, an analyst’s clearance and the policy version', async () => {
    palisade = await startTestEngine({ dataDir, rules: [RULES] })
    for (const name of ['dora', 'erin']) {
      await insertUser(palisade.engine.state.db, {
        name,
        role: 'analyst',
        enrolmentHash: hashEnrolmentToken(`${name}-unused`),
        enrolmentExpiresAt: new Date(Date.now() + 60_000),
      })
    }
    await bruteForce('dora')
    await bruteForce('erin')
    expect((await decide('dora')).decision).toBe('step_up')
    const cleared = await palisade.request('POST', '/v1/risk/user/erin/clear', {
      body: { reason: 'a scheduled test of the SSH lockout' },
    })
    expect(cleared.status).toBe(200)
    const policies = (await palisade.request('GET', '/v1/access/policies')).body.policies
    const put = await palisade.request('PUT', '/v1/access/policies', {
      body: { policies: `${policies}\n@id("extra") permit (principal, action, resource);\n` },
    })
    expect(put.body.version).toBe(2)
    await palisade.close()

    palisade = await startTestEngine({ dataDir, rules: [RULES] })
    const dora = await decide('dora')
    expect(dora.decision).toBe('step_up')
    expect(dora.policy_version).toBe(2)
    expect(dora.reasons.map((r: any) => r.code)).toContain('risk_alert')
    expect((await decide('erin')).decision).toBe('allow')
  })
})
