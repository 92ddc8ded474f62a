import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { blindIndex, generateBlindIndexKey } from '../../crypto/blind-index.ts'
import { toBase64Url } from '../../crypto/bytes.ts'
import { generateOwnerSigningKey, signKeyRegistration } from '../../crypto/key-registration.ts'
import type { OwnerSigningKey } from '../../crypto/key-registration.ts'
import { openSealedField, sealField } from '../../crypto/sealed-field.ts'
import type { SealedField } from '../../crypto/sealed-field.ts'
import { generateSealingKeyPair } from '../../crypto/sealing-key-pair.ts'
import type { SealingKeyPair } from '../../crypto/sealing-key-pair.ts'
import { createToken } from '../../platform/state/api-tokens.ts'
import { startTestEngine } from '../helpers/test-engine.ts'
import type { TestEngine } from '../helpers/test-engine.ts'

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? filesUnder(path) : [path]
  })
}

/** The ways a secret's bytes could be written down: raw, hex, base64, base64url. */
function spellings(bytes: Uint8Array): Buffer[] {
  const b = Buffer.from(bytes)
  return [b, ...['hex', 'base64', 'base64url'].map((e) => Buffer.from(b.toString(e as 'hex')))]
}

let palisade: TestEngine
let logFile: string
let ingestToken: string
const signer: OwnerSigningKey = await generateOwnerSigningKey()
const first: SealingKeyPair = await generateSealingKeyPair()
const second: SealingKeyPair = await generateSealingKeyPair()
const blindKey = generateBlindIndexKey()
// Values no other part of the run could write, so finding one means it leaked.
const secretEmail = `leak-probe-${crypto.randomUUID()}@example.com`
const secretBody = `flagged message body ${crypto.randomUUID()}`
const clearName = `clear-probe-${crypto.randomUUID()}`

/** Registers (or with `replaces`, rotates to) `pair` for owner `soc` through the API. */
async function register(pair: SealingKeyPair, replaces?: string) {
  const challenge = await palisade.request('POST', '/v1/sealing-keys/challenges', {
    body: { owner: 'soc' },
  })
  expect(challenge.status).toBe(201)
  const publicKey = toBase64Url(pair.publicKey)
  const signature = await signKeyRegistration(signer, {
    owner: 'soc',
    challenge: challenge.body.challenge,
    kid: pair.kid,
    suite: pair.suite,
    publicKey,
    ...(replaces ? { replaces } : {}),
  })
  const path = replaces ? `/v1/sealing-keys/${replaces}/rotation` : '/v1/sealing-keys'
  return palisade.request('POST', path, {
    body: {
      owner: 'soc',
      challenge_id: challenge.body.challenge_id,
      kid: pair.kid,
      suite: pair.suite,
      public_key: publicKey,
      signing_public_key: signer.publicKey,
      signature,
    },
  })
}

beforeAll(async () => {
  const dir = (await import('node:fs')).mkdtempSync(
    join((await import('node:os')).tmpdir(), 'palisade-sealed-'),
  )
  logFile = join(dir, 'palisade.log')
  const logger = pino({ level: 'trace' }, pino.destination({ dest: logFile, sync: true }))
  palisade = await startTestEngine({ dataDir: join(dir, 'data') }, { logger })
  ingestToken = (await createToken(palisade.engine.state.db, 'emitter', ['ingest'])).token
})

afterAll(async () => {
  await palisade?.close()
})

describe('sealed event fields, end to end through a running Palisade', () => {
  const ids = ['0193a0f4-7c2e-7b4d-9a31-5f2d8e6c1a01', '0193a0f4-7c2e-7b4d-9a31-5f2d8e6c1a02']
  const sealedOf = new Map<string, SealedField[]>()

  it('registers the owner’s key with a signed challenge, audited, and lists it to emitters', async () => {
    const registered = await register(first)
    expect(registered.status).toBe(201)
    expect(registered.body).toMatchObject({ kid: first.kid, owner: 'soc', state: 'active' })

    const listed = await palisade.request('GET', '/v1/sealing-keys?owner=soc', {
      token: ingestToken,
    })
    expect(listed.status).toBe(200)
    expect(listed.body.items).toHaveLength(1)
    expect(listed.body.items[0].public_key).toBe(toBase64Url(first.publicKey))
    expect(JSON.stringify(listed.body)).not.toContain(toBase64Url(first.privateKey))

    // An emitter may read keys but not register them.
    const refused = await palisade.request('POST', '/v1/sealing-keys/challenges', {
      body: { owner: 'soc' },
      token: ingestToken,
    })
    expect(refused.status).toBe(403)
  })

  it('refuses a registration whose signature is not the owner’s, and audits the refusal', async () => {
    const challenge = await palisade.request('POST', '/v1/sealing-keys/challenges', {
      body: { owner: 'soc' },
    })
    const stranger = await generateOwnerSigningKey()
    const signature = await signKeyRegistration(stranger, {
      owner: 'soc',
      challenge: challenge.body.challenge,
      kid: second.kid,
      suite: second.suite,
      publicKey: toBase64Url(second.publicKey),
      replaces: first.kid,
    })
    const answer = await palisade.request('POST', `/v1/sealing-keys/${first.kid}/rotation`, {
      body: {
        owner: 'soc',
        challenge_id: challenge.body.challenge_id,
        kid: second.kid,
        suite: second.suite,
        public_key: toBase64Url(second.publicKey),
        signature,
      },
    })
    expect(answer.status).toBe(400)
    expect(answer.body.error.code).toBe('PAL_SEALING_PROOF_INVALID')
    expect(answer.body.error.message).toMatch(/does not verify under the owner's signing key/)
  })

  it('stores events with sealed fields as they came, and dead-letters a malformed envelope', async () => {
    for (const id of ids) {
      const bi = await blindIndex(blindKey, 'user.email', secretEmail)
      sealedOf.set(id, [
        await sealField({
          recipient: first,
          eventId: id,
          field: 'user.email',
          value: secretEmail,
          blindIndex: bi,
        }),
        await sealField({ recipient: first, eventId: id, field: 'message', value: secretBody }),
      ])
    }
    const events = ids.map((id) => ({
      id,
      '@timestamp': '2026-12-04T10:00:00Z',
      event: { dataset: 'crm.audit', action: 'record_viewed' },
      user: { name: clearName },
      sealed: sealedOf.get(id),
    }))
    const malformed = { ...events[0]!, id: '0193a0f4-7c2e-7b4d-9a31-5f2d8e6c1a03' }
    malformed.sealed = [{ ...sealedOf.get(ids[0]!)![1]!, v: 2 }]
    const answer = await palisade.request('POST', '/v1/events', {
      body: [...events, malformed],
      token: ingestToken,
    })
    expect(answer.status).toBe(202)
    expect(answer.body).toMatchObject({ stored: 2, dead_lettered: 1 })
    expect(answer.body.results[2].error).toMatchObject({
      code: 'PAL_INVALID_EVENT',
      path: 'sealed[0].v',
    })

    const stored = await palisade.request('GET', `/v1/events/${ids[0]}`)
    expect(stored.body.sealed).toEqual(sealedOf.get(ids[0]!))
    // What the server hands back opens on the analyst's side, and only for its own event.
    expect(await openSealedField(stored.body.sealed[0], ids[0]!, first)).toBe(secretEmail)
    await expect(openSealedField(stored.body.sealed[0], ids[1]!, first)).rejects.toThrow(
      /did not open/,
    )
  })

  it('finds equal sealed values by their blind index without opening them', async () => {
    const bi = await blindIndex(blindKey, 'user.email', secretEmail)
    const found = await palisade.request('GET', `/v1/events?q=${bi}`)
    expect(found.status).toBe(200)
    expect(found.body.items.map((e: { id: string }) => e.id).sort()).toEqual(ids)
  })

  it('rotates to a new key: the old one is listed as retired and still opens old events', async () => {
    const rotated = await register(second, first.kid)
    expect(rotated.status).toBe(201)
    const listed = await palisade.request('GET', '/v1/sealing-keys?owner=soc', {
      token: ingestToken,
    })
    expect(listed.body.items.map((k: any) => [k.kid, k.state])).toEqual([
      [first.kid, 'retired'],
      [second.kid, 'active'],
    ])
    const stored = await palisade.request('GET', `/v1/events/${ids[1]}`)
    expect(await openSealedField(stored.body.sealed[1], ids[1]!, first)).toBe(secretBody)
  })

  it('records each key change in the audit log, by key id and without key bytes', async () => {
    const { client, database } = palisade.engine.store
    await palisade.engine.audit.drain()
    const rows = (await (
      await client.query({
        query: `SELECT entry FROM ${database}.audit_entries WHERE entry LIKE '%sealing_key.%'`,
        format: 'JSONEachRow',
      })
    ).json()) as { entry: string }[]
    const entries = rows.map((r) => JSON.parse(r.entry))
    const summary = entries.map((e) => [e.action, e.outcome, e.target?.id])
    expect(summary).toContainEqual(['sealing_key.register', 'success', first.kid])
    expect(summary).toContainEqual(['sealing_key.rotate', 'failure', second.kid])
    expect(summary).toContainEqual(['sealing_key.rotate', 'success', second.kid])
    expect(JSON.stringify(entries)).not.toContain(toBase64Url(first.publicKey))
  })

  it('leaves no plaintext or private-key bytes in any ClickHouse table, state file or log', async () => {
    const secrets = [
      ...spellings(new TextEncoder().encode(secretEmail)),
      ...spellings(new TextEncoder().encode(secretBody)),
      ...spellings(first.privateKey),
      ...spellings(second.privateKey),
      ...spellings(Buffer.from(signer.privateKey, 'base64url')),
    ]
    const { client, database } = palisade.engine.store
    const tables = (await (
      await client.query({ query: `SHOW TABLES FROM ${database}`, format: 'JSONEachRow' })
    ).json()) as { name: string }[]
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['events', 'dead_letters']))

    const leaks: string[] = []
    let clearFound = false
    for (const { name } of tables) {
      const text = await (
        await client.query({
          query: `SELECT * FROM ${database}.${name}`,
          format: 'JSONEachRow',
          // Materialized columns (the events' JSON `doc`) are left out of * unless asked for.
          clickhouse_settings: {
            asterisk_include_materialized_columns: 1,
            asterisk_include_alias_columns: 1,
          },
        })
      ).text()
      if (name === 'events') expect(text).toContain('"doc"')
      // The control: a value sent in the clear is found, so the search can find things.
      if (text.includes(clearName)) clearFound = true
      const bytes = Buffer.from(text)
      if (secrets.some((s) => bytes.includes(s))) leaks.push(`ClickHouse table ${name}`)
    }
    expect(clearFound).toBe(true)

    const stateFiles = filesUnder(palisade.dataDir).filter((f) => f.includes('state.db'))
    expect(stateFiles.length).toBeGreaterThan(0)
    for (const file of stateFiles) {
      const bytes = readFileSync(file)
      if (secrets.some((s) => bytes.includes(s))) leaks.push(`state file ${file}`)
    }
    // The registered public key is in the state store: the scan reads what is there.
    const state = Buffer.concat(stateFiles.map((f) => readFileSync(f)))
    expect(state.includes(Buffer.from(toBase64Url(first.publicKey)))).toBe(true)

    const log = readFileSync(logFile)
    expect(log.length).toBeGreaterThan(0)
    if (secrets.some((s) => log.includes(s))) leaks.push('the log')
    expect(leaks).toEqual([])
  })
})
