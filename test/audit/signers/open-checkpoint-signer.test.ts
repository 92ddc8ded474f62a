import { mkdtempSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import {
  openCheckpointSigner,
  softwareKeyPath,
} from '../../../audit/signers/open-checkpoint-signer.ts'
import { ConfigError } from '../../../platform/errors.ts'

describe('openCheckpointSigner', () => {
  it('keeps the software key in the data dir, owner-only, so a restart signs with the same key', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'palisade-signer-'))
    const first = await openCheckpointSigner({ kind: 'software' }, { dataDir })
    const second = await openCheckpointSigner({ kind: 'software' }, { dataDir })

    expect(first.kind).toBe('software')
    expect(second.fingerprint()).toBe(first.fingerprint())
    expect(statSync(softwareKeyPath(dataDir)).mode & 0o777).toBe(0o600)
  })

  it('refuses a PKCS#11 signer whose PIN variable is not set, naming the variable', async () => {
    const config = {
      kind: 'pkcs11' as const,
      module: '/nowhere/libpkcs11.so',
      tokenLabel: 'palisade',
      keyLabel: 'audit',
      algorithm: 'ecdsa-p256-sha256' as const,
      pinEnv: 'TEST_HSM_PIN',
      generateKey: false,
    }
    const opening = openCheckpointSigner(config, { dataDir: tmpdir(), env: {} })
    await expect(opening).rejects.toBeInstanceOf(ConfigError)
    await expect(opening).rejects.toThrow(/TEST_HSM_PIN, which is not set/)
  })
})
