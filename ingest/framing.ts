import { PalisadeError } from '../platform/errors.ts'

/**
 * Syslog message framing. Over TCP (RFC 6587) a stream carries many messages, framed either by
 * octet counting (`MSG-LEN SP SYSLOG-MSG`, §3.4.1) or by a trailer (non-transparent framing,
 * §3.4.2: each message ends with LF). Over UDP (RFC 5426) a datagram is one message.
 */

export type TcpFraming = 'octet-counting' | 'non-transparent'

/** A stream that cannot be split into messages; the connection should be closed. */
export class FramingError extends PalisadeError {
  constructor(code: string, message: string, context: Record<string, unknown> = {}) {
    super(code, message, { status: 400, context })
    this.name = 'FramingError'
  }
}

/** What one chunk gave: the messages it completed and, if the stream broke, why and what. */
export interface TcpFrames {
  /**
   * Every message completed by the chunk, in order, decoded as UTF-8. They are complete and
   * valid even when `error` is set: they came before the break.
   */
  messages: string[]
  /** The stream broke (in this chunk or an earlier one): close the connection. */
  error?: FramingError
  /**
   * The bytes that could not be framed, for a dead letter: the broken frame as far as it
   * came and the rest of this chunk after it (or, after an earlier break, this whole chunk),
   * at most `maxMessageBytes`. `error.context.unframedBytes` says how many there were in all.
   * Kept out of the error itself, so logging the error never logs a payload.
   */
  unframed?: Buffer
}

export interface TcpFrameDecoderOptions {
  /** Largest message accepted, in bytes (default 64 KiB, syslog-ng's default). */
  maxMessageBytes?: number
  /** Fixes the framing; by default it is detected from the connection's first byte. */
  framing?: TcpFraming
}

const LF = 0x0a
const CR = 0x0d
const SP = 0x20
const ZERO = 0x30
const NINE = 0x39

function isDigit(byte: number): boolean {
  return byte >= ZERO && byte <= NINE
}

/**
 * Splits one TCP connection's bytes into syslog messages. Feed it chunks as they arrive; a
 * message may span any number of chunks, and a chunk may hold many messages. The framing is
 * chosen from the first byte, once per connection (RFC 6587 §3.4: a digit can only begin an
 * octet count, since a syslog message begins with "<").
 *
 * A broken frame does not throw: `decode` returns the messages completed before it along with
 * the error and the bytes it could not frame. After that the stream's position is lost, so
 * the decoder frames nothing more and the connection should be closed.
 *
 * @example
 * const decoder = new TcpFrameDecoder({ maxMessageBytes: 8192 })
 * socket.on('data', (chunk) => {
 *   const { messages, error, unframed } = decoder.decode(chunk)
 *   messages.forEach(handle)
 *   if (error) {
 *     deadLetter(error, unframed)
 *     socket.destroy()
 *   }
 * })
 * socket.on('end', () => decoder.end().forEach(handle))
 */
export class TcpFrameDecoder {
  readonly maxMessageBytes: number
  #framing: TcpFraming | undefined
  #failed: FramingError | undefined
  /** Set by the chunk that breaks the stream: what the caller should dead-letter. */
  #unframed: Buffer | undefined
  /** Bytes of the message being assembled, in arrival order. */
  #parts: Buffer[] = []
  #partBytes = 0
  /** Octet counting: the MSG-LEN read so far, its digit count, and the length being filled. */
  #length = 0
  #lengthDigits = 0
  #need = -1

  constructor(options: TcpFrameDecoderOptions = {}) {
    this.maxMessageBytes = options.maxMessageBytes ?? 65_536
    this.#framing = options.framing
  }

  /** The framing in use, once the first byte has arrived (or as configured). */
  get framing(): TcpFraming | undefined {
    return this.#framing
  }

  /** The error that broke the stream, once one has. */
  get error(): FramingError | undefined {
    return this.#failed
  }

  /**
   * Takes the next chunk and returns every message it completes. Never throws for bad input:
   * a broken frame is returned as `error` (`PAL_FRAME_TOO_LARGE` for a message over
   * `maxMessageBytes`, `PAL_BAD_FRAME` for an octet count that is not digits then a space),
   * after the messages that came before it, with the bytes it could not frame as `unframed`.
   * Once broken, every later chunk comes back as `unframed` (capped), with the same error.
   */
  decode(chunk: Uint8Array): TcpFrames {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk)
    if (this.#failed) {
      if (buf.length === 0) return { messages: [], error: this.#failed }
      return { messages: [], error: this.#failed, unframed: this.#cap([buf]).bytes }
    }
    if (buf.length === 0) return { messages: [] }
    this.#framing ??= isDigit(buf[0]!) ? 'octet-counting' : 'non-transparent'

    const messages: string[] = []
    try {
      if (this.#framing === 'octet-counting') this.#octets(buf, messages)
      else this.#lines(buf, messages)
      return { messages }
    } catch (error) {
      if (!(error instanceof FramingError)) throw error
      this.#failed = error
      const unframed = this.#unframed
      this.#unframed = undefined
      this.#reset([])
      return { messages, error, ...(unframed && { unframed }) }
    }
  }

  /**
   * The connection ended: returns what is left. A last LF-framed message without its LF is
   * complete and returned. A partial octet-counted frame is returned as the bytes that came,
   * so nothing received is dropped; it will usually fail parsing and become a dead letter.
   */
  end(): string[] {
    if (this.#failed || this.#partBytes === 0) return this.#reset([])
    const rest = this.#take()
    if (this.#framing === 'non-transparent') return this.#reset(lineMessages(rest, []))
    return this.#reset([rest.toString('utf8')])
  }

  #reset(out: string[]): string[] {
    this.#parts = []
    this.#partBytes = 0
    this.#length = 0
    this.#lengthDigits = 0
    this.#need = -1
    return out
  }

  #keep(bytes: Buffer): void {
    if (bytes.length === 0) return
    this.#parts.push(bytes)
    this.#partBytes += bytes.length
  }

  #take(tail?: Buffer): Buffer {
    if (tail) this.#keep(tail)
    const whole = this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts)
    this.#parts = []
    this.#partBytes = 0
    return whole
  }

  /** The first `maxMessageBytes` of `pieces`, and how many bytes they hold in all. */
  #cap(pieces: Buffer[]): { bytes: Buffer; total: number } {
    let total = 0
    for (const piece of pieces) total += piece.length
    const whole = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, total)
    // A copy, so a dead letter held for a while does not pin the socket's whole chunk.
    return { bytes: Buffer.from(whole.subarray(0, this.maxMessageBytes)), total }
  }

  /**
   * A framing error; `pieces` are the bytes it leaves unframed (the broken frame as far as it
   * came, then the rest of the chunk), kept for `decode` to return.
   */
  #fail(
    code: string,
    message: string,
    context: Record<string, unknown>,
    pieces: Buffer[],
  ): FramingError {
    const { bytes, total } = this.#cap(pieces.filter((piece) => piece.length > 0))
    this.#unframed = bytes
    return new FramingError(code, message, {
      ...context,
      framing: this.#framing,
      unframedBytes: total,
    })
  }

  #tooLarge(bytes: number, pieces: Buffer[]): FramingError {
    return this.#fail(
      'PAL_FRAME_TOO_LARGE',
      `syslog message of ${bytes} bytes or more exceeds the limit of ${this.maxMessageBytes} bytes`,
      { bytes, maxMessageBytes: this.maxMessageBytes },
      pieces,
    )
  }

  /** Non-transparent framing: messages end at LF; a CR before it is dropped. */
  #lines(buf: Buffer, out: string[]): void {
    let start = 0
    for (;;) {
      const lf = buf.indexOf(LF, start)
      if (lf < 0) break
      const message = this.#take(buf.subarray(start, lf))
      const size = message.length - (message[message.length - 1] === CR ? 1 : 0)
      if (size > this.maxMessageBytes) throw this.#tooLarge(size, [message, buf.subarray(lf)])
      lineMessages(message, out)
      start = lf + 1
    }
    // One byte of slack: the CR of a CR LF may be the last byte of this chunk.
    const size = this.#partBytes + (buf.length - start)
    if (size > this.maxMessageBytes + 1) {
      throw this.#tooLarge(size, [...this.#parts, buf.subarray(start)])
    }
    this.#keep(buf.subarray(start))
  }

  /** Octet counting: `MSG-LEN SP` then exactly MSG-LEN bytes (RFC 6587 §3.4.1). */
  #octets(buf: Buffer, out: string[]): void {
    let i = 0
    while (i < buf.length) {
      if (this.#need < 0) {
        const byte = buf[i]!
        // Tolerate a stray line break between frames, as some senders add one.
        if (this.#lengthDigits === 0 && (byte === LF || byte === CR)) {
          i++
          continue
        }
        if (isDigit(byte) && !(this.#lengthDigits === 0 && byte === ZERO)) {
          this.#length = this.#length * 10 + (byte - ZERO)
          this.#lengthDigits++
          i++
          if (this.#length > this.maxMessageBytes) {
            const digits = Buffer.from(String(this.#length))
            throw this.#tooLarge(this.#length, [digits, buf.subarray(i)])
          }
          continue
        }
        if (byte === SP && this.#lengthDigits > 0) {
          this.#need = this.#length
          this.#length = 0
          this.#lengthDigits = 0
          i++
          continue
        }
        // The digits read so far may have come in an earlier chunk; they belong to the frame.
        const digits = Buffer.from(this.#lengthDigits > 0 ? String(this.#length) : '')
        throw this.#fail(
          'PAL_BAD_FRAME',
          `expected an octet count (a non-zero number then a space) but got byte 0x${byte.toString(16).padStart(2, '0')} after ${this.#lengthDigits} digit(s)`,
          { byte },
          [digits, buf.subarray(i)],
        )
      }

      const want = this.#need - this.#partBytes
      const have = buf.length - i
      if (have < want) {
        this.#keep(buf.subarray(i))
        return
      }
      out.push(this.#take(buf.subarray(i, i + want)).toString('utf8'))
      this.#need = -1
      i += want
    }
  }
}

/** Decodes an LF-framed message, dropping a CR before the LF; an empty line is no message. */
function lineMessages(bytes: Buffer, out: string[]): string[] {
  const end = bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.length - 1 : bytes.length
  if (end > 0) out.push(bytes.toString('utf8', 0, end))
  return out
}

/**
 * One UDP datagram is one message (RFC 5426 §3.1). A trailing LF (or CR LF, or NUL) that some
 * senders append is not part of it.
 */
export function datagramMessage(datagram: Uint8Array): string {
  let end = datagram.length
  while (
    end > 0 &&
    (datagram[end - 1] === LF || datagram[end - 1] === CR || datagram[end - 1] === 0)
  ) {
    end--
  }
  return Buffer.from(datagram.buffer, datagram.byteOffset, end).toString('utf8')
}
