import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, describe, expect, it } from 'vitest'

import type { AuditEntry } from '../../audit/audit-log.ts'
import { readAuditRows } from '../../platform/clickhouse/audit-repository.ts'
import { configSchema } from '../../platform/config/config-schema.ts'
import type { ConfigInput } from '../../platform/config/config-schema.ts'
import { startEngine } from '../../platform/engine.ts'
import { createLogger } from '../../platform/logger.ts'

// One data dir for the whole file, restarted engine after engine as an operator would: chDB
// allows one data dir per process, so each engine is closed before the next one starts.
const root = mkdtempSync(join(tmpdir(), 'palisade-startup-audit-'))
const dataDir = join(root, 'data')
const ruleDir = join(root, 'rules')
mkdirSync(ruleDir)

const RULE_ID = '5b0e3c1a-9d2f-4e7b-8a6c-3f1d2e4b5c6a'

function writeRule(outcome: string): void {
  const text = [
    'title: Test rule for the startup audit',
    `id: ${RULE_ID}`,
    'logsource: { product: linux, service: sshd }',
    'detection:',
    '  selection:',
    `    event.outcome: ${outcome}`,
    '  condition: selection',
    'level: low',
  ].join('\n')
  writeFileSync(join(ruleDir, 'test-rule.yml'), `${text}\n`)
}

/** Starts an engine on the shared data dir, returns what this start appended, and stops it. */
async function startAndStop(overrides: ConfigInput = {}): Promise<AuditEntry[]> {
  const config = configSchema.parse({
    ...overrides,
    dataDir,
    rules: [ruleDir],
    http: { port: 0 },
    log: { level: 'silent' },
  })
  config.syslog.udpPort = 0
  config.syslog.tcpPort = 0
  const engine = await startEngine(config, createLogger('silent'))
  try {
    const rows = await readAuditRows(engine.store, 0, engine.audit.size())
    const entries = rows.map((r) => JSON.parse(r.entry) as AuditEntry)
    // This start's entries: from its key opening on.
    return entries.slice(entries.findLastIndex((e) => e.action === 'audit.key.open'))
  } finally {
    await engine.close()
  }
}

const actions = (entries: AuditEntry[]) =>
  entries.map((e) => e.action).filter((a) => /^(engine|config|rules|audit\.key)\./.test(a))

afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

describe('an engine start in the audit log', () => {
  let first: AuditEntry[]

  it('records audit.key.open and engine.start at the first start', async () => {
    writeRule('failure')
    first = await startAndStop()
    expect(actions(first)).toEqual(['audit.key.open', 'engine.start'])

    const [open, started] = first
    expect(open!.target?.kind).toBe('checkpoint_key')
    expect(open!.details).toMatchObject({ kind: 'software', algorithm: 'ecdsa-p256-sha256' })
    expect(started!.actor).toEqual({ kind: 'system', id: 'palisade' })
    expect(started!.details).toMatchObject({
      signer_id: open!.target!.id,
      signer_fingerprint: open!.details!['fingerprint'],
      signer_kind: 'software',
    })
    expect(started!.details!['config_digest']).toMatch(/^[0-9a-f]{64}$/)
    // The built-in pack and the test rule.
    expect(started!.details!['rule_count']).toBeGreaterThan(1)
  })

  it('records rules.change naming the rule after the rule folder changed', async () => {
    writeRule('success')
    const entries = await startAndStop()
    expect(actions(entries)).toEqual(['audit.key.open', 'engine.start', 'rules.change'])

    const change = entries.find((e) => e.action === 'rules.change')!
    const started = first.find((e) => e.action === 'engine.start')!
    expect(change.details).toMatchObject({
      old_digest: started.details!['rules_digest'],
      changed: JSON.stringify([RULE_ID]),
      changed_count: 1,
      added_count: 0,
      removed_count: 0,
    })
    expect(change.details!['new_count']).toBe(change.details!['old_count'])
  })

  it('records config.change after the configuration changed', async () => {
    const entries = await startAndStop({ audit: { checkpoint: { everyEntries: 77 } } })
    expect(actions(entries)).toEqual(['audit.key.open', 'engine.start', 'config.change'])
    const change = entries.find((e) => e.action === 'config.change')!
    expect(change.details).toMatchObject({
      paths: JSON.stringify(['audit.checkpoint.everyEntries']),
      paths_count: 1,
    })
    expect(change.details!['new_digest']).not.toBe(change.details!['old_digest'])
  })

  it('records neither after a restart with nothing changed', async () => {
    const entries = await startAndStop({ audit: { checkpoint: { everyEntries: 77 } } })
    expect(actions(entries)).toEqual(['audit.key.open', 'engine.start'])
  })
})
