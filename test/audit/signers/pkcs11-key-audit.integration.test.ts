import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { AuditEntryInput, AuditLog } from '../../../audit/audit-log.ts'
import { checkAuditEntry } from '../../../audit/check-audit-entry.ts'
import type { CheckpointSigner } from '../../../audit/signers/checkpoint-signer.ts'
import { openCheckpointSigner } from '../../../audit/signers/open-checkpoint-signer.ts'
import { Pkcs11Signer } from '../../../audit/signers/pkcs11-signer.ts'
import { auditStartup } from '../../../audit/startup-audit.ts'
import { compileRuleSet } from '../../../detectors/sigma/rule-set.ts'
import { configSchema } from '../../../platform/config/config-schema.ts'
import type { PalisadeConfig } from '../../../platform/config/config-schema.ts'
import { openStateStore } from '../../../platform/state/state-store.ts'
import type { StateStore } from '../../../platform/state/state-store.ts'
import { createSoftHsm, softHsmModulePath } from '../../helpers/softhsm.ts'
import type { SoftHsm, TestToken } from '../../helpers/softhsm.ts'

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

describe('auditing the HSM checkpoint key (SoftHSM2)', () => {
  let hsm: SoftHsm
  let token: TestToken
  let state: StateStore
  let config: PalisadeConfig
  const dataDir = mkdtempSync(join(tmpdir(), 'palisade-key-audit-'))
  const audit = new MemoryAuditLog()
  const opened: CheckpointSigner[] = []

  /** Opens the signer as the engine does, from the configuration and the PIN variable. */
  const openSigner = async (generateKey: boolean): Promise<Pkcs11Signer> => {
    const signer = await openCheckpointSigner(
      {
        ...(config.audit.signer as Extract<typeof config.audit.signer, { kind: 'pkcs11' }>),
        generateKey,
      },
      { dataDir, env: { KEY_AUDIT_PIN: token.pin } },
    )
    opened.push(signer)
    expect(signer).toBeInstanceOf(Pkcs11Signer)
    return signer as Pkcs11Signer
  }

  const start = (signer: CheckpointSigner) =>
    auditStartup({ audit, state, config, ruleSet: compileRuleSet([]), signer })

  beforeAll(async () => {
    hsm = createSoftHsm()
    token = hsm.createToken('palisade-key-audit', { pin: 'audit-pin-Q7' })
    state = await openStateStore({ dataDir })
    config = configSchema.parse({
      dataDir,
      audit: {
        signer: {
          kind: 'pkcs11',
          module: softHsmModulePath,
          tokenLabel: token.label,
          keyLabel: 'audited-key',
          pinEnv: 'KEY_AUDIT_PIN',
          generateKey: true,
        },
      },
    })
  })

  afterAll(async () => {
    for (const signer of opened) await signer.close()
    await state?.close()
    hsm?.destroy()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('records audit.key.generate, then audit.key.open, when the key is made at start', async () => {
    const signer = await openSigner(true)
    expect(signer.generated).toBe(true)
    await start(signer)
    const [generate, open, started, ...rest] = audit.take()

    const target = { kind: 'checkpoint_key', id: signer.keyId }
    const details = {
      fingerprint: signer.fingerprint(),
      algorithm: 'ecdsa-p256-sha256',
      kind: 'hsm',
    }
    expect(target.id).toMatch(/^pkcs11:token=palisade-key-audit;object=audited-key;id=/)
    expect(generate).toEqual({
      actor: { kind: 'system', id: 'palisade' },
      action: 'audit.key.generate',
      target,
      outcome: 'success',
      details,
    })
    expect(open).toEqual({ ...generate, action: 'audit.key.open' })
    expect(started).toMatchObject({
      action: 'engine.start',
      details: { signer_id: signer.keyId, signer_kind: 'hsm' },
    })
    expect(rest).toEqual([])
    expect(JSON.stringify([generate, open, started])).not.toContain(token.pin)
  })

  it('records only audit.key.open when the key was already in the token', async () => {
    const first = opened[0]!
    for (const generateKey of [true, false]) {
      const signer = await openSigner(generateKey)
      expect(signer.generated).toBe(false)
      expect(signer.fingerprint()).toBe(first.fingerprint())
      await start(signer)
      expect(audit.take().map((e) => e.action)).toEqual(['audit.key.open', 'engine.start'])
    }
  })
})
