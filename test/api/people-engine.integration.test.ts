import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { promisify } from 'node:util'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { repoRoot, startTestEngine } from '../helpers/test-engine.ts'
import type { TestEngine } from '../helpers/test-engine.ts'

const KEK = 'PALISADE_TEST_KEK_ENGINE'
let palisade: TestEngine

beforeAll(async () => {
  process.env[KEK] = randomBytes(32).toString('base64')
  palisade = await startTestEngine({ people: { kekEnv: KEK } })
}, 120_000)

afterAll(async () => {
  await palisade?.close()
})

/** The CLI as a user runs it, against this engine with its first-start admin token. */
async function cli(args: string[]) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('PALISADE_')),
  )
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(repoRoot, 'bin', 'palisade.js'), ...args, '--url', palisade.url],
    { env: { ...clean, PALISADE_TOKEN: palisade.adminToken } },
  )
  return stdout
}

async function signIn(name: string, password: string) {
  const response = await fetch(`${palisade.url}/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, password }),
  })
  const cookie = /palisade_session=([^;]+)/.exec(response.headers.get('set-cookie') ?? '')?.[1]
  return { status: response.status, cookie, setCookie: response.headers.get('set-cookie') ?? '' }
}

describe('people on a running engine', () => {
  let userId: string
  const password = 'a passphrase of some length'

  it('adds the first admin with palisade users add, whose one-time link sets a password', async () => {
    const out = await cli(['users', 'add', '--role', 'admin', 'alice'])
    expect(out).toMatch(/^added alice \(admin\), id \S+/)
    const link = /^\s+(http\S+)$/m.exec(out)![1]!
    const token = new URL(link).hash.slice(1)
    expect(token).toMatch(/^pal_enrol_/)
    const enrol = await palisade.request('POST', '/v1/enrolment', {
      body: { token, password },
      token: null,
    })
    expect(enrol.status).toBe(204)
    const list = JSON.parse(await cli(['users', 'list', '--json']))
    expect(list.items).toMatchObject([{ name: 'alice', role: 'admin', enrolled: true }])
    userId = list.items[0].id
  })

  it('leaves Secure off the cookie only because this is plain HTTP on loopback', async () => {
    const { status, setCookie } = await signIn('alice', password)
    expect(status).toBe(201)
    expect(setCookie).toMatch(/HttpOnly/)
    expect(setCookie).toMatch(/SameSite=Strict/)
    expect(setCookie).not.toMatch(/Secure/)
  })

  it('stores sign-ins as events and alerts on a sign-in soon after a factor reset', async () => {
    const reset = await palisade.request('POST', `/v1/users/${userId}/factor-reset`)
    expect(reset.status).toBe(200)
    expect((await signIn('alice', password)).status).toBe(201)

    const alerts = await palisade.request(
      'GET',
      `/v1/alerts?q=${encodeURIComponent('Soon After a Factor Reset')}`,
    )
    expect(alerts.body.items).toHaveLength(1)
    expect(alerts.body.items[0]).toMatchObject({ level: 'medium' })

    const failed = await signIn('alice', 'not the passphrase')
    expect(failed.status).toBe(401)
    const events = await palisade.request('GET', '/v1/events?limit=50')
    const auth = events.body.items.filter(
      (e: { event?: { dataset?: string } }) => e.event?.dataset === 'palisade.auth',
    )
    expect(auth[0]).toMatchObject({
      event: { category: ['authentication'], action: 'sign_in', outcome: 'failure' },
      user: { name: 'alice' },
    })
    expect(JSON.stringify(events.body)).not.toContain('not the passphrase')
  })
})
