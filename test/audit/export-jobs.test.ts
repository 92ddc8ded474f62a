import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterEach, describe, expect, it } from 'vitest'

import type { AuditEntry, AuditEntryInput, AuditReceipt } from '../../audit/audit-log.ts'
import { MemoryCheckpointStore } from '../../audit/checkpoint-store.ts'
import { Checkpointer } from '../../audit/checkpointer.ts'
import { ExportJobs } from '../../audit/export/export-jobs.ts'
import type { ExportedLog, ExportStatus } from '../../audit/export/export-jobs.ts'
import { parseRangeBound, resolveExportRange } from '../../audit/export/export-range.ts'
import { leafHash, MerkleFrontier } from '../../audit/merkle/index.ts'
import type { CheckpointSigner } from '../../audit/signers/checkpoint-signer.ts'
import { HsmError } from '../../audit/signers/hsm-error.ts'
import type { HsmErrorCode } from '../../audit/signers/hsm-error.ts'
import { SoftwareSigner } from '../../audit/signers/software-signer.ts'
import { canonicalJson } from '../../platform/event-id.ts'

/** A log in memory, hashing entries as the Merkle audit log does, one minute apart. */
class MemoryLog implements ExportedLog {
  readonly texts: string[] = []
  readonly hashes: Uint8Array[] = []
  readonly #frontier = new MerkleFrontier()
  readonly leaves = {
    leafHashes: async (start: number, end: number) => this.hashes.slice(start, end),
  }

  size(): number {
    return this.#frontier.size
  }

  root(): Uint8Array {
    return this.#frontier.root()
  }

  async record(input: AuditEntryInput): Promise<AuditReceipt> {
    const index = this.size()
    const time = new Date(Date.UTC(2026, 11, 3, 20, index)).toISOString()
    const text = canonicalJson({ v: 1, index, time, ...input } satisfies AuditEntry)
    const hash = leafHash(Buffer.from(text, 'utf8'))
    this.#frontier.append(hash)
    this.texts.push(text)
    this.hashes.push(hash)
    return { index, leaf_hash: Buffer.from(hash).toString('hex') }
  }

  entry(index: number): AuditEntry {
    return JSON.parse(this.texts[index]!) as AuditEntry
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

  readonly reader = {
    readEntries: async (start: number, end: number) =>
      this.texts.slice(start, end).map((text, i) => ({ index: start + i, text })),
    firstIndexAtOrAfter: async (time: Date) => {
      const found = this.texts.findIndex((_, i) => Date.parse(this.entry(i).time) >= +time)
      return found < 0 ? undefined : found
    },
  }
}

const key = SoftwareSigner.generate('ecdsa-p256-sha256', 'export-test')

/** The software key, failing with an HSM error code while `failWith` is set. */
function flakySigner() {
  const state = { failWith: undefined as HsmErrorCode | undefined, calls: 0 }
  const signer: CheckpointSigner = {
    keyId: key.keyId,
    algorithm: key.algorithm,
    kind: key.kind,
    publicKeyPem: () => key.publicKeyPem(),
    fingerprint: () => key.fingerprint(),
    async sign(message) {
      state.calls++
      if (state.failWith) throw new HsmError(state.failWith, `simulated ${state.failWith}`)
      return key.sign(message)
    },
    close: async () => undefined,
  }
  return { signer, state }
}

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

async function setup(entries = 10) {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-exports-'))
  dirs.push(dir)
  const log = new MemoryLog()
  await log.append(entries)
  const store = new MemoryCheckpointStore()
  const { signer, state } = flakySigner()
  const checkpointer = await Checkpointer.open({
    log,
    signer,
    store,
    everyEntries: 1000,
    everySeconds: 3600,
    onSignerFailure: () => undefined,
  })
  const options = { dir, log, entries: log.reader, checkpoints: store, checkpointer, signer }
  const jobs = await ExportJobs.open(options)
  return { dir, log, store, signer, state, checkpointer, jobs, options }
}

const actor = { kind: 'token', id: 'tok-1', name: 'auditor' } as const

async function finished(jobs: ExportJobs, id: string): Promise<ExportStatus> {
  for (let i = 0; i < 500; i++) {
    const status = jobs.status(id)!
    if (status.state !== 'running') return status
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  throw new Error(`export ${id} did not finish`)
}

describe('checkpointNow', () => {
  it('signs the log size now though no checkpoint is due, and only once', async () => {
    const { store, checkpointer, signer } = await setup(3)
    expect(await checkpointer.tick()).toBe('idle')
    expect(await checkpointer.checkpointNow()).toBe('signed')
    expect(await checkpointer.checkpointNow()).toBe('idle')
    const records = await store.list()
    expect(records.map((r) => [r.tree_size, r.status, r.key_fingerprint])).toEqual([
      [3, 'signed', signer.fingerprint()],
    ])
  })

  it('leaves the size pending when the signer fails, as a tick does', async () => {
    const { log, store, checkpointer, state } = await setup(3)
    state.failWith = 'PAL_HSM_TOKEN_MISSING'
    expect(await checkpointer.checkpointNow()).toBe('pending')
    expect(checkpointer.status()).toMatchObject({ state: 'retrying', pending: [3] })
    expect((await store.list()).filter((r) => r.status === 'signed')).toEqual([])
    expect(log.entry(3)).toMatchObject({ action: 'checkpoint.sign', outcome: 'failure' })
  })

  it('tries nothing once signing is halted, so a wrong PIN is never tried twice', async () => {
    const { checkpointer, state } = await setup(3)
    state.failWith = 'PAL_HSM_PIN_INCORRECT'
    expect(await checkpointer.checkpointNow()).toBe('pending')
    expect(checkpointer.status().state).toBe('halted')
    expect(await checkpointer.checkpointNow()).toBe('pending')
    expect(state.calls).toBe(1)
  })
})

describe('export ranges', () => {
  const lookup = (size: number) => ({
    size,
    firstIndexAtOrAfter: async (time: Date) => {
      const minute = Math.ceil((+time - Date.UTC(2026, 11, 3, 20)) / 60_000)
      return minute < size ? Math.max(minute, 0) : undefined
    },
  })
  const names = { from: 'body.from', to: 'body.to' }

  it('reads indexes, RFC 3339 times and dates, and says what it expected otherwise', () => {
    expect(parseRangeBound('12', 'body.from')).toEqual({ index: 12 })
    expect(parseRangeBound(0, 'body.from')).toEqual({ index: 0 })
    expect(parseRangeBound('2026-12-03', '--to')).toEqual({ time: new Date('2026-12-03T00:00Z') })
    expect(parseRangeBound('2026-12-03t21:00:00+01:00', '--to')).toEqual({
      time: new Date('2026-12-03T20:00:00Z'),
    })
    expect(() => parseRangeBound('yesterday', '--from')).toThrow(
      /^--from: expected an entry index .* or an RFC 3339 time or date .*, got "yesterday"$/,
    )
    expect(() => parseRangeBound('2026-02-30', 'body.to')).toThrow(/^body\.to: expected/)
    expect(() => parseRangeBound('2026-12-03T20:00:00', 'body.to')).toThrow(/got "2026-12-03T20/)
    expect(() => parseRangeBound(-1, 'body.from')).toThrow(
      'body.from: expected an entry index as a non-negative integer, got -1',
    )
  })

  it('selects entries by time, half open, and defaults to the whole log', async () => {
    const range = (from?: string, to?: string) =>
      resolveExportRange(
        {
          ...(from ? { from: parseRangeBound(from, 'body.from') } : {}),
          ...(to ? { to: parseRangeBound(to, 'body.to') } : {}),
        },
        names,
        lookup(10),
      )
    expect(await range()).toEqual({ from_index: 0, to_index: 10 })
    expect(await range('2026-12-03T20:02:00Z', '2026-12-03T20:05:00Z')).toEqual({
      from_index: 2,
      to_index: 5,
    })
    expect(await range('2026-12-03T20:01:30Z', '3000-01-01')).toEqual({
      from_index: 2,
      to_index: 10,
    })
    expect(await range('1000-01-01', '4')).toEqual({ from_index: 0, to_index: 4 })
  })

  it('refuses an end before the start, and an index beyond the log', async () => {
    const bound = (v: string) => parseRangeBound(v, 'x')
    await expect(
      resolveExportRange({ from: bound('2026-12-04'), to: bound('2026-12-03') }, names, lookup(10)),
    ).rejects.toThrow(
      'body.to: expected a time at or after body.from (2026-12-04T00:00:00.000Z), ' +
        'got 2026-12-03T00:00:00.000Z',
    )
    await expect(
      resolveExportRange({ from: bound('6'), to: bound('5') }, names, lookup(10)),
    ).rejects.toThrow('body.to: expected an end at or after body.from (entry 6), got one that')
    await expect(resolveExportRange({ to: bound('11') }, names, lookup(10))).rejects.toMatchObject({
      status: 400,
      code: 'PAL_EXPORT_RANGE_INVALID',
      message: "body.to: expected an entry index at most the log's size 10, got 11",
    })
  })
})

describe('export jobs', () => {
  it('audits the export before answering, writes it, and keeps it across a reopen', async () => {
    const { dir, log, jobs, options } = await setup(10)
    const started = await jobs.start({ from: '2', to: '8', actor, source: { ip: '10.0.0.9' } })
    expect(started).toMatchObject({
      state: 'running',
      range: { from_index: 2, to_index: 8 },
      requested: { from: '2', to: '8' },
      anchor_size: 10,
      progress: { done: 0, total: 6 },
    })
    expect(log.entry(10)).toMatchObject({
      actor,
      action: 'audit.export',
      target: { kind: 'audit_export', id: started.id },
      outcome: 'success',
      source: { ip: '10.0.0.9' },
      details: { from_index: 2, to_index: 8, requested_from: '2', requested_to: '8' },
    })

    const done = await finished(jobs, started.id)
    expect(done).toMatchObject({ state: 'done', progress: { done: 6, total: 6 } })
    expect(done.manifest).toMatchObject({
      export_id: started.id,
      range: { from_index: 2, to_index: 8 },
      anchor: { tree_size: 10 },
    })
    const entries = readFileSync(join(dir, started.id, 'entries.jsonl'), 'utf8')
    expect(entries).toBe(log.texts.slice(2, 8).join('\n') + '\n')

    const reopened = await ExportJobs.open(options)
    expect(reopened.status(started.id)).toEqual(done)
    const manifest = await reopened.openFile(started.id, 'manifest.json')
    const text = (await manifest.stream.toArray()).join('')
    expect(Buffer.byteLength(text)).toBe(manifest.bytes)
    expect(JSON.parse(text)).toEqual(done.manifest)
  })

  it('signs the log size now when no checkpoint covers the range yet', async () => {
    const { store, jobs } = await setup(5)
    const started = await jobs.start({ actor })
    expect(started.anchor_size).toBe(5)
    expect((await store.list()).map((r) => [r.tree_size, r.status])).toEqual([[5, 'signed']])
    expect((await finished(jobs, started.id)).state).toBe('done')
  })

  it('refuses with 409 while checkpoints are pending, audits it, and signs nothing', async () => {
    const { log, store, state, jobs, dir } = await setup(5)
    state.failWith = 'PAL_HSM_TOKEN_MISSING'
    const refused = jobs.start({ to: '5', actor })
    await expect(refused).rejects.toMatchObject({
      status: 409,
      code: 'PAL_EXPORT_UNANCHORED',
      message: expect.stringContaining('checkpoints are pending because the signer fails'),
    })
    expect((await store.list()).filter((r) => r.status === 'signed')).toEqual([])
    expect(log.entry(log.size() - 1)).toMatchObject({
      action: 'audit.export',
      outcome: 'failure',
      details: { from_index: 0, to_index: 5, error_code: 'PAL_EXPORT_UNANCHORED' },
    })
    expect(jobs.list()).toEqual([])
    expect(readdirSync(dir)).toEqual([])

    // Once the signer signs again, the same request goes through.
    state.failWith = undefined
    const started = await jobs.start({ to: '5', actor })
    expect((await finished(jobs, started.id)).state).toBe('done')
  })

  it('runs one export at a time and audits a refused second one', async () => {
    const { log, jobs } = await setup(5)
    const first = await jobs.start({ actor })
    await expect(jobs.start({ actor })).rejects.toMatchObject({
      status: 409,
      code: 'PAL_EXPORT_BUSY',
    })
    expect(log.entry(log.size() - 1)).toMatchObject({
      action: 'audit.export',
      outcome: 'failure',
      details: { error_code: 'PAL_EXPORT_BUSY' },
    })
    await finished(jobs, first.id)
    const second = await jobs.start({ actor })
    expect((await finished(jobs, second.id)).state).toBe('done')
    expect(jobs.list().map((j) => j.id)).toEqual([second.id, first.id])
  })

  it('serves only the format file names, and only once done', async () => {
    const { jobs } = await setup(3)
    const started = await jobs.start({ actor })
    await expect(jobs.openFile(started.id, 'entries.jsonl')).rejects.toMatchObject({
      status: 409,
      code: 'PAL_EXPORT_NOT_READY',
    })
    await finished(jobs, started.id)
    for (const name of ['../admin-token', 'job.json', `${started.id}.json`, '']) {
      await expect(jobs.openFile(started.id, name)).rejects.toMatchObject({ status: 404 })
    }
    await expect(jobs.openFile('../exports', 'manifest.json')).rejects.toMatchObject({
      status: 404,
    })
  })

  it('marks a job a stop interrupted as failed at the next open, and audits it', async () => {
    const { dir, log, jobs, options } = await setup(5)
    const started = await jobs.start({ actor })
    await finished(jobs, started.id)
    // What a kill mid-export leaves: the job still running, a partial folder beside it.
    const job = JSON.parse(readFileSync(join(dir, `${started.id}.json`), 'utf8'))
    rmSync(join(dir, started.id), { recursive: true })
    writeFileSync(join(dir, `${started.id}.json`), JSON.stringify({ ...job, state: 'running' }))
    mkdirSync(join(dir, `.${started.id}.partial-abc123`))

    const reopened = await ExportJobs.open(options)
    expect(reopened.status(started.id)).toMatchObject({
      state: 'failed',
      error: { code: 'PAL_EXPORT_INTERRUPTED' },
    })
    expect(existsSync(join(dir, `.${started.id}.partial-abc123`))).toBe(false)
    expect(log.entry(log.size() - 1)).toMatchObject({
      actor: { kind: 'system' },
      action: 'audit.export',
      target: { id: started.id },
      outcome: 'failure',
      details: { error_code: 'PAL_EXPORT_INTERRUPTED' },
    })
  })
})
