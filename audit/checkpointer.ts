import type { Logger } from '../platform/logger.ts'
import { PalisadeError } from '../platform/errors.ts'
import type { AuditLog } from './audit-log.ts'
import { signCheckpoint } from './checkpoint.ts'
import type { CheckpointRecord, CheckpointStore } from './checkpoint-store.ts'
import type { CheckpointSigner } from './signers/checkpoint-signer.ts'

/** What the checkpointer reads from the log: its size and root now, and where to audit. */
export interface CheckpointedLog extends AuditLog {
  size(): number
  root(): Uint8Array
}

export interface CheckpointerOptions {
  log: CheckpointedLog
  /** The one key that signs. There is no second: when it fails, checkpoints wait. */
  signer: CheckpointSigner
  store: CheckpointStore
  /** A checkpoint falls due once this many entries were appended since the last one. */
  everyEntries: number
  /** …or once this many seconds passed since the last one, if the log has grown. */
  everySeconds: number
  /**
   * Called when signing starts failing (once per outage, and again if the error code
   * changes), with the signer's error and the tree size that waits: raise the alert here.
   * The tick awaits it, so the alert is stored before the failure is audited; a throw or a
   * rejection is logged and changes nothing else.
   */
  onSignerFailure: (error: PalisadeError, pending: { treeSize: number }) => void | Promise<void>
  /** How often `start()` checks whether a checkpoint is due; default min(1 s, everySeconds). */
  pollMs?: number
  now?: () => Date
  /** Runs `tick` every `ms` until the returned function is called; default setInterval. */
  schedule?: (tick: () => void, ms: number) => () => void
  logger?: Logger
}

/**
 * - `healthy`: the last attempt signed (or none was needed);
 * - `retrying`: the signer failed retriably (token gone, session lost): every due tick tries
 *   again;
 * - `halted`: the signer failed in a way only an operator can fix (wrong PIN, module missing,
 *   another key under the label). No more signing is attempted by this checkpointer, so a
 *   wrong PIN is never tried twice; sizes that fall due are still recorded as pending, and a
 *   new checkpointer, with a signer opened again for the same key, signs them.
 */
export type CheckpointerState = 'healthy' | 'retrying' | 'halted'

export interface CheckpointerStatus {
  state: CheckpointerState
  /** The error code of the failure that made the state, when not healthy. */
  error_code?: string
  /** Sizes whose checkpoint fell due and waits for a signature. */
  pending: number[]
  /** The size of the last signed checkpoint, or 0. */
  signed_size: number
}

/** What one tick did. */
export type TickOutcome = 'idle' | 'signed' | 'pending'

const actor = { kind: 'system', id: 'checkpointer' } as const

/**
 * Signs a checkpoint of the audit log every `everyEntries` entries or `everySeconds` seconds,
 * whichever comes first, with exactly one signer, and stores every checkpoint, signed or
 * pending.
 *
 * When the signer fails, appends are not touched (the checkpointer only reads the log's size
 * and root): the due size is stored as `pending` with the error code, `onSignerFailure` is
 * called and the failure is audited (`checkpoint.sign`, outcome `failure`, the code in
 * details), once per outage and again if the code changes. A retriable failure is retried on
 * every later tick; a non-retriable one halts signing (see `CheckpointerState`).
 *
 * When signing works again, one checkpoint is signed for the log's size then, and every
 * pending size below it becomes `superseded` with `covered_by` that size: a consistency proof
 * from the pending size to the signed one proves the pending root is a prefix of the signed
 * tree, so one signature covers them all.
 *
 * @example
 * const checkpointer = await Checkpointer.open({ log, signer, store, everyEntries: 1000,
 *   everySeconds: 60, onSignerFailure: (e) => alerts.raise(e) })
 * checkpointer.start()
 */
export class Checkpointer {
  readonly #options: CheckpointerOptions
  readonly #now: () => Date
  #state: CheckpointerState = 'healthy'
  #errorCode: string | undefined
  #pending: CheckpointRecord[] = []
  #signedSize = 0
  #lastCheckpointAt: number
  #running: Promise<TickOutcome> | undefined
  #cancel: (() => void) | undefined

  private constructor(options: CheckpointerOptions) {
    if (!Number.isSafeInteger(options.everyEntries) || options.everyEntries < 1) {
      throw new RangeError(`expected everyEntries ≥ 1, got ${options.everyEntries}`)
    }

    if (!(options.everySeconds > 0)) {
      throw new RangeError(`expected everySeconds > 0, got ${options.everySeconds}`)
    }

    this.#options = options
    this.#now = options.now ?? (() => new Date())
    this.#lastCheckpointAt = this.#now().getTime()
  }

  /**
   * A checkpointer that continues from the stored checkpoints: the last signed size, and the
   * pending sizes still waiting.
   *
   * @throws {StoreError} when the store cannot be read.
   */
  static async open(options: CheckpointerOptions): Promise<Checkpointer> {
    const checkpointer = new Checkpointer(options)
    const records = await options.store.list()
    for (const record of records) {
      if (record.status === 'signed') {
        checkpointer.#signedSize = Math.max(checkpointer.#signedSize, record.tree_size)
      }
    }
    checkpointer.#pending = records.filter(
      (r) => r.status === 'pending' && r.tree_size > checkpointer.#signedSize,
    )
    return checkpointer
  }

  status(): CheckpointerStatus {
    return {
      state: this.#state,
      ...(this.#errorCode === undefined ? {} : { error_code: this.#errorCode }),
      pending: this.#pending.map((r) => r.tree_size),
      signed_size: this.#signedSize,
    }
  }

  /** Ticks every `pollMs` until `stop()`. A failed tick is logged; the next one runs. */
  start(): void {
    if (this.#cancel) return
    const { pollMs, everySeconds } = this.#options
    const ms = pollMs ?? Math.min(1000, everySeconds * 1000)
    const run = () => {
      this.tick().catch((error: unknown) => {
        this.#options.logger?.error({ err: error }, 'audit checkpoint tick failed')
      })
    }
    this.#cancel = (this.#options.schedule ?? interval)(run, ms)
  }

  /** Stops the timer and waits for a tick in progress. */
  async stop(): Promise<void> {
    this.#cancel?.()
    this.#cancel = undefined
    await this.#running?.catch(() => undefined)
  }

  /**
   * Signs a checkpoint if one is due (or pending). Ticks never overlap: a call during a tick
   * gets that tick's outcome.
   *
   * @throws {StoreError} when a checkpoint could not be stored.
   */
  tick(): Promise<TickOutcome> {
    this.#running ??= this.#tick().finally(() => {
      this.#running = undefined
    })
    return this.#running
  }

  /**
   * Signs a checkpoint of the log's size now, due or not: for an export that needs a signed
   * size at least as large as its range. It waits for a tick in progress and runs as one, so
   * the two never overlap, and it signs with the same one signer or not at all: when the
   * signer fails the size waits as pending, exactly as in a tick, and when signing is halted
   * nothing is tried.
   *
   * @returns `signed`; `idle` when the log's size is already signed (or the log is empty);
   *   `pending` when it could not be signed (see `status()` for the error code).
   * @throws {StoreError} when a checkpoint could not be stored.
   */
  async checkpointNow(): Promise<TickOutcome> {
    while (this.#running) await this.#running.catch(() => undefined)
    this.#running = this.#tick(true).finally(() => {
      this.#running = undefined
    })
    return this.#running
  }

  async #tick(force = false): Promise<TickOutcome> {
    // Size and root are read together, with no await between, so they describe one tree.
    const size = this.#options.log.size()
    const root = this.#options.log.root()
    const now = this.#now()
    if (force ? size <= this.#signedSize : !this.#due(size, now)) return 'idle'

    if (this.#state === 'halted') {
      await this.#keepPending(size, root, now, this.#errorCode ?? '')
      return 'pending'
    }

    const { signer, store } = this.#options
    let signed
    try {
      signed = await signCheckpoint(signer, { treeSize: size, root, time: now })
    } catch (error) {
      await this.#failed(asPalisadeError(error), size, root, now)
      return 'pending'
    }

    await store.save({
      ...signed.checkpoint,
      status: 'signed',
      signature: signed.signature,
      error_code: '',
      covered_by: null,
    })
    for (const record of this.#pending) {
      if (record.tree_size >= size) continue
      await store.save({ ...record, status: 'superseded', covered_by: size })
    }
    if (this.#state !== 'healthy') {
      this.#options.logger?.info(
        { tree_size: size, pending: this.#pending.length, key_id: signer.keyId },
        'audit checkpoints signed again',
      )
    }
    this.#pending = []
    this.#signedSize = size
    this.#lastCheckpointAt = now.getTime()
    this.#state = 'healthy'
    this.#errorCode = undefined
    return 'signed'
  }

  #due(size: number, now: Date): boolean {
    if (size <= this.#signedSize) return false
    if (this.#pending.length > 0) return true
    if (size - this.#signedSize >= this.#options.everyEntries) return true
    return now.getTime() - this.#lastCheckpointAt >= this.#options.everySeconds * 1000
  }

  async #failed(error: PalisadeError, size: number, root: Uint8Array, now: Date): Promise<void> {
    const newOutage = this.#state === 'healthy' || this.#errorCode !== error.code
    this.#state = error.retriable ? 'retrying' : 'halted'
    this.#errorCode = error.code
    await this.#keepPending(size, root, now, error.code)
    if (!newOutage) return

    const { signer, log, logger } = this.#options
    logger?.error(
      { code: error.code, retriable: error.retriable, tree_size: size, key_id: signer.keyId },
      'audit checkpoint could not be signed; it waits as pending',
    )
    try {
      await this.#options.onSignerFailure(error, { treeSize: size })
    } catch (alertError) {
      logger?.error({ err: alertError }, 'the checkpoint signer alert callback threw')
    }
    // Recorded after the pending row: the entry itself is covered by the next checkpoint.
    try {
      await log.record({
        actor,
        action: 'checkpoint.sign',
        target: { kind: 'checkpoint_signer', id: signer.keyId },
        outcome: 'failure',
        details: {
          error_code: error.code,
          retriable: error.retriable,
          tree_size: size,
          signer_kind: signer.kind,
        },
      })
    } catch (auditError) {
      logger?.error({ err: auditError }, 'the checkpoint signing failure could not be audited')
    }
  }

  /**
   * Stores a pending record for `size`. During an outage a new one is kept only when it would
   * have fallen due after the last pending one, so a long outage adds one per interval, not one
   * per tick.
   */
  async #keepPending(size: number, root: Uint8Array, now: Date, code: string): Promise<void> {
    const last = this.#pending.at(-1)
    if (last) {
      if (last.tree_size >= size) return
      const grown = size - last.tree_size >= this.#options.everyEntries
      const aged = now.getTime() - Date.parse(last.time) >= this.#options.everySeconds * 1000
      if (!grown && !aged) return
    }
    const { signer } = this.#options
    const record: CheckpointRecord = {
      tree_size: size,
      root_hash: Buffer.from(root).toString('hex'),
      time: now.toISOString(),
      key_id: signer.keyId,
      key_fingerprint: signer.fingerprint(),
      algorithm: signer.algorithm,
      signer_kind: signer.kind,
      status: 'pending',
      signature: '',
      error_code: code,
      covered_by: null,
    }
    await this.#options.store.save(record)
    this.#pending.push(record)
  }
}

function interval(tick: () => void, ms: number): () => void {
  const timer = setInterval(tick, ms)
  timer.unref()
  return () => clearInterval(timer)
}

/** A signer error as a PalisadeError; an unknown error is not retriable, so never hammered. */
function asPalisadeError(error: unknown): PalisadeError {
  if (error instanceof PalisadeError) return error
  return new PalisadeError(
    'PAL_CHECKPOINT_SIGN_FAILED',
    `the checkpoint signer failed: ${(error as Error)?.message ?? String(error)}`,
    { status: 503, retriable: false, cause: error },
  )
}
