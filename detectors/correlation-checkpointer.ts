import type { Logger } from '../platform/logger.ts'
import { writeStreamCheckpoint } from '../platform/state/stream-checkpoints.ts'
import type { StateDb } from '../platform/state/state-store.ts'
import type { SigmaDetector } from './detector.ts'
import type { CorrelationState } from './sigma/correlation-engine.ts'

/** The stream the embedded pipeline checkpoints: its positions are ingest sequence numbers. */
export const EMBEDDED_STREAM = 'embedded'

/** What a correlation checkpoint holds: the correlator's state and what it was counted under. */
export interface SavedCorrelations {
  /** Correlation id to content version when the state was saved. */
  versions: Record<string, string>
  correlator: CorrelationState
}

export type CheckpointOutcome = 'written' | 'skipped' | 'failed'

/**
 * Where the input stands: the embedded pipeline gives its last ingest sequence number; a Kafka
 * consumer would give the offsets it has detected through (as JSON), with the same promise.
 */
export interface DetectedPosition {
  detectedThrough(): { position: number | string; stored: Promise<boolean> }
}

export interface CorrelationCheckpointerOptions {
  db: StateDb
  pipeline: DetectedPosition
  detector: Pick<SigmaDetector, 'rules'>
  /** A checkpoint once this many batches were stored since the last… */
  everyBatches: number
  /** …or every this many seconds, if the position moved. */
  everySeconds: number
  logger: Logger
  /**
   * The position of the checkpoint resumed from at start. Events replayed after it moved the
   * state on, so the first checkpoint after them is written even with no new batch.
   */
  position?: number | string
  /** The input the positions are in (`EMBEDDED_STREAM` by default). */
  stream?: string
  onOutcome?: (outcome: CheckpointOutcome) => void
}

/**
 * Saves the correlation state to the state store with the ingest position it reflects, every
 * so many batches or seconds and at a clean stop, so a restart resumes open windows instead of
 * starting them empty (see `resumeCorrelations`). One write at a time, in order, so a stored
 * position never goes back.
 *
 * The state is read in the same synchronous step as the position, and written only once every
 * batch detected up to that position has stored its events and alerts: a window saved as fired
 * whose alert was never stored would lose that alert. When one of them failed, the checkpoint
 * is skipped. (The live correlator has counted that batch already, since it is fed before the
 * store answers, and counts the sender's retry again; a later checkpoint keeps that, as memory
 * does. Undoing a batch's effect on windows is not possible with the state as it is.)
 * A checkpoint that cannot be written is logged and the next one tries again; the previous one
 * stays valid meanwhile.
 */
export class CorrelationCheckpointer {
  readonly #options: CorrelationCheckpointerOptions
  readonly #stream: string
  #batches = 0
  #written: string
  #chain: Promise<void> = Promise.resolve()
  #queued = false
  #timer: NodeJS.Timeout | undefined

  constructor(options: CorrelationCheckpointerOptions) {
    this.#options = options
    this.#stream = options.stream ?? EMBEDDED_STREAM
    this.#written = String(options.position ?? 0)
  }

  /** The position of the last checkpoint written (or resumed from). */
  get position(): string {
    return this.#written
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.checkpoint(), this.#options.everySeconds * 1000)
    this.#timer.unref()
  }

  /** Counts a stored batch; every `everyBatches` of them, checkpoints. */
  batchDone(): void {
    if (++this.#batches < this.#options.everyBatches) return
    this.#batches = 0
    void this.checkpoint()
  }

  /** Stops the timer and writes a last checkpoint; call once no batch can arrive any more. */
  async stop(): Promise<void> {
    clearInterval(this.#timer)
    this.#timer = undefined
    await this.checkpoint()
  }

  /** Writes a checkpoint after the one in progress, if any; asked twice meanwhile, once. */
  checkpoint(): Promise<void> {
    if (this.#queued) return this.#chain
    this.#queued = true
    this.#chain = this.#chain.then(() => {
      this.#queued = false
      return this.#write()
    })
    return this.#chain
  }

  async #write(): Promise<void> {
    const { pipeline, detector, logger, onOutcome } = this.#options
    const detected = pipeline.detectedThrough()
    const position = String(detected.position)
    if (position === this.#written) return
    const { ruleSet, correlator } = detector.rules.live
    const saved: SavedCorrelations = {
      versions: Object.fromEntries(ruleSet.correlations.map((c) => [c.id, c.version])),
      correlator: correlator.state(),
    }
    const state = JSON.stringify(saved)

    if (!(await detected.stored)) {
      logger.warn(
        { position },
        'correlation checkpoint skipped: a batch detected before it failed to store',
      )
      onOutcome?.('skipped')
      return
    }

    try {
      const writtenAt = new Date().toISOString()
      await writeStreamCheckpoint(this.#options.db, {
        stream: this.#stream,
        position,
        state,
        writtenAt,
      })
      this.#written = position
      logger.debug({ position, bytes: state.length }, 'correlation checkpoint written')
      onOutcome?.('written')
    } catch (error) {
      logger.error(
        { err: error, position },
        'correlation checkpoint not written; the previous one stays and the next one retries',
      )
      onOutcome?.('failed')
    }
  }
}
