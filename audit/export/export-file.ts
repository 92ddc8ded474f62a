import { createHash } from 'node:crypto'
import { open } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { basename } from 'node:path'

import type { ExportFileDigest } from './export-format.ts'

/** Bytes gathered before a write to disk. */
const FLUSH_BYTES = 1 << 20

/**
 * One file of an export being written: text in, bytes to disk in large writes, and the SHA-256,
 * byte count and line count for the manifest kept as it goes, so nothing is read back.
 */
export class ExportFile {
  readonly path: string
  readonly #handle: FileHandle
  readonly #hash = createHash('sha256')
  #pending: string[] = []
  #pendingLength = 0
  #bytes = 0
  #lines = 0

  private constructor(path: string, handle: FileHandle) {
    this.path = path
    this.#handle = handle
  }

  /** Creates the file; it must not exist yet. */
  static async create(path: string): Promise<ExportFile> {
    return new ExportFile(path, await open(path, 'wx'))
  }

  /** Appends one line: `text` (which holds no LF) and an LF. */
  async writeLine(text: string): Promise<void> {
    this.#lines++
    await this.write(`${text}\n`)
  }

  /** Appends text as UTF-8. */
  async write(text: string): Promise<void> {
    this.#pending.push(text)
    // UTF-16 length, a lower bound of the UTF-8 length: good enough to decide when to flush.
    this.#pendingLength += text.length
    if (this.#pendingLength >= FLUSH_BYTES) await this.#flush()
  }

  /** Writes what is left, flushes it to the disk and closes the file. */
  async close(): Promise<void> {
    await this.#flush()
    await this.#handle.sync()
    await this.#handle.close()
  }

  /** Closes the file without flushing, after a failure; never throws. */
  async abandon(): Promise<void> {
    await this.#handle.close().catch(() => undefined)
  }

  /** The manifest's record of the file; `lines` when `withLines` (the `.jsonl` files). */
  digest(withLines: boolean): ExportFileDigest {
    const digest: ExportFileDigest = {
      name: basename(this.path),
      bytes: this.#bytes,
      sha256: this.#hash.copy().digest('hex'),
    }
    if (withLines) digest.lines = this.#lines
    return digest
  }

  async #flush(): Promise<void> {
    if (this.#pending.length === 0) return
    const bytes = Buffer.from(this.#pending.join(''), 'utf8')
    this.#pending = []
    this.#pendingLength = 0
    this.#hash.update(bytes)
    this.#bytes += bytes.length
    // A write to a file may take fewer bytes than it was given; go on until all are written.
    for (let offset = 0; offset < bytes.length;) {
      const { bytesWritten } = await this.#handle.write(bytes, offset)
      offset += bytesWritten
    }
  }
}
