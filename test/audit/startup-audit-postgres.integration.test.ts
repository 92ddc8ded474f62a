import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { AuditEntryInput, AuditLog } from '../../audit/audit-log.ts'
import { checkAuditEntry } from '../../audit/check-audit-entry.ts'
import { SoftwareSigner } from '../../audit/signers/software-signer.ts'
import { auditStartup } from '../../audit/startup-audit.ts'
import { parseRuleText } from '../../detectors/sigma/load-rules.ts'
import { compileRuleSet } from '../../detectors/sigma/rule-set.ts'
import { configSchema } from '../../platform/config/config-schema.ts'
import { readStartDigests } from '../../platform/state/start-digests.ts'
import { openStateStore } from '../../platform/state/state-store.ts'
import type { StateStore } from '../../platform/state/state-store.ts'
import { findPostgresBin, startPostgres } from '../helpers/postgres.ts'
import type { TestPostgres } from '../helpers/postgres.ts'

// The start digests live in the state store, which is PostgreSQL when distributed: the same
// migration and queries must hold there. Debian's postgresql is installed here and in CI.
const bin = findPostgresBin()
if (!bin) throw new Error('expected Debian postgresql (/usr/lib/postgresql/*/bin/initdb)')

class MemoryAuditLog implements AuditLog {
  readonly actions: string[] = []

  async record(entry: AuditEntryInput) {
    checkAuditEntry(entry)
    this.actions.push(entry.action)
    return { index: this.actions.length - 1, leaf_hash: '0'.repeat(64) }
  }
}

const rule = (outcome: string) =>
  compileRuleSet(
    parseRuleText(
      [
        'title: A rule',
        'id: 9e8d7c6b-5a49-4382-8172-6f5e4d3c2b1a',
        'logsource: { product: linux, service: sshd }',
        'detection: { selection: { event.outcome: ' + outcome + ' }, condition: selection }',
      ].join('\n'),
      'rule.yml',
    ).documents,
  )

describe('the start digests in PostgreSQL', () => {
  let postgres: TestPostgres
  let state: StateStore
  const signer = SoftwareSigner.generate('ed25519', 'development')
  const config = configSchema.parse({ dataDir: '/srv/palisade' })

  beforeAll(async () => {
    postgres = await startPostgres(bin)
    state = await openStateStore({ url: postgres.url, dataDir: '/nonexistent' })
  })

  afterAll(async () => {
    await state?.close()
    await postgres?.stop()
  })

  it('keeps one row of digests and compares the next start with it', async () => {
    const audit = new MemoryAuditLog()
    expect(await readStartDigests(state.db)).toBeNull()

    const first = await auditStartup({ audit, state, config, ruleSet: rule('failure'), signer })
    expect(await readStartDigests(state.db)).toMatchObject({
      configDigest: first.configDigest,
      rulesDigest: first.rulesDigest,
      ruleCount: 1,
      ruleVersions: { '9e8d7c6b-5a49-4382-8172-6f5e4d3c2b1a': expect.any(String) },
    })

    await auditStartup({ audit, state, config, ruleSet: rule('success'), signer })
    await auditStartup({ audit, state, config, ruleSet: rule('success'), signer })
    expect(audit.actions).toEqual([
      'audit.key.open',
      'engine.start',
      'audit.key.open',
      'engine.start',
      'rules.change',
      'audit.key.open',
      'engine.start',
    ])
    const rows = await state.db.selectFrom('start_digests').select('id').execute()
    expect(rows).toEqual([{ id: 'engine' }])
  })
})
