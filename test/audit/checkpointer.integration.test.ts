import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'

import { verifyCheckpoint } from '../../audit/checkpoint.ts'
import {
  ClickHouseCheckpointStore,
  MemoryCheckpointStore,
  signedCheckpointOf,
} from '../../audit/checkpoint-store.ts'
import type { CheckpointRecord } from '../../audit/checkpoint-store.ts'
import { Checkpointer } from '../../audit/checkpointer.ts'
import { verifyConsistency } from '../../audit/merkle/index.ts'
import { openAuditLog } from '../../audit/merkle-audit-log.ts'
import type { MerkleAuditLog } from '../../audit/merkle-audit-log.ts'
import { Pkcs11Module } from '../../audit/signers/pkcs11-module.ts'
import { Pkcs11Signer } from '../../audit/signers/pkcs11-signer.ts'
import { SoftwareSigner } from '../../audit/signers/software-signer.ts'
import { openAnalyticsStore } from '../../platform/clickhouse/analytics-store.ts'
import type { AnalyticsStore } from '../../platform/clickhouse/analytics-store.ts'
import { readAuditRows } from '../../platform/clickhouse/audit-repository.ts'
import type { PalisadeError } from '../../platform/errors.ts'
import { openStateStore } from '../../platform/state/state-store.ts'
import type { StateStore } from '../../platform/state/state-store.ts'
import { createSoftHsm, softHsmAvailable } from '../helpers/softhsm.ts'
import type { SoftHsm, TestToken } from '../helpers/softhsm.ts'

const available = softHsmAvailable()
const dataDir = mkdtempSync(join(tmpdir(), 'palisade-checkpoints-'))
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')

describe.skipIf(!available)(
  'audit checkpoints signed in SoftHSM2 (skipped without softhsm2)',
  () => {
    let store: AnalyticsStore
    let state: StateStore
    let log: MerkleAuditLog
    let hsm: SoftHsm
    let token: TestToken
    let signer: Pkcs11Signer
    let checkpoints: ClickHouseCheckpointStore
    let checkpointer: Checkpointer
    const alerts: PalisadeError[] = []
    const opened: Pkcs11Signer[] = []
    let clock = Date.parse('2026-12-03T20:00:00Z')

    const append = async (n: number) => {
      for (let i = 0; i < n; i++) {
        await log.record({
          actor: { kind: 'user', id: 'analyst' },
          action: 'rule.update',
          target: { kind: 'rule', id: `rule-${i}` },
          outcome: 'success',
        })
      }
    }

    /** Every signed checkpoint in the table must be this HSM key's: nothing signs in its place. */
    const expectOnlyTheHsmKey = (records: CheckpointRecord[]) => {
      for (const record of records.filter((r) => r.status === 'signed')) {
        expect(record.key_fingerprint).toBe(signer.fingerprint())
        expect(record.key_id).toBe(signer.keyId)
        expect(record.signer_kind).toBe('hsm')
      }
    }

    beforeAll(async () => {
      store = await openAnalyticsStore({ database: 'palisade', dataDir, eventDays: 30 })
      state = await openStateStore({ dataDir })
      log = await openAuditLog({ store, state })
      hsm = createSoftHsm()
      token = hsm.createToken('checkpoints')
      signer = await Pkcs11Signer.open({
        modulePath: token.modulePath,
        tokenLabel: token.label,
        pin: token.pin,
        keyLabel: 'audit-checkpoint',
        algorithm: 'ecdsa-p256-sha256',
        generate: true,
      })
      opened.push(signer)
      checkpoints = new ClickHouseCheckpointStore(store)
      checkpointer = await Checkpointer.open({
        log,
        signer,
        store: checkpoints,
        everyEntries: 5,
        everySeconds: 3600,
        onSignerFailure: (error) => {
          alerts.push(error)
        },
        now: () => new Date(clock),
      })
    })

    afterAll(async () => {
      await checkpointer?.stop()
      for (const s of opened) await s.close()
      await log?.drain()
      await state?.close()
      await store?.close()
      hsm?.destroy()
      rmSync(dataDir, { recursive: true, force: true })
    })

    it('signs a checkpoint in the HSM that verifies with the exported public key', async () => {
      await append(5)
      expect(await checkpointer.tick()).toBe('signed')

      const [record] = await checkpoints.list()
      expect(record).toMatchObject({ tree_size: 5, status: 'signed', signer_kind: 'hsm' })
      expect(record!.root_hash).toBe(hex(await log.proofs.rootHash(5)))
      const signed = signedCheckpointOf(record!)!
      expect(verifyCheckpoint(signed.checkpoint, signed.signature, signer.publicKeyPem())).toEqual({
        valid: true,
        signer_kind: 'hsm',
        key_fingerprint: signer.fingerprint(),
      })
    })

    it('while the token is gone, appends go on, the checkpoint waits, one alert', async () => {
      token.remove()
      await append(5)
      clock += 1000
      expect(await checkpointer.tick()).toBe('pending')

      // Appends are untouched by the failure; ticks go on retrying without new alerts.
      await append(7)
      for (let i = 0; i < 3; i++) {
        clock += 1000
        expect(await checkpointer.tick()).toBe('pending')
      }
      expect(log.size()).toBe(5 + 5 + 1 + 7)
      expect(alerts).toHaveLength(1)
      expect(alerts[0]!.retriable).toBe(true)
      expect(['PAL_HSM_SESSION_LOST', 'PAL_HSM_TOKEN_MISSING']).toContain(alerts[0]!.code)

      const rows = await readAuditRows(store, 0, log.size())
      const failures = rows
        .map((r) => JSON.parse(r.entry))
        .filter((e) => e.action === 'checkpoint.sign')
      expect(failures).toHaveLength(1)
      expect(failures[0]).toMatchObject({
        index: 10,
        actor: { kind: 'system', id: 'checkpointer' },
        outcome: 'failure',
        target: { kind: 'checkpoint_signer', id: signer.keyId },
        details: {
          error_code: alerts[0]!.code,
          retriable: true,
          tree_size: 10,
          signer_kind: 'hsm',
        },
      })
      expect(JSON.stringify(failures[0])).not.toContain(token.pin)

      const records = await checkpoints.list()
      expect(records.map((r) => [r.tree_size, r.status])).toEqual([
        [5, 'signed'],
        [10, 'pending'],
        [18, 'pending'],
      ])
      expect(checkpointer.status()).toMatchObject({ state: 'retrying', pending: [10, 18] })
      expectOnlyTheHsmKey(records)
    })

    it('once the token is back, signs the latest size with the same key', async () => {
      token.restore()
      clock += 1000
      expect(await checkpointer.tick()).toBe('signed')

      const records = await checkpoints.list()
      expect(records.map((r) => [r.tree_size, r.status, r.covered_by])).toEqual([
        [5, 'signed', null],
        [10, 'superseded', 18],
        [18, 'signed', null],
      ])
      expectOnlyTheHsmKey(records)

      const latest = signedCheckpointOf(records[2]!)!
      expect(
        verifyCheckpoint(latest.checkpoint, latest.signature, signer.publicKeyPem()).valid,
      ).toBe(true)
      // The signed root covers the pending one: a consistency proof from 10 to 18 ties them.
      const pending = records[1]!
      verifyConsistency({
        size1: 10,
        size2: 18,
        root1: new Uint8Array(Buffer.from(pending.root_hash, 'hex')),
        root2: new Uint8Array(Buffer.from(latest.checkpoint.root_hash, 'hex')),
        proof: await log.proofs.consistencyProof(10, 18),
      })
      expect(alerts).toHaveLength(1)
    })

    it('after a wrong PIN, alerts once and never tries the PIN again', async () => {
      const pinToken = hsm.createToken('pin-changed', { pin: '222222' })
      const pinSigner = await Pkcs11Signer.open({
        modulePath: pinToken.modulePath,
        tokenLabel: pinToken.label,
        pin: pinToken.pin,
        keyLabel: 'audit-checkpoint',
        algorithm: 'ed25519',
        generate: true,
      })
      opened.push(pinSigner)
      const pinAlerts: PalisadeError[] = []
      const pinCheckpointer = await Checkpointer.open({
        log,
        signer: pinSigner,
        store: new MemoryCheckpointStore(),
        everyEntries: 1,
        everySeconds: 3600,
        onSignerFailure: (error) => {
          pinAlerts.push(error)
        },
      })
      expect(await pinCheckpointer.tick()).toBe('signed')

      pinToken.setUserPin('333333')
      pinToken.remove()
      await append(1)
      expect(await pinCheckpointer.tick()).toBe('pending')
      pinToken.restore()

      const module = await Pkcs11Module.acquire(pinToken.modulePath)
      const login = vi.spyOn(module.api, 'C_Login')
      try {
        for (let i = 0; i < 4; i++) {
          await append(1)
          await pinCheckpointer.tick()
        }
        // One login, at the reopen after the token came back; none after the refusal.
        expect(login).toHaveBeenCalledTimes(1)
      } finally {
        login.mockRestore()
        module.release()
      }
      expect(pinCheckpointer.status()).toMatchObject({
        state: 'halted',
        error_code: 'PAL_HSM_PIN_INCORRECT',
      })
      expect(pinAlerts.map((e) => e.code)).toEqual([
        expect.stringMatching(/PAL_HSM_(SESSION_LOST|TOKEN_MISSING)/),
        'PAL_HSM_PIN_INCORRECT',
      ])
      expect(pinAlerts[1]!.retriable).toBe(false)
    })

    it('marks checkpoints a software key signs as software, and the verifier says so', async () => {
      const software = SoftwareSigner.generate('ed25519', 'dev')
      const memory = new MemoryCheckpointStore()
      const dev = await Checkpointer.open({
        log,
        signer: software,
        store: memory,
        everyEntries: 1,
        everySeconds: 3600,
        onSignerFailure: () => undefined,
      })
      expect(await dev.tick()).toBe('signed')
      const signed = signedCheckpointOf((await memory.list())[0]!)!
      expect(signed.checkpoint).toMatchObject({ signer_kind: 'software', key_id: 'software:dev' })
      expect(
        verifyCheckpoint(signed.checkpoint, signed.signature, software.publicKeyPem()),
      ).toEqual({
        valid: true,
        signer_kind: 'software',
        key_fingerprint: software.fingerprint(),
      })
    })
  },
)
