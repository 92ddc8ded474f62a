import { generate } from 'otplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { findPostgresBin, startPostgres } from '../helpers/postgres.ts'
import type { TestPostgres } from '../helpers/postgres.ts'
import { addPerson, Browser, ORIGIN, startPeopleApp } from '../helpers/people-app.ts'
import type { PeopleApp } from '../helpers/people-app.ts'
import { SoftwareAuthenticator } from '../helpers/software-authenticator.ts'

// As the state store's own PostgreSQL test: CI has it (.ci/run), a machine without it skips.
const bin = findPostgresBin()
if (!bin && process.env.CI) throw new Error('CI must have PostgreSQL: .ci/run installs it')

describe.skipIf(!bin)('people on PostgreSQL (skipped without Debian postgresql)', () => {
  let postgres: TestPostgres
  let people: PeopleApp
  const password = 'correct horse battery staple'

  beforeAll(async () => {
    postgres = await startPostgres(bin!)
    people = await startPeopleApp({ stateUrl: postgres.url })
    await addPerson(people, 'ivan', 'admin', password)
  }, 120_000)

  afterAll(async () => {
    await people?.close()
    await postgres?.stop()
  })

  const signIn = async () => {
    const browser = new Browser(people.app)
    expect((await browser.send('POST', '/v1/session', { name: 'ivan', password })).status).toBe(201)
    return browser
  }

  it('refuses a TOTP code used before, its time step kept as a bigint', async () => {
    const browser = await signIn()
    const started = await browser.send('POST', '/v1/me/totp')
    const secret = new URL(started.body.otpauth_uri).searchParams.get('secret')!
    const at = (ms: number) => generate({ secret, epoch: Math.floor(ms / 1000) })
    const code = await at(people.clock.now)
    expect((await browser.send('POST', '/v1/me/totp/confirm', { code })).status).toBe(200)
    const again = await signIn()
    const replayed = await again.send('POST', '/v1/session/totp', { code })
    expect(replayed.body.error).toMatchObject({ code: 'PAL_TOTP_REFUSED', reason: 'replayed' })
    people.clock.now += 30_000
    const next = await at(people.clock.now)
    expect((await again.send('POST', '/v1/session/totp', { code: next })).status).toBe(200)
  })

  it('keeps WebAuthn counters and refuses one that went backwards', async () => {
    const browser = await signIn()
    const code = await generate({
      secret: await totpSecret(browser),
      epoch: Math.floor((people.clock.now + 30_000) / 1000),
    })
    people.clock.now += 30_000
    expect((await browser.send('POST', '/v1/session/totp', { code })).status).toBe(200)
    const key = new SoftwareAuthenticator(ORIGIN)
    const options = await browser.send('POST', '/v1/me/webauthn/registration-options')
    const response = key.create(options.body)
    expect((await browser.send('POST', '/v1/me/webauthn/credentials', { response })).status).toBe(
      201,
    )
    for (const counter of [undefined, undefined, 1]) {
      const other = await signIn()
      const asked = await other.send('POST', '/v1/session/webauthn/options')
      const answer = await other.send(
        'POST',
        '/v1/session/webauthn',
        key.get(asked.body, counter === undefined ? {} : { counter }),
      )
      expect(answer.status).toBe(counter === undefined ? 200 : 401)
    }
  })

  /** The TOTP secret of the first test, read back through the sealed column. */
  async function totpSecret(_browser: Browser): Promise<string> {
    const row = await people.state.db
      .selectFrom('users')
      .selectAll()
      .where('name', '=', 'ivan')
      .executeTakeFirstOrThrow()
    return people.people.secrets!.open(row.totp_secret!, `totp:${row.id}`).toString('utf8')
  }
})
