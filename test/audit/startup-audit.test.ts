import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { AuditEntryInput, AuditLog } from '../../audit/audit-log.ts'
import { checkAuditEntry } from '../../audit/check-audit-entry.ts'
import { SoftwareSigner } from '../../audit/signers/software-signer.ts'
import { auditStartup, MAX_LISTED } from '../../audit/startup-audit.ts'
import { parseRuleText } from '../../detectors/sigma/load-rules.ts'
import { compileRuleSet } from '../../detectors/sigma/rule-set.ts'
import { configSchema } from '../../platform/config/config-schema.ts'
import type { ConfigInput } from '../../platform/config/config-schema.ts'
import { openStateStore } from '../../platform/state/state-store.ts'
import type { StateStore } from '../../platform/state/state-store.ts'

/** An audit log that keeps entries in memory, refusing what the real one refuses. */
class MemoryAuditLog implements AuditLog {
  readonly entries: AuditEntryInput[] = []

  async record(entry: AuditEntryInput) {
    checkAuditEntry(entry)
    this.entries.push(entry)
    return { index: this.entries.length - 1, leaf_hash: '0'.repeat(64) }
  }

  take(): AuditEntryInput[] {
    return this.entries.splice(0)
  }
}

const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`

function ruleText(n: number, outcome = 'failure'): string {
  return [
    `title: Rule ${n}`,
    `id: ${uuid(n)}`,
    'logsource: { product: linux, service: sshd }',
    'detection:',
    '  selection:',
    `    event.outcome: ${outcome}`,
    '  condition: selection',
  ].join('\n')
}

const rules = (...texts: string[]) =>
  compileRuleSet(texts.flatMap((t, i) => parseRuleText(t, `r${i}.yml`).documents))

const dataDir = mkdtempSync(join(tmpdir(), 'palisade-startup-'))
const input: ConfigInput = { dataDir: '/srv/palisade', token: 'pal_cli', builtinRules: false }
const signer = SoftwareSigner.generate('ecdsa-p256-sha256', 'development')
let state: StateStore
const audit = new MemoryAuditLog()

const start = (config: ConfigInput, ruleSet = rules(ruleText(1), ruleText(2))) =>
  auditStartup({ audit, state, config: configSchema.parse(config), ruleSet, signer })

beforeAll(async () => {
  state = await openStateStore({ dataDir })
})

afterAll(async () => {
  await state.close()
  rmSync(dataDir, { recursive: true, force: true })
})

describe('auditing an engine start', () => {
  it('records the key opened and the start, with digests, at the first start', async () => {
    const result = await start(input)
    const [open, started, ...rest] = audit.take()

    expect(rest).toEqual([])
    expect(open).toEqual({
      actor: { kind: 'system', id: 'palisade' },
      action: 'audit.key.open',
      target: { kind: 'checkpoint_key', id: 'software:development' },
      outcome: 'success',
      details: {
        fingerprint: signer.fingerprint(),
        algorithm: 'ecdsa-p256-sha256',
        kind: 'software',
      },
    })
    expect(started).toMatchObject({
      actor: { kind: 'system', id: 'palisade' },
      action: 'engine.start',
      outcome: 'success',
      details: {
        config_digest: result.configDigest,
        rules_digest: result.rulesDigest,
        rule_count: 2,
        signer_id: 'software:development',
        signer_fingerprint: signer.fingerprint(),
        signer_algorithm: 'ecdsa-p256-sha256',
        signer_kind: 'software',
      },
    })
    expect(result).toMatchObject({ configChanged: false, rulesChanged: false })
  })

  it('records neither change when nothing changed, even if a secret did', async () => {
    const result = await start({ ...input, token: 'pal_rotated' })
    expect(audit.take().map((e) => e.action)).toEqual(['audit.key.open', 'engine.start'])
    expect(result).toMatchObject({ configChanged: false, rulesChanged: false })
  })

  it('records rules.change naming the rules added, removed and changed', async () => {
    const before = await start(input)
    audit.take()
    const after = await start(input, rules(ruleText(1, 'success'), ruleText(3)))
    const [, , change, ...rest] = audit.take()

    expect(rest).toEqual([])
    expect(change).toEqual({
      actor: { kind: 'system', id: 'palisade' },
      action: 'rules.change',
      target: { kind: 'rule_set', id: 'loaded' },
      outcome: 'success',
      details: {
        old_digest: before.rulesDigest,
        new_digest: after.rulesDigest,
        old_count: 2,
        new_count: 2,
        added: JSON.stringify([uuid(3)]),
        added_count: 1,
        added_unlisted: 0,
        removed: JSON.stringify([uuid(2)]),
        removed_count: 1,
        removed_unlisted: 0,
        changed: JSON.stringify([uuid(1)]),
        changed_count: 1,
        changed_unlisted: 0,
      },
    })
  })

  it('records config.change with both digests and the paths, never the values', async () => {
    const ruleSet = rules(ruleText(1))
    const before = await start(input, ruleSet)
    audit.take()
    const changed: ConfigInput = { ...input, retention: { eventDays: 30 }, http: { port: 9001 } }
    const after = await start(changed, ruleSet)
    const [, , change, ...rest] = audit.take()

    expect(rest).toEqual([])
    expect(change).toEqual({
      actor: { kind: 'system', id: 'palisade' },
      action: 'config.change',
      target: { kind: 'config', id: 'effective' },
      outcome: 'success',
      details: {
        old_digest: before.configDigest,
        new_digest: after.configDigest,
        paths: JSON.stringify(['http.port', 'retention.eventDays']),
        paths_count: 2,
        paths_unlisted: 0,
      },
    })
    expect(JSON.stringify(change)).not.toContain('9001')
  })

  it(`names at most ${MAX_LISTED} rules in one entry and counts the rest`, async () => {
    await start(input, rules(ruleText(1)))
    audit.take()
    const many = Array.from({ length: MAX_LISTED + 7 }, (_, i) => ruleText(100 + i))
    await start(input, rules(ruleText(1), ...many))
    const change = audit.take().find((e) => e.action === 'rules.change')!

    expect(JSON.parse(change.details!['added'] as string)).toHaveLength(MAX_LISTED)
    expect(change.details).toMatchObject({
      old_count: 1,
      new_count: MAX_LISTED + 8,
      added_count: MAX_LISTED + 7,
      added_unlisted: 7,
      removed_count: 0,
      changed_count: 0,
    })
  })
})
