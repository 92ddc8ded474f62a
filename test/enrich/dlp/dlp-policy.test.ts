import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'

import { describe, expect, it } from 'vitest'

import { createDlpScanner } from '../../../enrich/dlp/create-dlp-scanner.ts'
import { actionsFor, DEFAULT_DLP_POLICY, loadDlpPolicy } from '../../../enrich/dlp/dlp-policy.ts'
import { DlpRedactor, mask } from '../../../enrich/dlp/dlp-redactor.ts'
import { openDlpRedactor } from '../../../enrich/dlp/open-dlp-redactor.ts'
import { configSchema } from '../../../platform/config/config-schema.ts'
import type { PalisadeEvent } from '../../../platform/event-model.ts'
import { repoRoot } from '../../helpers/test-engine.ts'

const dir = mkdtempSync(join(tmpdir(), 'palisade-dlp-policy-'))

function policyFile(name: string, text: string): string {
  const file = join(dir, name)
  writeFileSync(file, text)
  return file
}

const event = (fields: Record<string, unknown>): PalisadeEvent => ({
  id: '0193a5b2-7c3d-7e4f-8a5b-6c7d8e9f0a1b',
  '@timestamp': '2026-12-01T10:00:00Z',
  ...fields,
})

describe('DLP policy files', () => {
  it('resolve per-type actions, scopes by dataset and source winning over the default', () => {
    const policy = loadDlpPolicy(
      policyFile(
        'scoped.yml',
        [
          'version: 1',
          "default: { CREDIT_CARD: mask, '*': tag }",
          'scopes:',
          '  - { datasets: [payments.*], actions: { CREDIT_CARD: block } }',
          '  - sources: [syslog-udp]',
          '    datasets: [payments.api]',
          '    actions: { EMAIL_ADDRESS: redact }',
        ].join('\n'),
      ),
    )
    expect(actionsFor(policy, 'http', 'shop.web')).toMatchObject({
      CREDIT_CARD: 'mask',
      EMAIL_ADDRESS: 'tag',
    })
    expect(actionsFor(policy, 'http', 'payments.api')).toMatchObject({
      CREDIT_CARD: 'block',
      EMAIL_ADDRESS: 'tag',
    })
    expect(actionsFor(policy, 'syslog-udp', 'payments.api').EMAIL_ADDRESS).toBe('redact')
  })

  it('are refused with file, line and field path when a type or an action is unknown', () => {
    const badType = policyFile('bad-type.yml', 'version: 1\ndefault:\n  CREDIT_CARDS: mask\n')
    expect(() => loadDlpPolicy(badType)).toThrow(
      `${badType}:3: default.CREDIT_CARDS: expected a DLP type`,
    )
    const badAction = policyFile('bad-action.yml', 'version: 1\ndefault:\n  US_SSN: shred\n')
    expect(() => loadDlpPolicy(badAction)).toThrow(
      `${badAction}:3: default.US_SSN: expected one of ignore, tag, mask, redact, tokenise, ` +
        'drop_field, block, got "shred"',
    )
    const badYaml = policyFile('bad-yaml.yml', 'version: 1\ndefault: [\n')
    expect(() => loadDlpPolicy(badYaml)).toThrow(/bad-yaml\.yml:\d+: /)
    try {
      loadDlpPolicy(badAction)
    } catch (error) {
      expect(error).toMatchObject({ code: 'PAL_DLP_POLICY_INVALID', status: 400 })
    }
  })

  it('that tokenise refuse to start without a key of at least 32 characters', () => {
    const file = policyFile('tokenise.yml', 'version: 1\ndefault: { EMAIL_ADDRESS: tokenise }\n')
    const config = configSchema.parse({ dlp: { policy: file, tokenKeyEnv: 'DLP_KEY' } }).dlp
    expect(() => openDlpRedactor(config, {})).toThrow(
      'dlp.tokenKeyEnv: the DLP policy tokenises, so DLP_KEY must hold a key of at least 32 ' +
        'characters; it is unset',
    )
    expect(() => openDlpRedactor(config, { DLP_KEY: 'short' })).toThrow('it holds 5 characters')
    expect(openDlpRedactor(config, { DLP_KEY: 'k'.repeat(32) })).toBeInstanceOf(DlpRedactor)
  })
})

describe('the redactor', () => {
  const redactor = (key = 'k'.repeat(32)) =>
    new DlpRedactor({
      scanner: createDlpScanner(),
      policy: {
        ...DEFAULT_DLP_POLICY,
        default: { ...DEFAULT_DLP_POLICY.default, EMAIL_ADDRESS: 'tokenise' },
      },
      tokenKey: Buffer.from(key),
    })

  it('masks all but the last four letters and digits, keeping separators', () => {
    expect(mask('4111 1111 1111 1234')).toBe('**** **** **** 1234')
    expect(mask('GB82WEST12345698765432')).toBe('******************5432')
    expect(mask('1234')).toBe('****')
  })

  it('leaves the original for detection and changes only the stored copy', () => {
    const original = event({ message: 'ssn 536-22-5819 card 4111111111111111', user: { id: 7 } })
    const outcome = redactor().applyToEvent(original, 'http')
    expect(outcome.stored.message).toBe('ssn [REDACTED:US_SSN] card ************1111')
    expect(original.message).toBe('ssn 536-22-5819 card 4111111111111111')
    expect((original as Record<string, unknown>).dlp).toEqual({
      count: 2,
      types: ['CREDIT_CARD', 'US_SSN'],
      actions: ['mask', 'redact'],
    })
    expect(outcome.blocked).toBe(false)
  })

  it('tokenises a value to the same token every time, and to another under another key', () => {
    const text = 'from alice@example.com'
    const a = redactor().applyToEvent(event({ message: text }), 'http').stored.message
    const b = redactor().applyToEvent(event({ labels: { m: text } }), 'http').stored.labels
    const other = redactor('x'.repeat(32)).applyToEvent(event({ message: text }), 'http')
    expect(a).toMatch(/^from tok_[\w-]{22}$/)
    expect(b).toEqual({ m: a })
    expect(other.stored.message).not.toBe(a)
  })

  it('removes a dlp field an emitter sent, so it can neither forge findings nor hide data', () => {
    const forged = event({ message: 'hello', dlp: { count: 99, note: 'ssn 536-22-5819' } })
    const outcome = redactor().applyToEvent(forged, 'http')
    expect(outcome.stored).not.toHaveProperty('dlp')
    expect(forged).not.toHaveProperty('dlp')
  })

  it('redacts a value held in a field name, as a map keyed by card number or address is', () => {
    const original = event({
      cards: { '4111111111111111': { limit: 5000 }, other: 1 },
      by: { 'ssn 536-22-5819': { 'bob@example.com': true } },
    })
    const outcome = redactor().applyToEvent(original, 'http')
    expect(outcome.stored.cards).toEqual({ '************1111': { limit: 5000 }, other: 1 })
    const by = outcome.stored.by as Record<string, Record<string, unknown>>
    expect(Object.keys(by)).toEqual(['ssn [REDACTED:US_SSN]'])
    expect(Object.keys(by['ssn [REDACTED:US_SSN]']!)[0]).toMatch(/^tok_[\w-]{22}$/)
    expect(JSON.stringify(outcome.stored)).not.toMatch(/4111111111111111|536-22-5819|bob@/)
    expect(Object.keys(original.cards as object)).toContain('4111111111111111')
    expect(JSON.stringify(outcome.findings)).not.toMatch(/4111111111111111|536-22-5819|bob@/)
    expect(outcome.findings.map((f) => f.type).sort()).toEqual([
      'CREDIT_CARD',
      'EMAIL_ADDRESS',
      'US_SSN',
    ])
  })

  it('blocks an event holding a private key and redacts it in text', () => {
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----'
    const r = redactor()
    expect(r.applyToEvent(event({ message: pem }), 'http').blocked).toBe(true)
    expect(r.redactText(`raw ${pem}`, r.actions('http', ''))).toBe('raw [REDACTED:PRIVATE_KEY]')
  })
})

describe('the scanner on the emitter side', () => {
  it('imports nothing from Node, so services and browsers can run it before sending', () => {
    const seen = new Set<string>()
    const external = new Set<string>()
    const visit = (file: string) => {
      if (seen.has(file)) return
      seen.add(file)
      const source = readFileSync(file, 'utf8')
      for (const [, spec] of source.matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)) {
        if (spec!.startsWith('.')) visit(resolve(dirname(file), spec!))
        else external.add(spec!)
      }
    }
    visit(join(repoRoot, 'enrich', 'dlp', 'create-dlp-scanner.ts'))
    expect([...external]).toEqual(['libphonenumber-js/max'])
    expect([...seen].every((f) => f.startsWith(join(repoRoot, 'enrich', 'dlp')))).toBe(true)
  })
})
