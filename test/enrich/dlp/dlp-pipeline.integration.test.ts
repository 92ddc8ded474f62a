import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import Database from 'better-sqlite3'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { luhnValid } from '../../../enrich/dlp/card-recogniser.ts'
import { configSchema } from '../../../platform/config/config-schema.ts'
import { startEngine } from '../../../platform/engine.ts'
import type { Engine } from '../../../platform/engine.ts'

/**
 * Events with card numbers, e-mail addresses, SSNs, IBANs, a cloud key and a private key go
 * through the real engine (embedded ClickHouse, SQLite) under a policy that tokenises, masks,
 * redacts, drops and blocks. Detection must still see the originals; nothing stored (any
 * ClickHouse table, the state store, the log) may hold a value the policy redacts or tokenises.
 */

const dir = mkdtempSync(join(tmpdir(), 'palisade-dlp-'))
const dataDir = join(dir, 'data')
const logFile = join(dir, 'palisade.log')
const KEY_ENV = 'PALISADE_TEST_DLP_TOKEN_KEY'
const BULK_RULE = '0b7e4f3a-91c2-4d8e-b5a6-3e9f2c1d7a84'
const ORIGINAL_RULE = '6d1b0c8e-3f5a-4b7c-9e2d-1a8f4c6b2e90'

/** Visa numbers that pass Luhn, from a fixed body, so the test is the same every run. */
function visa(n: number): string {
  const body = `4556${String(100000000 + n * 7919).padStart(11, '0')}`
  for (let d = 0; d < 10; d++) if (luhnValid(body + d)) return body + d
  throw new Error('unreachable')
}

const cards = Array.from({ length: 22 }, (_, i) => visa(i))
const spaced = (card: string) => card.replace(/(\d{4})(?=\d)/g, '$1 ')
const emails = cards.map((_, i) => `buyer${i}.smith@example.org`)
const ssn = '536-22-5819'
const iban = 'GB82WEST12345698765432'
const awsKey = 'AKIAZ7Q3XH4LMW2PB5NE'
const pemBody = 'MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn7ygWyF8PbnGy0AHB7MaGq'
const pem = `-----BEGIN RSA PRIVATE KEY-----\n${pemBody}\n-----END RSA PRIVATE KEY-----`

/** Every value the policy redacts or tokenises, in each form it was sent in. */
const secrets = [
  ...cards,
  ...cards.map(spaced),
  ...emails,
  ssn,
  ssn.replace(/-/g, ''),
  awsKey,
  pemBody,
  'sk_live_4eC39HqLyjWDarjtT1zdp7dc',
]

let engine: Engine
let token: string
let responses: { status: number; body: any }[] = []

async function request(method: string, path: string, body?: unknown) {
  const response = await fetch(engine.url + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  })
  return { status: response.status, body: (await response.json()) as any }
}

beforeAll(async () => {
  mkdirSync(dataDir, { recursive: true })
  const rules = join(dir, 'rules')
  mkdirSync(rules)
  // A rule on the original value: it can fire only if detection sees what was sent.
  writeFileSync(
    join(rules, 'original_card.yml'),
    [
      'title: Test Card Seen By Detection',
      `id: ${ORIGINAL_RULE}`,
      'status: test',
      'logsource: { product: palisade, service: dlp }',
      `detection: { selection: { message|contains: '${spaced(cards[0]!)}' },`,
      '  condition: selection }',
      'level: medium',
    ].join('\n'),
  )
  const policy = join(dir, 'policy.yml')
  writeFileSync(
    policy,
    [
      'version: 1',
      'default:',
      '  CREDIT_CARD: tokenise',
      '  EMAIL_ADDRESS: tokenise',
      '  US_SSN: redact',
      '  IBAN_CODE: mask',
      '  PRIVATE_KEY: block',
      '  IP_ADDRESS: ignore',
      "  '*': redact",
      'scopes:',
      '  - datasets: [payments.*]',
      '    actions: { CREDIT_CARD: drop_field }',
    ].join('\n'),
  )
  process.env[KEY_ENV] = 'a-test-key-of-at-least-32-characters-long'
  const config = configSchema.parse({
    dataDir,
    http: { port: 0 },
    rules: [rules],
    anomaly: { enabled: false },
    dlp: { policy, tokenKeyEnv: KEY_ENV },
    log: { level: 'debug' },
  })
  config.syslog.udpPort = 0
  config.syslog.tcpPort = 0
  const logger = pino({ level: 'debug' }, pino.destination({ dest: logFile, sync: true }))
  engine = await startEngine(config, logger)
  token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim()

  const start = Date.parse('2026-12-01T10:00:00Z')
  const shop = cards.map((card, i) => ({
    '@timestamp': new Date(start + i * 1000).toISOString(),
    event: { dataset: 'shop.web', action: 'checkout' },
    host: { name: 'web-1' },
    message: `checkout card ${spaced(card)} for ${emails[i]} from 203.0.113.9`,
    labels: { ssn: i === 0 ? ssn : 'none', note: i === 1 ? `iban ${iban}` : 'ok' },
  }))
  responses = [
    await request('POST', '/v1/events', shop),
    await request('POST', '/v1/events', [
      {
        '@timestamp': '2026-12-01T10:05:00Z',
        event: { dataset: 'payments.api' },
        host: { name: 'pay-1' },
        labels: { card: cards[1]!, key: `aws_access_key_id=${awsKey}` },
        message: 'charge sk_live_4eC39HqLyjWDarjtT1zdp7dc ok',
      },
      { '@timestamp': '2026-12-01T10:06:00Z', host: { name: 'ops-1' }, message: `key\n${pem}` },
      { '@timestamp': 'not a time', message: `ssn ${ssn.replace(/-/g, '')} card ${cards[2]}` },
    ]),
  ]
}, 120_000)

afterAll(async () => {
  await engine?.close()
  delete process.env[KEY_ENV]
  rmSync(dir, { recursive: true, force: true })
})

describe('DLP in the pipeline', () => {
  it('stores the events, and sends the private key and the invalid record to dead letters', () => {
    expect(responses[0]!.status).toBe(202)
    expect(responses[0]!.body.stored).toBe(cards.length)
    const [payment, key, invalid] = responses[1]!.body.results
    expect(payment).toMatchObject({ status: 'stored' })
    expect(key).toMatchObject({ status: 'dead_letter', error: { code: 'PAL_DLP_BLOCKED' } })
    expect(key.error.message).toContain('PRIVATE_KEY at message')
    expect(invalid).toMatchObject({ status: 'dead_letter' })
  })

  it('lets detection see originals: a rule on one fires, and bulk exfiltration', async () => {
    const original = await request('GET', `/v1/alerts?rule_id=${ORIGINAL_RULE}`)
    expect(original.body.items).toHaveLength(1)
    const bulk = await request('GET', `/v1/alerts?rule_id=${BULK_RULE}`)
    expect(bulk.body.items).toHaveLength(1)
    expect(bulk.body.items[0]).toMatchObject({ level: 'high', entity: { value: 'web-1' } })
    expect(bulk.body.items[0].event_ids).toHaveLength(20)
  })

  it('stores tokens, masks and redactions (one token per value) and dlp.* counts', async () => {
    const { body } = await request('GET', '/v1/events?limit=100')
    const shop = body.items
      .filter((e: any) => e.event?.dataset === 'shop.web')
      .sort((a: any, b: any) => a['@timestamp'].localeCompare(b['@timestamp']))
    expect(shop).toHaveLength(cards.length)
    expect(shop[0].message).toMatch(/^checkout card tok_[\w-]{22} for tok_[\w-]{22} from 203\.0/)
    expect(shop[0].labels.ssn).toBe('[REDACTED:US_SSN]')
    expect(shop[1].labels.note).toBe('iban ******************5432')
    expect(shop[0].dlp).toEqual({
      count: 3,
      types: ['CREDIT_CARD', 'EMAIL_ADDRESS', 'US_SSN'],
      actions: ['redact', 'tokenise'],
    })
    const payment = body.items.find((e: any) => e.event?.dataset === 'payments.api')
    // The payments scope drops a field holding a card; other types follow the default.
    expect(payment.labels.card).toBeUndefined()
    expect(payment.labels.key).toBe('aws_access_key_id=[REDACTED:CLOUD_ACCESS_KEY]')
    expect(payment.message).toBe('charge [REDACTED:PLATFORM_TOKEN] ok')
    // A card tokenised in two events gives one token, so analysts can still correlate.
    const again = await request('POST', '/v1/events', [
      { '@timestamp': '2026-12-01T11:00:00Z', message: `refund ${spaced(cards[0]!)}` },
    ])
    const stored = await request('GET', `/v1/events/${again.body.results[0].id}`)
    expect(stored.body.message.slice(7)).toBe(shop[0].message.slice(14, 40))
  })

  it('keeps findings in their own table with type, path and span, never the value', async () => {
    const result = await engine.store.client.query({
      query: `SELECT type, path, action, count() AS n FROM ${engine.store.database}.dlp_findings
        GROUP BY type, path, action ORDER BY type, path`,
      format: 'JSONEachRow',
    })
    const rows = (
      await result.json<{ type: string; path: string; action: string; n: unknown }>()
    ).map((r) => `${r.type} ${r.path} ${r.action} ${Number(r.n)}`)
    // The shop's 22 events and the refund of the tokenisation test, one card each.
    expect(rows).toEqual(
      expect.arrayContaining([
        `CREDIT_CARD message tokenise ${cards.length + 1}`,
        `EMAIL_ADDRESS message tokenise ${cards.length}`,
        'CREDIT_CARD labels.card drop_field 1',
        'CLOUD_ACCESS_KEY labels.key redact 1',
        'PRIVATE_KEY message block 1',
        'US_SSN labels.ssn redact 1',
        'IBAN_CODE labels.note mask 1',
      ]),
    )
    const columns = await (
      await engine.store.client.query({
        query: `DESCRIBE TABLE ${engine.store.database}.dlp_findings`,
        format: 'JSONEachRow',
      })
    ).json<{ name: string }>()
    expect(columns.map((c) => c.name)).not.toContain('value')
  })

  it('leaves no redacted or tokenised value in ClickHouse, state store or log', async () => {
    const { client, database } = engine.store
    const tables = await (
      await client.query({
        query: `SELECT name FROM system.tables WHERE database = {db:String}`,
        query_params: { db: database },
        format: 'JSONEachRow',
      })
    ).json<{ name: string }>()
    expect(tables.map((t) => t.name)).toEqual(
      expect.arrayContaining(['events', 'alerts', 'dead_letters', 'dlp_findings', 'audit_entries']),
    )
    const dumps: Record<string, string> = {}
    for (const { name } of tables) {
      const rows = await client.query({
        query: `SELECT * FROM ${database}.${name}`,
        format: 'JSONEachRow',
      })
      dumps[name] = await rows.text()
    }
    expect(dumps.dead_letters).toContain('[REDACTED:PRIVATE_KEY]')
    expect(dumps.dead_letters).toContain('[REDACTED:US_SSN]')

    await engine.close()
    const state = new Database(join(dataDir, 'state.db'), { readonly: true })
    const stateTables = state
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
      .all() as { name: string }[]
    for (const { name } of stateTables) {
      dumps[`state.${name}`] = JSON.stringify(state.prepare(`SELECT * FROM "${name}"`).all())
    }
    state.close()
    dumps.log = readFileSync(logFile, 'utf8')
    expect(dumps.log.length).toBeGreaterThan(0)

    for (const [where, text] of Object.entries(dumps)) {
      for (const secret of secrets) {
        expect(text.includes(secret), `${where} holds ${secret.slice(0, 6)}…`).toBe(false)
        // JSON escapes nothing in these values, but a raw record may be stored escaped.
        expect(text.includes(JSON.stringify(secret).slice(1, -1)), where).toBe(false)
      }
    }
  })
})
