import { PalisadeError } from '../platform/errors.ts'

/**
 * Syslog message framing. Over TCP (RFC 6587) a stream carries many messages, framed either by
 * octet counting (`MSG-LEN SP SYSLOG-MSG`, §3.4.1) or by a trailer (non-transparent framing,
 * §3.4.2: each message ends with LF). Over UDP (RFC 5426) a datagram is one message.
 */

export type TcpFraming = 'octet-counting' | 'non-transparent'

/**
 * Bytes that could not become a message: a stream that cannot be split into messages (the
 * connection should be closed), or one message that is too large or not UTF-8.
 */
export class FramingError extends PalisadeError {
  constructor(code: string, message: string, context: Record<string, unknown> = {}) {
    super(code, message, { status: 400, context })
    this.name = 'FramingError'
  }
}

/**
 * One thing a connection gave, in stream order: a message decoded as UTF-8, or bytes that did
 * not become one and why, for a dead letter. The bytes are kept out of the error itself, so
 * logging the error never logs a payload; they are at most `maxMessageBytes`.
 */
export type TcpItem = { message: string } | { error: FramingError; bytes: Buffer }

/** What one chunk gave. */
export interface TcpFrames {
  /** Every message and every rejected message the chunk completed, in stream order. */
  items: TcpItem[]
  /**
   * The stream broke (in this chunk or an earlier one) and cannot be resynchronised: close the
   * connection. The last item is this error with the bytes it left unframed. Only octet
   * counting breaks; with LF framing a bad message is an item and the next line is read.
   */
  fatal?: FramingError
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
 * Nothing throws for bad input. A message that is not UTF-8, or a line over the limit, comes
 * back as an error item in its place and the stream goes on. A broken octet-counted frame
 * loses the stream's position: it comes back as the last item and as `fatal`, the decoder
 * frames nothing more, and the connection should be closed.
 *
 * @example
 * const decoder = new TcpFrameDecoder({ maxMessageBytes: 8192 })
 * const handle = (item: TcpItem) =>
 *   'message' in item ? accept(item.message) : deadLetter(item.error, item.bytes)
 * socket.on('data', (chunk) => {
 *   const { items, fatal } = decoder.decode(chunk)
 *   items.forEach(handle)
 *   if (fatal) socket.destroy()
 * })
 * socket.on('end', () => decoder.end().forEach(handle))
 */
export class TcpFrameDecoder {
  readonly maxMessageBytes: number
  #framing: TcpFraming | undefined
  #failed: FramingError | undefined
  /** Set by the chunk that breaks the stream: what the caller should dead-letter. */
  #unframed: Buffer | undefined
  /** Bytes of the message being assembled, in arrival order (for a line, at most limit + 1). */
  #parts: Buffer[] = []
  #partBytes = 0
  /** LF framing: bytes of the current line past what is kept, and the last of them. */
  #dropped = 0
  #lastDropped = 0
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
   * Takes the next chunk and returns, in order, every message it completes and every message
   * it rejects: `PAL_INVALID_UTF8` for one that is not UTF-8, `PAL_FRAME_TOO_LARGE` for an LF
   * framed line over `maxMessageBytes` (reported when its LF arrives; its first
   * `maxMessageBytes` bytes are kept). With octet counting, a broken frame ends the stream:
   * `PAL_FRAME_TOO_LARGE` for a length over the limit, `PAL_BAD_FRAME` for a count that is
   * not digits then a space; it is the last item and `fatal`, and every later chunk comes
   * back as one item of its bytes (capped) with the same error.
   */
  decode(chunk: Uint8Array): TcpFrames {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk)
    const fatal = this.#failed
    if (fatal) {
      if (buf.length === 0) return { items: [], fatal }
      return { items: [{ error: fatal, bytes: this.#cap([buf]).bytes }], fatal }
    }
    if (buf.length === 0) return { items: [] }
    this.#framing ??= isDigit(buf[0]!) ? 'octet-counting' : 'non-transparent'

    const items: TcpItem[] = []
    if (this.#framing === 'non-transparent') {
      this.#lines(buf, items)
      return { items }
    }
    try {
      this.#octets(buf, items)
      return { items }
    } catch (error) {
      if (!(error instanceof FramingError)) throw error
      this.#failed = error
      items.push({ error, bytes: this.#unframed ?? Buffer.alloc(0) })
      this.#unframed = undefined
      this.#reset()
      return { items, fatal: error }
    }
  }

  /**
   * The connection ended: returns what is left. A last LF-framed message without its LF is
   * complete and returned. A partial octet-counted frame is returned as the bytes that came,
   * so nothing received is dropped; it will usually fail parsing and become a dead letter.
   */
  end(): TcpItem[] {
    const items: TcpItem[] = []
    if (this.#failed) return items
    if (this.#framing === 'non-transparent') this.#endLine(items)
    else if (this.#partBytes > 0) items.push(this.#message(this.#take()))
    this.#reset()
    return items
  }

  #reset(): void {
    this.#parts = []
    this.#partBytes = 0
    this.#dropped = 0
    this.#length = 0
    this.#lengthDigits = 0
    this.#need = -1
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

  /** A complete message: its text, or an error item if it is not UTF-8. */
  #message(bytes: Buffer): TcpItem {
    const decoded = decodeUtf8Strict(bytes)
    if ('text' in decoded) return { message: decoded.text }
    const error = new FramingError(
      'PAL_INVALID_UTF8',
      `not UTF-8 at byte ${decoded.offset} of the message`,
      { offset: decoded.offset, bytes: bytes.length, framing: this.#framing },
    )
    return { error, bytes: this.#cap([bytes]).bytes }
  }

  /**
   * A framing error that ends the stream; `pieces` are the bytes it leaves unframed (the
   * broken frame as far as it came, then the rest of the chunk), kept for `decode` to return.
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

  /**
   * Non-transparent framing: messages end at LF; a CR before it is dropped. Each LF is a
   * point where the stream resynchronises (RFC 6587 §3.4.2), so a line over the limit costs
   * only itself: its bytes past the limit are counted, not kept, until its LF.
   */
  #lines(buf: Buffer, out: TcpItem[]): void {
    let start = 0
    for (;;) {
      const lf = buf.indexOf(LF, start)
      const piece = buf.subarray(start, lf < 0 ? buf.length : lf)
      // One byte of slack: the last byte kept may be the CR of a CR LF.
      const room = Math.max(0, this.maxMessageBytes + 1 - this.#partBytes)
      this.#keep(piece.subarray(0, room))
      if (piece.length > room) {
        this.#dropped += piece.length - room
        this.#lastDropped = piece[piece.length - 1]!
      }
      if (lf < 0) return
      this.#endLine(out)
      start = lf + 1
    }
  }

  /** Completes the current line: a message, an error item if it is too large, or nothing. */
  #endLine(out: TcpItem[]): void {
    const dropped = this.#dropped
    this.#dropped = 0
    const kept = this.#take()
    const last = dropped > 0 ? this.#lastDropped : kept[kept.length - 1]
    const size = kept.length + dropped - (last === CR ? 1 : 0)
    if (size === 0) return

    if (size > this.maxMessageBytes) {
      const limit = this.maxMessageBytes
      const error = new FramingError(
        'PAL_FRAME_TOO_LARGE',
        `syslog message of ${size} bytes exceeds the limit of ${limit} bytes; its first ${limit} bytes are kept`,
        { bytes: size, maxMessageBytes: limit, framing: this.#framing },
      )
      out.push({ error, bytes: this.#cap([kept]).bytes })
      return
    }
    out.push(this.#message(kept.subarray(0, size)))
  }

  /** Octet counting: `MSG-LEN SP` then exactly MSG-LEN bytes (RFC 6587 §3.4.1). */
  #octets(buf: Buffer, out: TcpItem[]): void {
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
      out.push(this.#message(this.#take(buf.subarray(i, i + want))))
      this.#need = -1
      i += want
    }
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * Decodes UTF-8, refusing what is not: `{ text }`, or `{ offset }` of the first byte (counting
 * from 0) of the first ill-formed sequence. Decoding with replacement would turn such bytes
 * into U+FFFD, and the event would no longer say what the sender sent. A byte order mark is
 * kept as U+FEFF, as `Buffer#toString` keeps it.
 *
 * @example decodeUtf8Strict(Buffer.from([0x3c, 0xc3, 0x28])) // { offset: 1 }
 */
export function decodeUtf8Strict(bytes: Uint8Array): { text: string } | { offset: number } {
  try {
    return { text: strictUtf8.decode(bytes) }
  } catch (error) {
    if (!(error instanceof TypeError)) throw error
    return { offset: firstIllFormed(bytes) }
  }
}

/**
 * Where the first ill-formed sequence starts, by the well-formed byte sequences of Unicode
 * §3.9, Table 3-7 (no overlongs, no surrogates, nothing past U+10FFFF); `bytes.length` if none.
 */
function firstIllFormed(bytes: Uint8Array): number {
  let i = 0
  while (i < bytes.length) {
    const lead = bytes[i]!
    if (lead < 0x80) {
      i++
      continue
    }

    let trail: number
    let low = 0x80
    let high = 0xbf
    if (lead >= 0xc2 && lead <= 0xdf) trail = 1
    else if (lead >= 0xe0 && lead <= 0xef) trail = 2
    else if (lead >= 0xf0 && lead <= 0xf4) trail = 3
    else return i
    if (lead === 0xe0) low = 0xa0
    if (lead === 0xed) high = 0x9f
    if (lead === 0xf0) low = 0x90
    if (lead === 0xf4) high = 0x8f

    for (let k = 1; k <= trail; k++) {
      const byte = bytes[i + k]
      if (byte === undefined || byte < (k === 1 ? low : 0x80) || byte > (k === 1 ? high : 0xbf)) {
        return i
      }
    }
    i += trail + 1
  }
  return bytes.length
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
