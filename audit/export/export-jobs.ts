import { createReadStream } from 'node:fs'
import type { ReadStream } from 'node:fs'
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

import { v7 as uuidv7, validate } from 'uuid'

import type { AnalyticsStore } from '../../platform/clickhouse/analytics-store.ts'
import {
  firstAuditIndexAtOrAfter,
  readAuditRows,
} from '../../platform/clickhouse/audit-repository.ts'
import { PalisadeError } from '../../platform/errors.ts'
import type { Logger } from '../../platform/logger.ts'
import type { AuditEntryInput, AuditLog } from '../audit-log.ts'
import type { SignedCheckpoint } from '../checkpoint.ts'
import { signedCheckpointOf } from '../checkpoint-store.ts'
import type { CheckpointStore } from '../checkpoint-store.ts'
import type { CheckpointerStatus, TickOutcome } from '../checkpointer.ts'
import type { LeafHashSource } from '../merkle/index.ts'
import type { CheckpointSigner } from '../signers/checkpoint-signer.ts'
import { EXPORT_FILES } from './export-format.ts'
import type { ExportManifest } from './export-format.ts'
import { parseRangeBound, resolveExportRange } from './export-range.ts'
import type { ExportRange } from './export-range.ts'
import { writeAuditExport } from './write-export.ts'
import type { ExportSource } from './write-export.ts'

/** The log an export reads: its size, its stored leaf hashes, and where the export is audited. */
export interface ExportedLog extends AuditLog {
  size(): number
  readonly leaves: LeafHashSource
}

/** The stored entries, as an export reads them. */
export interface AuditEntryReader {
  /** Entry texts as the log hashed them, index order, start ≤ index < end. */
  readEntries(start: number, end: number): Promise<{ index: number; text: string }[]>
  /** The first index whose entry's time is at or after `time`, or undefined when none is. */
  firstIndexAtOrAfter(time: Date): Promise<number | undefined>
}

export interface ExportJobsOptions {
  /** Where exports live, one folder per export: `<dataDir>/exports`. */
  dir: string
  log: ExportedLog
  entries: AuditEntryReader
  checkpoints: CheckpointStore
  /** Signs the log's size when no signed checkpoint covers an export's range yet. */
  checkpointer: { checkpointNow(): Promise<TickOutcome>; status(): CheckpointerStatus }
  /** The one checkpoint key: it signs the manifest, and only its checkpoints are exported. */
  signer: CheckpointSigner
  logger?: Logger
  now?: () => Date
}

export type ExportState = 'running' | 'done' | 'failed'

/** What `GET /v1/audit/exports/:id` answers. */
export interface ExportStatus {
  id: string
  state: ExportState
  /** When the export was asked for, RFC 3339 UTC. */
  created: string
  requested: { from?: string; to?: string }
  range: ExportRange
  /** The signed checkpoint size every entry's proof leads to. */
  anchor_size: number
  /** Entries written out of the range's total. */
  progress: { done: number; total: number }
  /** When done: the names `GET /v1/audit/exports/:id/files/:name` serves. */
  files?: string[]
  manifest?: ExportManifest
  error?: { code: string; message: string }
}

export interface StartExport {
  from?: string | number
  to?: string | number
  /** The names `from` and `to` have for the caller (`body.from`, `--to`), for errors. */
  names?: { from: string; to: string }
  /** Who asked, and from where, for the `audit.export` entry. */
  actor: AuditEntryInput['actor']
  source?: AuditEntryInput['source']
}

const exportFileNames: readonly string[] = Object.values(EXPORT_FILES)

/**
 * Audit exports, written in the background one at a time, each to `<dir>/<id>/`.
 *
 * One at a time because an export reads its whole range and builds a proof per entry: on the
 * embedded engine's two cores, two of them would compete with ingest for little gain. A second
 * request while one runs gets 409 `PAL_EXPORT_BUSY` (and is audited as refused).
 *
 * Jobs survive a restart on disk: `<id>.json` is the job (range, state, error), written when it
 * starts and when it ends; `writeAuditExport` fills a hidden partial sibling and renames it to
 * `<id>/` once complete, so a folder named by an id is always a whole export. A job the process
 * did not see end (a crash, a stop mid-export) is found at the next open: its partial folder is
 * removed, and it is marked failed with `PAL_EXPORT_INTERRUPTED` and audited as such.
 *
 * Every export is audited before it is answered: `audit.export` by the caller, outcome
 * `success` when it starts, and another entry with outcome `failure` if it then fails. Its
 * own entry is not in its range (the range is fixed first) but is in the next export's.
 */
export class ExportJobs {
  readonly #options: ExportJobsOptions
  readonly #now: () => Date
  readonly #jobs = new Map<string, ExportStatus>()
  /** The export being started or written; set before the first await of `start`. */
  #busy: { id: string; done: Promise<void> } | undefined
  #closing = false

  private constructor(options: ExportJobsOptions) {
    this.#options = options
    this.#now = options.now ?? (() => new Date())
  }

  /**
   * Loads the jobs kept in `dir` (making it if need be) and settles those a stop interrupted.
   *
   * @throws when `dir` cannot be made or read, or an interrupted job cannot be audited.
   */
  static async open(options: ExportJobsOptions): Promise<ExportJobs> {
    const jobs = new ExportJobs(options)
    await mkdir(options.dir, { recursive: true })
    for (const name of (await readdir(options.dir)).sort()) {
      const id = name.slice(0, -'.json'.length)
      if (!name.endsWith('.json') || !validate(id)) continue
      let job: ExportStatus
      try {
        job = JSON.parse(await readFile(join(options.dir, name), 'utf8')) as ExportStatus
      } catch (error) {
        // Jobs are written whole (a rename), so this is a hand edit: leave it, do not stop.
        options.logger?.error({ err: error, file: name }, 'an export job file is unreadable')
        continue
      }
      if (job.state === 'running') await jobs.#interrupted(job)
      jobs.#jobs.set(id, job)
    }
    return jobs
  }

  /**
   * Starts an export: reads the range, makes sure a signed checkpoint covers it (signing the
   * log's size now if none does), audits the request, and writes the folder in the background.
   *
   * @returns the job as it starts (state `running`).
   * @throws {ValidationError} `PAL_EXPORT_RANGE_INVALID` (400) for a bad `from` or `to`.
   * @throws {PalisadeError} `PAL_EXPORT_BUSY` (409) while another export runs, or
   *   `PAL_EXPORT_UNANCHORED` (409) when checkpoints are pending because the signer fails.
   */
  async start(request: StartExport): Promise<ExportStatus> {
    const names = request.names ?? { from: 'from', to: 'to' }
    const bounds = {
      ...(request.from === undefined ? {} : { from: parseRangeBound(request.from, names.from) }),
      ...(request.to === undefined ? {} : { to: parseRangeBound(request.to, names.to) }),
    }
    const requested = {
      ...(request.from === undefined ? {} : { from: String(request.from) }),
      ...(request.to === undefined ? {} : { to: String(request.to) }),
    }
    const id = uuidv7()
    const audited = (outcome: 'success' | 'failure', details: Record<string, string | number>) =>
      this.#options.log.record({
        actor: request.actor,
        ...(request.source ? { source: request.source } : {}),
        action: 'audit.export',
        target: { kind: 'audit_export', id },
        outcome,
        details: { ...requestedDetails(requested), ...details },
      })

    if (this.#closing) {
      throw new PalisadeError('PAL_SHUTTING_DOWN', 'Palisade is stopping; export later', {
        status: 503,
        retriable: true,
      })
    }

    const running = this.#busy
    if (running) {
      await audited('failure', { error_code: 'PAL_EXPORT_BUSY' })
      throw new PalisadeError(
        'PAL_EXPORT_BUSY',
        `export ${running.id} is being written and exports run one at a time; ` +
          `wait until GET /v1/audit/exports/${running.id} says it is done`,
        { status: 409, retriable: true, context: { running: running.id } },
      )
    }

    let release!: () => void
    const done = new Promise<void>((resolve) => {
      release = () => {
        this.#busy = undefined
        resolve()
      }
    })
    this.#busy = { id, done }
    try {
      const { log, entries } = this.#options
      const range = await resolveExportRange(bounds, names, {
        size: log.size(),
        firstIndexAtOrAfter: (time) => entries.firstIndexAtOrAfter(time),
      })
      const rangeDetails = { from_index: range.from_index, to_index: range.to_index }
      let anchored
      try {
        anchored = await this.#anchor(range.to_index)
      } catch (error) {
        const code = error instanceof PalisadeError ? error.code : 'PAL_EXPORT_FAILED'
        await audited('failure', { ...rangeDetails, error_code: code })
        throw error
      }
      await audited('success', { ...rangeDetails, anchor_size: anchored.anchorSize })

      const job: ExportStatus = {
        id,
        state: 'running',
        created: this.#now().toISOString(),
        requested,
        range,
        anchor_size: anchored.anchorSize,
        progress: { done: 0, total: range.to_index - range.from_index },
      }
      await this.#save(job)
      this.#jobs.set(id, job)
      void this.#write(job, anchored.checkpoints, audited).then((ended) => {
        // In one step, so no one sees the export ended while a new one would still be busy.
        Object.assign(job, ended)
        release()
      })
      return { ...job }
    } catch (error) {
      release()
      throw error
    }
  }

  /** One export's job, or undefined for an id never started here. */
  status(id: string): ExportStatus | undefined {
    const job = this.#jobs.get(id)
    return job && structuredClone(job)
  }

  /** Every job, newest first. */
  list(): ExportStatus[] {
    // Ids are UUIDv7: they sort by the time they were made.
    return [...this.#jobs.keys()]
      .sort()
      .reverse()
      .map((id) => this.status(id)!)
  }

  /**
   * A file of a finished export, opened for reading.
   *
   * @throws {PalisadeError} `PAL_NOT_FOUND` (404) for an unknown export or a name outside
   *   `EXPORT_FILES`, `PAL_EXPORT_NOT_READY` (409) while it is written or after it failed.
   */
  async openFile(id: string, name: string): Promise<{ stream: ReadStream; bytes: number }> {
    const job = this.#jobs.get(id)
    if (!job) throw notFound(`no audit export with id ${id}`)

    // Only the format's names: never a path, so nothing outside the folder can be named.
    if (!exportFileNames.includes(name)) {
      throw notFound(
        `no file ${JSON.stringify(name)} in an audit export; expected one of ` +
          exportFileNames.join(', '),
      )
    }

    if (job.state !== 'done') {
      throw new PalisadeError(
        'PAL_EXPORT_NOT_READY',
        `audit export ${id} is ${job.state === 'running' ? 'still being written' : 'failed'}; ` +
          'its files are served once it is done',
        { status: 409, retriable: job.state === 'running' },
      )
    }

    const path = join(this.#options.dir, id, name)
    try {
      const { size } = await stat(path)
      return { stream: createReadStream(path), bytes: size }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      throw notFound(`audit export ${id} has no ${name} on disk any more (was it removed?)`)
    }
  }

  /** Asks a running export to stop at its next progress report, and waits for it to end. */
  async close(): Promise<void> {
    this.#closing = true
    await this.#busy?.done
  }

  /**
   * The signed checkpoints an export of entries below `toIndex` ships, signing the log's size
   * now when none of them covers `toIndex`. Only the signer's own checkpoints: an export
   * verifies against one public key.
   */
  async #anchor(toIndex: number) {
    const { checkpointer, signer } = this.#options
    const signedCheckpoints = async () =>
      (await this.#options.checkpoints.list())
        .map(signedCheckpointOf)
        .filter(
          (c): c is SignedCheckpoint => c?.checkpoint.key_fingerprint === signer.fingerprint(),
        )

    let checkpoints = await signedCheckpoints()
    let anchor = checkpoints.find((c) => c.checkpoint.tree_size >= toIndex)
    if (!anchor) {
      await checkpointer.checkpointNow()
      checkpoints = await signedCheckpoints()
      anchor = checkpoints.find((c) => c.checkpoint.tree_size >= toIndex)
    }

    if (!anchor) {
      const { state, error_code: code, signed_size: signedSize } = checkpointer.status()
      const why =
        state === 'healthy'
          ? 'the log holds no entry to sign'
          : `checkpoints are pending because the signer fails (${code}); nothing signs in its ` +
            'place, so the export can run once it signs again'
      throw new PalisadeError(
        'PAL_EXPORT_UNANCHORED',
        `no signed checkpoint covers entries below ${toIndex} (the newest signed covers ` +
          `${signedSize}): ${why}`,
        { status: 409, retriable: state !== 'healthy', context: { signer_state: state } },
      )
    }
    return { checkpoints, anchorSize: anchor.checkpoint.tree_size }
  }

  /** Writes the export and keeps its outcome on disk (and audits a failure); never throws. */
  async #write(
    job: ExportStatus,
    checkpoints: SignedCheckpoint[],
    audited: (outcome: 'failure', details: Record<string, string | number>) => Promise<unknown>,
  ): Promise<ExportStatus> {
    const { dir, log, entries, signer, logger } = this.#options
    const source: ExportSource = {
      readEntries: (start, end) => entries.readEntries(start, end),
      leaves: log.leaves,
      checkpoints,
      signer,
    }
    try {
      // The writer fills a hidden partial sibling and renames it to the id when complete.
      const manifest = await writeAuditExport(join(dir, job.id), source, {
        exportId: job.id,
        fromIndex: job.range.from_index,
        toIndex: job.range.to_index,
        requested: job.requested,
        now: this.#now,
        onProgress: (done, total) => {
          if (this.#closing) {
            throw new PalisadeError('PAL_EXPORT_INTERRUPTED', 'Palisade stopped mid-export')
          }
          job.progress = { done, total }
        },
      })
      const done: ExportStatus = {
        ...job,
        state: 'done',
        progress: { done: manifest.entry_count, total: manifest.entry_count },
        files: [...exportFileNames],
        manifest,
      }
      await this.#save(done)
      return done
    } catch (error) {
      const failed: ExportStatus = { ...job, state: 'failed', error: publicError(error) }
      logger?.error({ err: error, export_id: job.id }, 'audit export failed')
      try {
        await this.#save(failed)
        await audited('failure', { ...job.range, error_code: failed.error!.code })
      } catch (keepError) {
        logger?.error({ err: keepError, export_id: job.id }, 'a failed export was not kept')
      }
      return failed
    }
  }

  async #interrupted(job: ExportStatus): Promise<void> {
    const { dir } = this.#options
    for (const name of await readdir(dir)) {
      if (!name.startsWith(`.${job.id}.partial`)) continue
      await rm(join(dir, name), { recursive: true, force: true })
    }
    job.state = 'failed'
    job.error = {
      code: 'PAL_EXPORT_INTERRUPTED',
      message: 'Palisade stopped before the export was complete; start a new one',
    }
    await this.#options.log.record({
      actor: { kind: 'system', id: 'palisade', name: 'export recovery' },
      action: 'audit.export',
      target: { kind: 'audit_export', id: job.id },
      outcome: 'failure',
      details: { ...requestedDetails(job.requested), ...job.range, error_code: job.error.code },
    })
    await this.#save(job)
  }

  /** Writes the job beside its folder, whole or not at all. */
  async #save(job: ExportStatus): Promise<void> {
    const file = join(this.#options.dir, `${job.id}.json`)
    await writeFile(`${file}.tmp`, `${JSON.stringify(job)}\n`)
    await rename(`${file}.tmp`, file)
  }
}

/** The ClickHouse-backed reader of `audit_entries` the engine exports from. */
export function clickHouseEntryReader(store: AnalyticsStore): AuditEntryReader {
  return {
    async readEntries(start, end) {
      const rows = await readAuditRows(store, start, end)
      return rows.map((row) => ({ index: row.idx, text: row.entry }))
    },
    firstIndexAtOrAfter: (time) => firstAuditIndexAtOrAfter(store, time),
  }
}

function requestedDetails(requested: { from?: string; to?: string }): Record<string, string> {
  return {
    ...(requested.from === undefined ? {} : { requested_from: requested.from }),
    ...(requested.to === undefined ? {} : { requested_to: requested.to }),
  }
}

/** What a status may show of an error: a PalisadeError's own words, nothing from a store. */
function publicError(error: unknown): { code: string; message: string } {
  if (error instanceof PalisadeError && error.status < 500) {
    return { code: error.code, message: error.message }
  }
  if (error instanceof PalisadeError && error.code === 'PAL_EXPORT_INTERRUPTED') {
    return { code: error.code, message: `${error.message}; start a new export` }
  }
  return {
    code: error instanceof PalisadeError ? error.code : 'PAL_EXPORT_FAILED',
    message: 'the export could not be written; see the server log',
  }
}

function notFound(message: string): PalisadeError {
  return new PalisadeError('PAL_NOT_FOUND', message, { status: 404 })
}
