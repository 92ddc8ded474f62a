import { generate } from 'otplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { createToken, findToken } from '../../platform/state/api-tokens.ts'
import { addPerson, Browser, startPeopleApp } from '../helpers/people-app.ts'
import type { PeopleApp } from '../helpers/people-app.ts'

let people: PeopleApp

beforeAll(async () => {
  people = await startPeopleApp()
})

afterAll(async () => {
  await people?.close()
})

const minutes = (n: number) => {
  people.clock.now += n * 60_000
}

async function signIn(name: string, password: string, ip?: string): Promise<Browser> {
  const browser = new Browser(people.app, ip)
  const answer = await browser.send('POST', '/v1/session', { name, password })
  expect(answer.status).toBe(201)
  return browser
}

/** Enrols TOTP for a signed-in browser; returns the secret read from the otpauth URI. */
async function enrolTotp(browser: Browser): Promise<string> {
  const started = await browser.send('POST', '/v1/me/totp')
  expect(started.status).toBe(200)
  const secret = new URL(started.body.otpauth_uri).searchParams.get('secret')!
  const code = await totpAt(secret, people.clock.now)
  expect((await browser.send('POST', '/v1/me/totp/confirm', { code })).status).toBe(200)
  return secret
}

const totpAt = (secret: string, ms: number) => generate({ secret, epoch: Math.floor(ms / 1000) })

/** Moves the clock to the start of the next 30-second step, so each code is a fresh one. */
function nextStep() {
  people.clock.now = (Math.floor(people.clock.now / 30_000) + 1) * 30_000 + 1_000
}

describe('people: enrolment and sign-in', () => {
  it('adds a person with a one-time enrolment link that works once', async () => {
    const added = await people.app.inject({
      method: 'POST',
      url: '/v1/users',
      headers: { authorization: `Bearer ${people.adminToken}` },
      payload: { name: 'erin', role: 'analyst' },
    })
    expect(added.statusCode).toBe(201)
    const body = added.json()
    expect(body.user).toMatchObject({ name: 'erin', role: 'analyst', enrolled: false })
    expect(body.enrolment_url).toBe(`https://palisade.example/enrol#${body.enrolment_token}`)

    const enrol = (password: string) =>
      people.app.inject({
        method: 'POST',
        url: '/v1/enrolment',
        payload: { token: body.enrolment_token, password },
      })
    expect((await enrol('short')).statusCode).toBe(400)
    expect((await enrol('a long enough passphrase')).statusCode).toBe(204)
    const again = await enrol('another long passphrase')
    expect(again.statusCode).toBe(401)
    expect(again.json().error.code).toBe('PAL_ENROLMENT_INVALID')
  })

  it('sets an httpOnly, Secure, SameSite=Strict session cookie at sign-in', async () => {
    const { password } = await addPerson(people, 'alice', 'analyst')
    const browser = new Browser(people.app)
    const answer = await browser.send('POST', '/v1/session', { name: 'alice', password })
    expect(answer.status).toBe(201)
    expect(answer.body).toMatchObject({ user: { name: 'alice' }, mfa_required: false })
    const cookie = answer.response.cookies.find((c) => c.name === 'palisade_session')!
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/' })
    expect((await browser.send('GET', '/v1/session')).body.user.name).toBe('alice')
  })

  it('answers a wrong password and an unknown name alike, and records both', async () => {
    const wrong = await new Browser(people.app).send('POST', '/v1/session', {
      name: 'alice',
      password: 'not it at all',
    })
    const unknown = await new Browser(people.app).send('POST', '/v1/session', {
      name: 'nobody',
      password: 'not it at all',
    })
    expect(wrong.status).toBe(401)
    expect(unknown.status).toBe(401)
    expect(wrong.body).toEqual(unknown.body)
    expect(wrong.response.cookies).toEqual([])

    const failures = people.events.filter(
      (e) => (e.event as { action: string; outcome: string }).outcome === 'failure',
    )
    expect(failures.at(-2)).toMatchObject({
      event: {
        category: ['authentication'],
        dataset: 'palisade.auth',
        action: 'sign_in',
        outcome: 'failure',
      },
      user: { name: 'alice' },
      source: { ip: '192.0.2.10' },
      labels: { reason: 'wrong_password' },
    })
    expect(people.audit.at(-1)).toMatchObject({ action: 'auth.sign_in', outcome: 'failure' })
  })

  it('gives a new session id at sign-in, ending the session the browser had', async () => {
    const browser = await signIn('alice', 'correct horse battery staple')
    const before = browser.cookie
    await browser.send('POST', '/v1/session', {
      name: 'alice',
      password: 'correct horse battery staple',
    })
    expect(browser.cookie).not.toBe(before)
    const stale = new Browser(people.app)
    stale.cookie = before
    expect((await stale.send('GET', '/v1/session')).status).toBe(401)
  })

  it('ends a session idle for longer than the idle timeout', async () => {
    const browser = await signIn('alice', 'correct horse battery staple')
    minutes(29)
    expect((await browser.send('GET', '/v1/session')).status).toBe(200)
    minutes(29)
    expect((await browser.send('GET', '/v1/session')).status).toBe(200)
    minutes(31)
    const ended = await browser.send('GET', '/v1/session')
    expect(ended.status).toBe(401)
    expect(ended.body.error.code).toBe('PAL_SESSION_EXPIRED')
  })

  it('ends a busy session at the absolute timeout', async () => {
    const browser = await signIn('alice', 'correct horse battery staple')
    for (let i = 0; i < 24; i++) {
      minutes(29)
      expect((await browser.send('GET', '/v1/session')).status).toBe(200)
    }
    minutes(29)
    expect((await browser.send('GET', '/v1/session')).body.error.code).toBe('PAL_SESSION_EXPIRED')
  })

  it('signs out one session, or every session of the user', async () => {
    const one = await signIn('alice', 'correct horse battery staple')
    const two = await signIn('alice', 'correct horse battery staple')
    const three = await signIn('alice', 'correct horse battery staple')
    expect((await one.send('DELETE', '/v1/session')).status).toBe(204)
    expect((await one.send('GET', '/v1/session')).status).toBe(401)
    expect((await two.send('GET', '/v1/session')).status).toBe(200)
    expect((await two.send('DELETE', '/v1/sessions')).body.ended).toBeGreaterThanOrEqual(2)
    expect((await three.send('GET', '/v1/session')).status).toBe(401)
  })

  it('locks out a guessing address for one user, not the user from elsewhere', async () => {
    const { password } = await addPerson(people, 'bob', 'analyst')
    const attacker = new Browser(people.app, '198.51.100.66')
    for (let i = 0; i < 5; i++) {
      const answer = await attacker.send('POST', '/v1/session', { name: 'bob', password: 'guess' })
      expect(answer.status).toBe(401)
    }
    const locked = await attacker.send('POST', '/v1/session', { name: 'bob', password })
    expect(locked.status).toBe(429)
    expect(locked.body.error).toMatchObject({ code: 'PAL_LOCKED_OUT', limit: 'pair' })
    expect(people.events.some((e) => (e.event as { action: string }).action === 'lockout')).toBe(
      true,
    )
    expect(
      (
        await new Browser(people.app, '192.0.2.77').send('POST', '/v1/session', {
          name: 'bob',
          password,
        })
      ).status,
    ).toBe(201)
    minutes(16)
    expect((await attacker.send('POST', '/v1/session', { name: 'bob', password })).status).toBe(201)
  })
})

describe('people: TOTP as a second factor', () => {
  let secret: string

  it('enrols TOTP with an otpauth URI and a QR code, and changes the session id', async () => {
    await addPerson(people, 'carol', 'admin')
    const browser = await signIn('carol', 'correct horse battery staple')
    const started = await browser.send('POST', '/v1/me/totp')
    expect(started.body.qr_svg).toMatch(/^<svg/)
    secret = new URL(started.body.otpauth_uri).searchParams.get('secret')!
    const before = browser.cookie
    const code = await totpAt(secret, people.clock.now)
    const confirmed = await browser.send('POST', '/v1/me/totp/confirm', { code })
    expect(confirmed.status).toBe(200)
    expect(confirmed.body).toMatchObject({ mfa_method: 'totp', factors: { totp: true } })
    expect(browser.cookie).not.toBe(before)
    const row = await people.state.db
      .selectFrom('users')
      .select('totp_secret')
      .where('name', '=', 'carol')
      .executeTakeFirstOrThrow()
    expect(row.totp_secret).toMatch(/^v1\./)
    expect(row.totp_secret).not.toContain(secret)
  })

  it('asks for the second factor after the password, and admits nothing else before it', async () => {
    nextStep()
    const browser = new Browser(people.app)
    const answer = await browser.send('POST', '/v1/session', {
      name: 'carol',
      password: 'correct horse battery staple',
    })
    expect(answer.body.mfa_required).toBe(true)
    const refused = await browser.send('GET', '/v1/me/factors')
    expect(refused.status).toBe(401)
    expect(refused.body.error.code).toBe('PAL_MFA_REQUIRED')

    const before = browser.cookie
    const code = await totpAt(secret, people.clock.now)
    expect((await browser.send('POST', '/v1/session/totp', { code })).status).toBe(200)
    expect(browser.cookie).not.toBe(before)
    expect((await browser.send('GET', '/v1/me/factors')).status).toBe(200)
  })

  it('refuses a code used before, and changes nothing', async () => {
    const browser = new Browser(people.app)
    await browser.send('POST', '/v1/session', {
      name: 'carol',
      password: 'correct horse battery staple',
    })
    const before = browser.cookie
    const step = await people.state.db
      .selectFrom('users')
      .select('totp_last_step')
      .where('name', '=', 'carol')
      .executeTakeFirstOrThrow()
    const code = await totpAt(secret, people.clock.now)
    const replayed = await browser.send('POST', '/v1/session/totp', { code })
    expect(replayed.status).toBe(401)
    expect(replayed.body.error).toMatchObject({ code: 'PAL_TOTP_REFUSED', reason: 'replayed' })
    expect(browser.cookie).toBe(before)
    expect((await browser.send('GET', '/v1/session')).body.mfa_at).toBeNull()
    const after = await people.state.db
      .selectFrom('users')
      .select('totp_last_step')
      .where('name', '=', 'carol')
      .executeTakeFirstOrThrow()
    expect(after).toEqual(step)
  })

  it('refuses a code two steps old as outside the window', async () => {
    nextStep()
    const browser = await signIn('carol', 'correct horse battery staple')
    const old = await totpAt(secret, people.clock.now - 60_000)
    const answer = await browser.send('POST', '/v1/session/totp', { code: old })
    expect(answer.status).toBe(401)
    expect(answer.body.error.reason).toBe('wrong')
    expect((await browser.send('GET', '/v1/session')).body.mfa_at).toBeNull()
  })

  it('refuses a malformed code with 400', async () => {
    const browser = await signIn('carol', 'correct horse battery staple')
    for (const code of ['12345', 'abcdef', 123456, null]) {
      expect((await browser.send('POST', '/v1/session/totp', { code })).status).toBe(400)
    }
  })

  it('locks the guessing address out of TOTP but not the user from another address', async () => {
    nextStep()
    const attacker = await signIn('carol', 'correct horse battery staple', '203.0.113.9')
    const good = await totpAt(secret, people.clock.now)
    const wrong = good === '000000' ? '111111' : '000000'
    for (let i = 0; i < 5; i++) await attacker.send('POST', '/v1/session/totp', { code: wrong })
    const locked = await attacker.send('POST', '/v1/session/totp', { code: good })
    expect(locked.status).toBe(429)
    const owner = await signIn('carol', 'correct horse battery staple', '192.0.2.200')
    expect((await owner.send('POST', '/v1/session/totp', { code: good })).status).toBe(200)
    const bruteForce = people.events.filter(
      (e) =>
        (e.event as { action: string; outcome: string }).action === 'mfa_verify' &&
        (e.event as { outcome: string }).outcome === 'failure',
    )
    expect(bruteForce.length).toBeGreaterThanOrEqual(5)
  })
})

describe('people: TOTP re-enrolment', () => {
  /** A re-enrolment started on a browser whose session has just verified its TOTP. */
  async function startReEnrolment(browser: Browser): Promise<string> {
    const started = await browser.send('POST', '/v1/me/totp')
    expect(started.status).toBe(200)
    return new URL(started.body.otpauth_uri).searchParams.get('secret')!
  }

  it('keeps the confirmed TOTP on when a re-enrolment is started and abandoned', async () => {
    await addPerson(people, 'olivia', 'analyst')
    const browser = await signIn('olivia', 'correct horse battery staple')
    const old = await enrolTotp(browser)
    const audited = people.audit.length
    const abandoned = await startReEnrolment(browser)
    expect(people.audit.length).toBe(audited)
    expect((await browser.send('GET', '/v1/me/factors')).body.totp).toBe(true)

    nextStep()
    const fresh = new Browser(people.app)
    const answer = await fresh.send('POST', '/v1/session', {
      name: 'olivia',
      password: 'correct horse battery staple',
    })
    expect(answer.body.mfa_required).toBe(true)
    const pending = await totpAt(abandoned, people.clock.now)
    expect((await fresh.send('POST', '/v1/session/totp', { code: pending })).status).toBe(401)
    const code = await totpAt(old, people.clock.now)
    expect((await fresh.send('POST', '/v1/session/totp', { code })).status).toBe(200)
  })

  it('switches to the new secret once a code from it is confirmed, audited as a factor change', async () => {
    await addPerson(people, 'peggy', 'analyst')
    const browser = await signIn('peggy', 'correct horse battery staple')
    const old = await enrolTotp(browser)
    nextStep()
    const secret = await startReEnrolment(browser)
    const wrong = await browser.send('POST', '/v1/me/totp/confirm', {
      code: await totpAt(old, people.clock.now),
    })
    expect(wrong.status).toBe(401)
    expect(wrong.body.error.code).toBe('PAL_TOTP_REFUSED')
    const audited = people.audit.length
    const code = await totpAt(secret, people.clock.now)
    const confirmed = await browser.send('POST', '/v1/me/totp/confirm', { code })
    expect(confirmed.status).toBe(200)
    expect(confirmed.body).toMatchObject({ mfa_method: 'totp', factors: { totp: true } })
    expect(people.audit.slice(audited)).toContainEqual(
      expect.objectContaining({
        action: 'auth.factor_add',
        details: expect.objectContaining({ factor: 'totp', replaced: true }),
      }),
    )
    expect(people.events).toContainEqual(
      expect.objectContaining({
        event: expect.objectContaining({ action: 'factor_add' }),
        user: expect.objectContaining({ name: 'peggy' }),
        labels: { factor: 'totp' },
      }),
    )
    const again = await browser.send('POST', '/v1/me/totp/confirm', { code })
    expect(again.body.error.code).toBe('PAL_FACTOR_ABSENT')

    nextStep()
    const fresh = new Browser(people.app)
    await fresh.send('POST', '/v1/session', {
      name: 'peggy',
      password: 'correct horse battery staple',
    })
    const stale = await totpAt(old, people.clock.now)
    expect((await fresh.send('POST', '/v1/session/totp', { code: stale })).status).toBe(401)
    const current = await totpAt(secret, people.clock.now)
    expect((await fresh.send('POST', '/v1/session/totp', { code: current })).status).toBe(200)
  })
})

describe('people: step-up', () => {
  let secret: string
  let admin: Browser

  beforeAll(async () => {
    await addPerson(people, 'dave', 'admin')
    admin = await signIn('dave', 'correct horse battery staple')
    secret = await enrolTotp(admin)
  })

  it('lets a sensitive action through within the step-up window', async () => {
    const made = await admin.send('POST', '/v1/tokens', { name: 'ci', scopes: ['ingest'] })
    expect(made.status).toBe(201)
    expect(made.body.expires_at).not.toBeNull()
  })

  it('answers 401 step_up_required after the window, and passes again after a factor', async () => {
    minutes(11)
    const refused = await admin.send('POST', '/v1/tokens', { name: 'ci', scopes: ['ingest'] })
    expect(refused.status).toBe(401)
    expect(refused.body.error).toMatchObject({
      code: 'step_up_required',
      max_age_seconds: 600,
      methods: ['totp', 'webauthn', 'recovery_code'],
    })
    expect((await admin.send('POST', '/v1/rules/reload')).body.error.code).toBe('step_up_required')
    expect((await admin.send('GET', '/v1/tokens')).status).toBe(200)

    nextStep()
    const code = await totpAt(secret, people.clock.now)
    expect((await admin.send('POST', '/v1/session/totp', { code })).status).toBe(200)
    expect(
      (await admin.send('POST', '/v1/tokens', { name: 'ci', scopes: ['ingest'] })).status,
    ).toBe(201)
  })

  it('refuses a role without the permission with 403, audited', async () => {
    const analyst = await signIn('alice', 'correct horse battery staple')
    const refused = await analyst.send('POST', '/v1/users', { name: 'x', role: 'admin' })
    expect(refused.status).toBe(403)
    expect(people.audit.at(-1)).toMatchObject({
      actor: { kind: 'user', name: 'alice' },
      action: 'user.create',
      outcome: 'failure',
    })
  })

  it('gives ten recovery codes, shown once, each usable once', async () => {
    const answer = await admin.send('POST', '/v1/me/recovery-codes')
    expect(answer.body.codes).toHaveLength(10)
    expect(new Set(answer.body.codes).size).toBe(10)
    const stored = await people.state.db.selectFrom('recovery_codes').selectAll().execute()
    for (const code of answer.body.codes) {
      expect(JSON.stringify(stored)).not.toContain(code)
    }

    const browser = await signIn('dave', 'correct horse battery staple')
    const code = answer.body.codes[3].toLowerCase()
    expect((await browser.send('POST', '/v1/session/recovery-code', { code })).status).toBe(200)
    const again = await signIn('dave', 'correct horse battery staple')
    const reused = await again.send('POST', '/v1/session/recovery-code', { code })
    expect(reused.status).toBe(401)
    expect(reused.body.error.code).toBe('PAL_RECOVERY_CODE_REFUSED')
    expect((await again.send('GET', '/v1/me/factors')).status).toBe(401)
  })

  it('ends a person\u2019s sessions when their role changes', async () => {
    const { id } = await addPerson(people, 'frank', 'analyst')
    const browser = await signIn('frank', 'correct horse battery staple')
    const changed = await admin.send('PATCH', `/v1/users/${id}`, { role: 'compliance' })
    expect(changed.status).toBe(200)
    expect((await browser.send('GET', '/v1/session')).status).toBe(401)
    const nothing = await admin.send('PATCH', `/v1/users/${id}`, {})
    expect(nothing.status).toBe(400)
    expect(nothing.body.error.message).toContain('expected at least one of role and disabled')
    const again = await signIn('frank', 'correct horse battery staple')
    expect((await again.send('GET', '/v1/session')).body.user.role).toBe('compliance')
  })

  it('records a factor reset as an event, after which the user signs in with a password', async () => {
    const reset = await admin.send('POST', `/v1/users/${await userId('carol')}/factor-reset`)
    expect(reset.status).toBe(200)
    expect(people.events.at(-1)).toMatchObject({
      event: { action: 'factor_reset', dataset: 'palisade.auth' },
      user: { name: 'carol' },
    })
    const browser = new Browser(people.app)
    const answer = await browser.send('POST', '/v1/session', {
      name: 'carol',
      password: 'correct horse battery staple',
    })
    expect(answer.body.mfa_required).toBe(false)
  })
})

describe('people: the slower per-user limit on second factors', () => {
  it('stops a guesser who holds the password and spreads codes over many addresses', async () => {
    await addPerson(people, 'judy', 'analyst')
    const owner = await signIn('judy', 'correct horse battery staple', '192.0.2.50')
    const secret = await enrolTotp(owner)
    nextStep()
    const good = await totpAt(secret, people.clock.now)
    const wrong = good === '000000' ? '111111' : '000000'
    for (let address = 1; address <= 4; address++) {
      const guesser = await signIn('judy', 'correct horse battery staple', `203.0.113.${address}`)
      for (let i = 0; i < 5; i++) await guesser.send('POST', '/v1/session/totp', { code: wrong })
    }
    const fresh = await signIn('judy', 'correct horse battery staple', '203.0.113.99')
    const locked = await fresh.send('POST', '/v1/session/totp', { code: good })
    expect(locked.status).toBe(429)
    expect(locked.body.error.limit).toBe('user')
  })
})

describe('service tokens', () => {
  it('are refused once expired', async () => {
    const { token } = await createToken(people.state.db, 'short-lived', ['read'], {
      expiresAt: new Date(Date.now() + 60_000),
    })
    expect(await findToken(people.state.db, token)).not.toBeNull()
    expect(await findToken(people.state.db, token, new Date(Date.now() + 120_000))).toBeNull()
  })
})

async function userId(name: string): Promise<string> {
  const row = await people.state.db
    .selectFrom('users')
    .select('id')
    .where('name', '=', name)
    .executeTakeFirstOrThrow()
  return row.id
}
