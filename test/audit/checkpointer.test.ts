import { describe, expect, it } from 'vitest'

import type { AuditEntryInput, AuditReceipt } from '../../audit/audit-log.ts'
import { verifyCheckpoint } from '../../audit/checkpoint.ts'
import { MemoryCheckpointStore, signedCheckpointOf } from '../../audit/checkpoint-store.ts'
import { Checkpointer } from '../../audit/checkpointer.ts'
import type { CheckpointedLog, CheckpointerOptions } from '../../audit/checkpointer.ts'
import { leafHash, MerkleFrontier } from '../../audit/merkle/index.ts'
import type { CheckpointSigner } from '../../audit/signers/checkpoint-signer.ts'
import { HsmError } from '../../audit/signers/hsm-error.ts'
import type { HsmErrorCode } from '../../audit/signers/hsm-error.ts'
import { SoftwareSigner } from '../../audit/signers/software-signer.ts'
import type { PalisadeError } from '../../platform/errors.ts'

/** A log in memory: a Merkle frontier over the entries' JSON. */
class MemoryLog implements CheckpointedLog {
  readonly entries: AuditEntryInput[] = []
  readonly #frontier = new MerkleFrontier()

  size(): number {
    return this.#frontier.size
  }

  root(): Uint8Array {
    return this.#frontier.root()
  }

  async record(entry: AuditEntryInput): Promise<AuditReceipt> {
    const hash = leafHash(Buffer.from(JSON.stringify(entry)))
    this.#frontier.append(hash)
    this.entries.push(entry)
    return { index: this.entries.length - 1, leaf_hash: Buffer.from(hash).toString('hex') }
  }

  async append(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      await this.record({
        actor: { kind: 'user', id: 'u' },
        action: 'rule.update',
        outcome: 'success',
      })
    }
  }
}

/** A software signer that fails with an HSM error code while `failWith` is set. */
function flakySigner() {
  const inner = SoftwareSigner.generate('ecdsa-p256-sha256', 'flaky')
  const state = { failWith: undefined as HsmErrorCode | undefined, calls: 0 }
  const signer: CheckpointSigner = {
    keyId: inner.keyId,
    algorithm: inner.algorithm,
    kind: inner.kind,
    publicKeyPem: () => inner.publicKeyPem(),
    fingerprint: () => inner.fingerprint(),
    async sign(message) {
      state.calls++
      if (state.failWith) throw new HsmError(state.failWith, `simulated ${state.failWith}`)
      return inner.sign(message)
    },
    close: () => inner.close(),
  }
  return { signer, state }
}

function setup(overrides: Partial<CheckpointerOptions> = {}) {
  const log = new MemoryLog()
  const store = new MemoryCheckpointStore()
  const { signer, state } = flakySigner()
  const alerts: PalisadeError[] = []
  let clock = Date.parse('2026-12-03T20:00:00Z')
  const options: CheckpointerOptions = {
    log,
    signer,
    store,
    everyEntries: 10,
    everySeconds: 60,
    onSignerFailure: (error) => {
      alerts.push(error)
    },
    now: () => new Date(clock),
    ...overrides,
  }
  const advance = (seconds: number) => {
    clock += seconds * 1000
  }
  return { log, store, signer, state, alerts, options, advance }
}

describe('the checkpointer', () => {
  it('signs a checkpoint once N entries were appended, and not before', async () => {
    const { log, store, signer, options } = setup()
    const checkpointer = await Checkpointer.open(options)
    await log.append(9)
    expect(await checkpointer.tick()).toBe('idle')
    await log.append(1)
    expect(await checkpointer.tick()).toBe('signed')

    const [record] = await store.list()
    expect(record).toMatchObject({ tree_size: 10, status: 'signed', signer_kind: 'software' })
    expect(record!.root_hash).toBe(Buffer.from(log.root()).toString('hex'))
    const signed = signedCheckpointOf(record!)!
    expect(verifyCheckpoint(signed.checkpoint, signed.signature, signer.publicKeyPem())).toEqual({
      valid: true,
      signer_kind: 'software',
      key_fingerprint: signer.fingerprint(),
    })
  })

  it('signs after T seconds when the log has grown, and not while it has not', async () => {
    const { log, store, options, advance } = setup()
    const checkpointer = await Checkpointer.open(options)
    advance(61)
    expect(await checkpointer.tick()).toBe('idle')
    await log.append(3)
    advance(59)
    expect(await checkpointer.tick()).toBe('signed')
    expect((await store.list()).map((r) => r.tree_size)).toEqual([3])

    await log.append(2)
    advance(59)
    expect(await checkpointer.tick()).toBe('idle')
    advance(1)
    expect(await checkpointer.tick()).toBe('signed')
    expect((await store.list()).map((r) => r.tree_size)).toEqual([3, 5])
  })

  it('keeps a checkpoint pending while the token is gone, alerts once, retries', async () => {
    const { log, store, signer, state, alerts, options, advance } = setup()
    const checkpointer = await Checkpointer.open(options)
    await log.append(10)
    state.failWith = 'PAL_HSM_TOKEN_MISSING'

    expect(await checkpointer.tick()).toBe('pending')
    // The failure is audited as an entry of the log itself: size 10 + 1.
    expect(log.size()).toBe(11)
    expect(log.entries[10]).toEqual({
      actor: { kind: 'system', id: 'checkpointer' },
      action: 'checkpoint.sign',
      target: { kind: 'checkpoint_signer', id: signer.keyId },
      outcome: 'failure',
      details: {
        error_code: 'PAL_HSM_TOKEN_MISSING',
        retriable: true,
        tree_size: 10,
        signer_kind: 'software',
      },
    })

    // Appends go on; each tick tries the signer again, without a second alert.
    await log.append(25)
    for (let i = 0; i < 3; i++) {
      advance(1)
      expect(await checkpointer.tick()).toBe('pending')
    }
    expect(state.calls).toBe(4)
    expect(alerts.map((e) => e.code)).toEqual(['PAL_HSM_TOKEN_MISSING'])
    expect(log.entries.filter((e) => e.action === 'checkpoint.sign')).toHaveLength(1)
    expect(checkpointer.status()).toEqual({
      state: 'retrying',
      error_code: 'PAL_HSM_TOKEN_MISSING',
      pending: [10, 36],
      signed_size: 0,
    })
    expect((await store.list()).map((r) => [r.tree_size, r.status, r.error_code])).toEqual([
      [10, 'pending', 'PAL_HSM_TOKEN_MISSING'],
      [36, 'pending', 'PAL_HSM_TOKEN_MISSING'],
    ])

    state.failWith = undefined
    advance(1)
    expect(await checkpointer.tick()).toBe('signed')
    const records = await store.list()
    expect(records.map((r) => [r.tree_size, r.status, r.covered_by])).toEqual([
      [10, 'superseded', 36],
      [36, 'signed', null],
    ])
    const signed = signedCheckpointOf(records[1]!)!
    expect(verifyCheckpoint(signed.checkpoint, signed.signature, signer.publicKeyPem()).valid).toBe(
      true,
    )
    expect(checkpointer.status()).toEqual({ state: 'healthy', pending: [], signed_size: 36 })
  })

  it('alerts again when the failure changes to another code', async () => {
    const { log, state, alerts, options } = setup()
    const checkpointer = await Checkpointer.open(options)
    await log.append(10)
    state.failWith = 'PAL_HSM_SESSION_LOST'
    await checkpointer.tick()
    state.failWith = 'PAL_HSM_TOKEN_MISSING'
    await checkpointer.tick()
    await checkpointer.tick()
    expect(alerts.map((e) => e.code)).toEqual(['PAL_HSM_SESSION_LOST', 'PAL_HSM_TOKEN_MISSING'])
  })

  it('stops calling the signer after a wrong PIN, yet keeps recording pending sizes', async () => {
    const { log, store, state, alerts, options, advance } = setup()
    const checkpointer = await Checkpointer.open(options)
    await log.append(10)
    state.failWith = 'PAL_HSM_PIN_INCORRECT'
    expect(await checkpointer.tick()).toBe('pending')
    await log.append(20)
    for (let i = 0; i < 5; i++) {
      advance(60)
      expect(await checkpointer.tick()).toBe('pending')
    }

    expect(state.calls).toBe(1)
    expect(alerts).toHaveLength(1)
    expect(alerts[0]!.retriable).toBe(false)
    expect(checkpointer.status()).toMatchObject({
      state: 'halted',
      error_code: 'PAL_HSM_PIN_INCORRECT',
      pending: [10, 31],
    })
    expect((await store.list()).every((r) => r.status === 'pending')).toBe(true)
  })

  it('continues from stored pending checkpoints when opened again, and signs them', async () => {
    const { log, store, state, options } = setup()
    const first = await Checkpointer.open(options)
    await log.append(10)
    state.failWith = 'PAL_HSM_PIN_INCORRECT'
    await first.tick()

    state.failWith = undefined
    const second = await Checkpointer.open(options)
    expect(second.status().pending).toEqual([10])
    expect(await second.tick()).toBe('signed')
    expect((await store.list()).map((r) => [r.tree_size, r.status])).toEqual([
      [10, 'superseded'],
      [11, 'signed'],
    ])
  })

  it('ticks on the injected timer until stopped, never two ticks at once', async () => {
    const ticks: (() => void)[] = []
    let cancelled = false
    const { log, store, options } = setup({
      schedule: (tick, ms) => {
        expect(ms).toBe(1000)
        ticks.push(tick)
        return () => {
          cancelled = true
        }
      },
    })
    const checkpointer = await Checkpointer.open(options)
    checkpointer.start()
    await log.append(10)
    const [tick] = ticks
    tick!()
    tick!()
    await checkpointer.stop()
    expect(cancelled).toBe(true)
    expect((await store.list()).map((r) => r.tree_size)).toEqual([10])
  })
})
