import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'

/** One line of a file: its bytes without the LF, and whether an LF ended it. */
export interface FileLine {
  /** 1 for the first line. */
  number: number
  bytes: Buffer
  terminated: boolean
  /** Set when the line ran past `maxLineBytes`: `bytes` is then only its start. */
  tooLong?: true
}

/**
 * Reads a file line by line from a stream, never holding more than one line and one chunk,
 * and keeps the SHA-256, byte count and LF count of everything read for the manifest check.
 *
 * Not `node:readline`: it also ends lines at a lone CR and does not say whether the last line
 * had its LF, and an export must tell a file cut mid-line from a whole one, byte for byte.
 */
export class LineReader {
  readonly path: string
  readonly maxLineBytes: number
  readonly #hash = createHash('sha256')
  #bytes = 0
  #lines = 0

  constructor(path: string, maxLineBytes: number) {
    this.path = path
    this.maxLineBytes = maxLineBytes
  }

  /** Bytes read so far; the whole file's once `lines()` is done. */
  get bytes(): number {
    return this.#bytes
  }

  /** LF-ended lines read so far. */
  get lfLines(): number {
    return this.#lines
  }

  /** SHA-256 of the bytes read so far, hex. */
  sha256(): string {
    return this.#hash.copy().digest('hex')
  }

  /**
   * The file's lines in order; a last line without LF comes with `terminated: false`. Stopping
   * early (`return()` on the iterator, `break` in `for await`) closes the file.
   */
  async *lines(): AsyncGenerator<FileLine, void, undefined> {
    const stream = createReadStream(this.path, { highWaterMark: 1 << 20 })
    let pending: Buffer[] = []
    let pendingBytes = 0
    let number = 0
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      this.#hash.update(chunk)
      this.#bytes += chunk.length
      let start = 0
      for (let lf = chunk.indexOf(0x0a); lf >= 0; lf = chunk.indexOf(0x0a, start)) {
        const piece = chunk.subarray(start, lf)
        const bytes = pending.length === 0 ? piece : Buffer.concat([...pending, piece])
        pending = []
        pendingBytes = 0
        start = lf + 1
        number++
        this.#lines++
        if (bytes.length > this.maxLineBytes) {
          yield {
            number,
            bytes: bytes.subarray(0, this.maxLineBytes),
            terminated: true,
            tooLong: true,
          }
          return
        }
        yield { number, bytes, terminated: true }
      }
      if (start < chunk.length) {
        pending.push(chunk.subarray(start))
        pendingBytes += chunk.length - start
        if (pendingBytes > this.maxLineBytes) {
          const bytes = Buffer.concat(pending).subarray(0, this.maxLineBytes)
          yield { number: number + 1, bytes, terminated: false, tooLong: true }
          return
        }
      }
    }
    if (pendingBytes > 0)
      yield { number: number + 1, bytes: Buffer.concat(pending), terminated: false }
  }
}
