import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { addPerson, Browser, ORIGIN, startPeopleApp } from '../helpers/people-app.ts'
import type { PeopleApp } from '../helpers/people-app.ts'
import { SoftwareAuthenticator } from '../helpers/software-authenticator.ts'
import type { CeremonyOverrides } from '../helpers/software-authenticator.ts'

let people: PeopleApp
const password = 'correct horse battery staple'
const key = new SoftwareAuthenticator(ORIGIN)

beforeAll(async () => {
  people = await startPeopleApp()
  await addPerson(people, 'grace', 'admin', password)
})

afterAll(async () => {
  await people?.close()
})

async function signIn(ip?: string): Promise<Browser> {
  const browser = new Browser(people.app, ip)
  expect((await browser.send('POST', '/v1/session', { name: 'grace', password })).status).toBe(201)
  return browser
}

async function register(browser: Browser, authenticator = key, overrides?: CeremonyOverrides) {
  const options = await browser.send('POST', '/v1/me/webauthn/registration-options')
  expect(options.status).toBe(200)
  const response = authenticator.create(options.body, overrides)
  return browser.send('POST', '/v1/me/webauthn/credentials', { name: 'yubikey', response })
}

/** Asks for a challenge and answers it with `key` (changed as told). */
async function assert(browser: Browser, overrides?: CeremonyOverrides) {
  const options = await browser.send('POST', '/v1/session/webauthn/options')
  expect(options.status).toBe(200)
  const response = key.get(options.body, overrides)
  return { answer: await browser.send('POST', '/v1/session/webauthn', response), response }
}

/** The counter stored for `key`'s credential. */
async function storedCounter(): Promise<number> {
  const row = await people.state.db
    .selectFrom('webauthn_credentials')
    .select('counter')
    .where('id', '=', key.credentials[0]!.id.toString('base64url'))
    .executeTakeFirstOrThrow()
  return Number(row.counter)
}

const sessionMfaAt = async (browser: Browser) =>
  (await browser.send('GET', '/v1/session')).body.mfa_at as string | null

describe('WebAuthn: registration', () => {
  it('registers a security key from a real attestation response', async () => {
    const browser = await signIn()
    const answer = await register(browser)
    expect(answer.status).toBe(201)
    expect(answer.body.credential).toMatchObject({ name: 'yubikey' })
    expect(answer.body.session.mfa_method).toBe('webauthn')
    expect(people.events.at(-2)).toMatchObject({
      event: { action: 'factor_add', dataset: 'palisade.auth' },
      labels: { factor: 'webauthn' },
    })
  })

  it('refuses a registration answering another challenge, origin or RP id', async () => {
    const browser = await signIn()
    await assert(browser)
    for (const overrides of [
      { challenge: Buffer.from('not the challenge').toString('base64url') },
      { origin: 'https://evil.example' },
      { rpId: 'evil.example' },
    ]) {
      const answer = await register(browser, new SoftwareAuthenticator(ORIGIN), overrides)
      expect(answer.status).toBe(400)
      expect(answer.body.error.code).toBe('PAL_WEBAUTHN_REFUSED')
    }
    const count = await people.state.db.selectFrom('webauthn_credentials').selectAll().execute()
    expect(count).toHaveLength(1)
  })

  it('holds several credentials per user, the second added after a step-up', async () => {
    const browser = await signIn()
    const refused = await browser.send('POST', '/v1/me/webauthn/registration-options')
    expect(refused.status).toBe(401)
    expect(refused.body.error.code).toBe('PAL_MFA_REQUIRED')
    expect((await assert(browser)).answer.status).toBe(200)
    const second = new SoftwareAuthenticator(ORIGIN)
    expect((await register(browser, second)).status).toBe(201)
    const factors = await browser.send('GET', '/v1/me/factors')
    expect(factors.body.webauthn).toHaveLength(2)
    // The second key signs in too.
    const other = await signIn()
    const options = await other.send('POST', '/v1/session/webauthn/options')
    expect(options.body.allowCredentials).toHaveLength(2)
    const answer = await other.send('POST', '/v1/session/webauthn', second.get(options.body))
    expect(answer.status).toBe(200)
  })
})

describe('WebAuthn: authentication', () => {
  it('completes sign-in with a real assertion, under a new session id', async () => {
    const browser = await signIn()
    const before = browser.cookie
    const counter = await storedCounter()
    const { answer } = await assert(browser)
    expect(answer.status).toBe(200)
    expect(answer.body.mfa_method).toBe('webauthn')
    expect(browser.cookie).not.toBe(before)
    expect(await storedCounter()).toBe(counter + 1)
  })

  it.each([
    ['a wrong challenge', { challenge: Buffer.from('another').toString('base64url') }],
    ['a wrong origin', { origin: 'https://palisade.example.evil' }],
    ['a wrong RP id', { rpId: 'evil.example' }],
    ['a wrong ceremony type', { type: 'webauthn.create' }],
  ])('refuses %s with 400 and changes nothing', async (_name, overrides) => {
    const browser = await signIn()
    const counter = await storedCounter()
    const { answer } = await assert(browser, overrides)
    expect(answer.status).toBe(400)
    expect(answer.body.error.code).toBe('PAL_WEBAUTHN_REFUSED')
    expect(await sessionMfaAt(browser)).toBeNull()
    expect(await storedCounter()).toBe(counter)
  })

  it('refuses an answer to an expired challenge', async () => {
    const browser = await signIn()
    const options = await browser.send('POST', '/v1/session/webauthn/options')
    people.clock.now += 5 * 60_000 + 1
    const answer = await browser.send('POST', '/v1/session/webauthn', key.get(options.body))
    expect(answer.status).toBe(400)
    expect(answer.body.error.code).toBe('PAL_WEBAUTHN_NO_CHALLENGE')
    expect(await sessionMfaAt(browser)).toBeNull()
  })

  it('refuses a replayed assertion, with or without a new challenge', async () => {
    const browser = await signIn()
    const { answer, response } = await assert(browser)
    expect(answer.status).toBe(200)
    const replay = await signIn()
    const again = await replay.send('POST', '/v1/session/webauthn', response)
    expect(again.status).toBe(400)
    expect(again.body.error.code).toBe('PAL_WEBAUTHN_NO_CHALLENGE')
    await replay.send('POST', '/v1/session/webauthn/options')
    const later = await replay.send('POST', '/v1/session/webauthn', response)
    expect(later.status).toBe(400)
    expect(later.body.error.code).toBe('PAL_WEBAUTHN_REFUSED')
    expect(await sessionMfaAt(replay)).toBeNull()
  })

  it('refuses a sign counter that went backwards as a cloned key, alerted and audited', async () => {
    const browser = await signIn()
    const counter = await storedCounter()
    const { answer } = await assert(browser, { counter: counter - 1 })
    expect(answer.status).toBe(401)
    expect(answer.body.error.code).toBe('PAL_CLONED_AUTHENTICATOR')
    expect(await storedCounter()).toBe(counter)
    expect(await sessionMfaAt(browser)).toBeNull()
    expect(people.audit.at(-1)).toMatchObject({
      action: 'auth.cloned_authenticator',
      outcome: 'failure',
      details: { stored_counter: counter, received_counter: counter - 1 },
    })
    expect(people.events.at(-1)).toMatchObject({
      event: { kind: 'alert', action: 'cloned_authenticator', dataset: 'palisade.auth' },
    })
  })

  it('refuses an unsigned response with a lower counter as forged, not as a clone', async () => {
    const browser = await signIn()
    const counter = await storedCounter()
    const options = await browser.send('POST', '/v1/session/webauthn/options')
    const response = key.get(options.body, { counter: counter - 1 })
    response.response.signature = Buffer.alloc(70, 1).toString('base64url')
    const answer = await browser.send('POST', '/v1/session/webauthn', response)
    expect(answer.status).toBe(400)
    expect(answer.body.error.code).toBe('PAL_WEBAUTHN_REFUSED')
    expect(people.audit.at(-1)?.action).not.toBe('auth.cloned_authenticator')
  })

  it('asks for user verification at step-up and refuses an assertion without it', async () => {
    const browser = await signIn()
    expect((await assert(browser)).answer.status).toBe(200)
    const options = await browser.send('POST', '/v1/session/webauthn/options')
    expect(options.body.userVerification).toBe('required')
    const without = key.get(options.body, { userVerified: false })
    const refused = await browser.send('POST', '/v1/session/webauthn', without)
    expect(refused.status).toBe(400)
    expect(refused.body.error.code).toBe('PAL_WEBAUTHN_REFUSED')
  })

  describe('refuses malformed payloads with 400 and a path', () => {
    const cases: [string, (r: Record<string, any>) => void][] = [
      ['no id', (r) => delete r.id],
      ['an id not base64url', (r) => (r.id = 'not base64url!')],
      ['a numeric rawId', (r) => (r.rawId = 42)],
      ['a wrong type', (r) => (r.type = 'password')],
      ['no response', (r) => delete r.response],
      ['clientDataJSON not base64url', (r) => (r.response.clientDataJSON = '{"a":1}')],
      ['an empty authenticatorData', (r) => (r.response.authenticatorData = '')],
      ['a signature as an array', (r) => (r.response.signature = [1, 2])],
      ['a huge signature', (r) => (r.response.signature = 'A'.repeat(5000))],
      ['an unknown field', (r) => (r.extra = true)],
      ['clientExtensionResults not an object', (r) => (r.clientExtensionResults = 'x')],
      ['an unknown attachment', (r) => (r.authenticatorAttachment = 'usb')],
    ]
    it.each(cases)('%s', async (_name, spoil) => {
      const browser = await signIn()
      const options = await browser.send('POST', '/v1/session/webauthn/options')
      const response = structuredClone(key.get(options.body)) as Record<string, any>
      spoil(response)
      const answer = await browser.send('POST', '/v1/session/webauthn', response)
      expect(answer.status).toBe(400)
      expect(answer.body.error.code).toBe('PAL_INVALID_REQUEST')
      expect(await sessionMfaAt(browser)).toBeNull()
    })

    it('clientDataJSON that is base64url but not JSON', async () => {
      const browser = await signIn()
      const options = await browser.send('POST', '/v1/session/webauthn/options')
      const response = key.get(options.body)
      response.response.clientDataJSON = Buffer.from('not json').toString('base64url')
      const answer = await browser.send('POST', '/v1/session/webauthn', response)
      expect(answer.status).toBe(400)
      expect(answer.body.error.code).toBe('PAL_WEBAUTHN_REFUSED')
    })

    it('authenticatorData that is too short', async () => {
      const browser = await signIn()
      const options = await browser.send('POST', '/v1/session/webauthn/options')
      const response = key.get(options.body)
      response.response.authenticatorData = Buffer.alloc(10).toString('base64url')
      const answer = await browser.send('POST', '/v1/session/webauthn', response)
      expect(answer.status).toBe(400)
      expect(answer.body.error.code).toBe('PAL_WEBAUTHN_REFUSED')
    })
  })
})

describe('WebAuthn: attestation policy', () => {
  it('refuses a key without attestation when the policy is direct', async () => {
    const strict = await startPeopleApp({ attestation: 'direct' })
    try {
      await addPerson(strict, 'heidi', 'analyst', password)
      const browser = new Browser(strict.app)
      await browser.send('POST', '/v1/session', { name: 'heidi', password })
      const options = await browser.send('POST', '/v1/me/webauthn/registration-options')
      expect(options.body.attestation).toBe('direct')
      const response = new SoftwareAuthenticator(ORIGIN).create(options.body)
      const answer = await browser.send('POST', '/v1/me/webauthn/credentials', { response })
      expect(answer.status).toBe(400)
      expect(answer.body.error.code).toBe('PAL_ATTESTATION_REQUIRED')
      expect(
        await strict.state.db.selectFrom('webauthn_credentials').selectAll().execute(),
      ).toEqual([])
    } finally {
      await strict.close()
    }
  })
})
