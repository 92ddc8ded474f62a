import { createSocket } from 'node:dgram'
import type { Socket as UdpSocket } from 'node:dgram'
import { createServer } from 'node:net'
import type { Server, Socket } from 'node:net'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'

import { PalisadeError } from '../../platform/errors.ts'
import type { Logger } from '../../platform/logger.ts'
import { decodeUtf8Strict, TcpFrameDecoder, type TcpItem } from '../framing.ts'
import type { ParsedRecord } from '../parsed-record.ts'
import { parseSyslog } from '../parsers/syslog.ts'
import type { Pipeline } from '../pipeline.ts'

export interface SyslogListenerOptions {
  host: string
  udpPort: number
  tcpPort: number
  timeZone: string
  maxMessageBytes: number
  pipeline: Pipeline
  logger: Logger
  /** Messages per pipeline batch, and how long a partial batch may wait. */
  batchSize?: number
  flushMs?: number
  /** How long `close` keeps retrying a batch the store refuses to take (default 10 s). */
  closeGraceMs?: number
  /** Concurrent TCP connections accepted (default 1,000); more are refused. */
  maxConnections?: number
}

export interface SyslogListeners {
  /** The bound ports (0 when that listener is off); useful when configured as ephemeral. */
  udpPort: number
  tcpPort: number
  /** Resolves once every message received so far is stored. */
  flush(): Promise<void>
  close(): Promise<void>
}

interface Pending {
  stream: string
  position: number
  message: string
  /** Set for bytes that could not be framed: they go to dead letters with this reason. */
  error?: { code: string; message: string }
}

/**
 * Syslog over UDP (one datagram, one message) and TCP (RFC 6587 framing, detected per
 * connection). Messages are gathered into batches and stored through the same pipeline as
 * HTTP. Each connection or UDP listener is its own stream, named with the time it began, so a
 * derived id never collides with one from an earlier run. While the store refuses a batch,
 * the batch is retried and TCP peers are paused, so nothing received is dropped.
 */
export async function startSyslogListeners(
  options: SyslogListenerOptions,
): Promise<SyslogListeners> {
  const batchSize = options.batchSize ?? 500
  const flushMs = options.flushMs ?? 50
  const log = options.logger
  let pending: Pending[] = []
  let timer: NodeJS.Timeout | undefined
  let chain: Promise<void> = Promise.resolve()
  let backlog = 0
  const sockets = new Set<Socket>()
  const highWater = batchSize * 8
  const closeGraceMs = options.closeGraceMs ?? 10_000
  let closingSince: number | undefined

  const schedule = () => {
    if (pending.length >= batchSize) return void flushNow()
    timer ??= setTimeout(flushNow, flushMs)
  }

  function flushNow(): Promise<void> {
    if (timer) clearTimeout(timer)
    timer = undefined
    const batch = pending
    pending = []
    if (batch.length > 0) {
      backlog += batch.length
      if (backlog > highWater) for (const s of sockets) s.pause()
      chain = chain
        .then(() => storeWithRetry(batch))
        .finally(() => {
          backlog -= batch.length
          if (backlog <= highWater) for (const s of sockets) s.resume()
        })
    }
    return chain
  }

  async function storeWithRetry(batch: Pending[]): Promise<void> {
    for (const group of groupByStream(batch)) {
      const receivedAt = new Date()
      const records = toRecords(group, receivedAt, options.timeZone)
      for (let attempt = 0; ; attempt++) {
        if (closingSince !== undefined && Date.now() - closingSince > closeGraceMs) {
          // Syslog has no acknowledgement to withhold, so a store that stays down while we
          // stop loses these messages; say exactly how many.
          log.error(
            { messages: records.length, stream: group.stream },
            'syslog messages lost: the store did not come back before shutdown',
          )
          break
        }
        try {
          await options.pipeline.process({
            records,
            source: group.source,
            format: 'syslog',
            stream: group.stream,
            receivedAt,
            startPosition: group.first,
          })
          break
        } catch (error) {
          log.error(
            { err: error, attempt, messages: records.length },
            'storing syslog batch failed; retrying',
          )
          await sleep(Math.min(100 * 2 ** attempt, 5000))
        }
      }
    }
  }

  const receive = (stream: string, position: number, message: string, error?: Pending['error']) => {
    pending.push(error ? { stream, position, message, error } : { stream, position, message })
    schedule()
  }

  // Port 0 turns a listener off; -1 asks for an ephemeral port (tests use it).
  let udp: UdpSocket | undefined
  let udpPort = 0
  if (options.udpPort !== 0) {
    const stream = `udp:${options.host}:${Date.now()}`
    let position = 0
    udp = createSocket(options.host.includes(':') ? 'udp6' : 'udp4')
    udp.on('message', (datagram) => {
      if (datagram.length > options.maxMessageBytes) {
        receive(stream, position++, datagram.toString('utf8'), {
          code: 'PAL_MESSAGE_TOO_LARGE',
          message: `expected a syslog datagram of at most ${options.maxMessageBytes} bytes, got ${datagram.length}`,
        })
        return
      }
      const decoded = decodeUtf8Strict(datagram)
      if ('text' in decoded) return receive(stream, position++, decoded.text)
      const reason = {
        code: 'PAL_INVALID_UTF8',
        message: `not UTF-8 at byte ${decoded.offset} of the message`,
      }
      const { raw, error } = deadLetter(datagram, reason)
      receive(stream, position++, raw, error)
    })
    udp.bind(Math.max(options.udpPort, 0), options.host)
    await listening(udp, 'UDP', options.host, options.udpPort)
    udp.on('error', (error) => log.error({ err: error }, 'syslog UDP socket failed'))
    udpPort = udp.address().port
  }

  let tcp: Server | undefined
  let tcpPort = 0
  if (options.tcpPort !== 0) {
    tcp = createServer((socket) => {
      sockets.add(socket)
      const stream = `tcp:${socket.remoteAddress}:${socket.remotePort}:${Date.now()}`
      const decoder = new TcpFrameDecoder({ maxMessageBytes: options.maxMessageBytes })
      let position = 0
      // A message, or bytes that did not become one (too large, not UTF-8, or the rest of a
      // broken octet-counted stream), kept in stream order as a dead letter.
      const take = (item: TcpItem) => {
        if ('message' in item) return receive(stream, position++, item.message)
        const { raw, error } = deadLetter(item.bytes, item.error)
        receive(stream, position++, raw, error)
      }
      socket.on('data', (chunk) => {
        const { items, fatal } = decoder.decode(chunk)
        items.forEach(take)
        if (!fatal) return
        // An octet-counted stream has lost its place: nothing after the break can be framed.
        log.warn({ err: fatal, stream }, 'syslog TCP framing failed; closing the connection')
        socket.destroy()
      })
      socket.on('end', () => decoder.end().forEach(take))
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', (error) => log.debug({ err: error, stream }, 'syslog TCP peer error'))
    })
    tcp.maxConnections = options.maxConnections ?? 1000
    tcp.listen(Math.max(options.tcpPort, 0), options.host)
    await listening(tcp, 'TCP', options.host, options.tcpPort)
    const address = tcp.address()
    tcpPort = typeof address === 'object' && address ? address.port : 0
  }

  return {
    udpPort,
    tcpPort,
    flush: flushNow,
    async close() {
      closingSince = Date.now()
      udp?.close()
      for (const socket of sockets) socket.end()
      if (tcp) await new Promise<void>((resolve) => tcp.close(() => resolve()))
      await flushNow()
    },
  }
}

/** Waits for a socket to bind; a busy port becomes an error that says which flag to change. */
async function listening(
  socket: UdpSocket | Server,
  kind: 'UDP' | 'TCP',
  host: string,
  port: number,
): Promise<void> {
  try {
    await once(socket, 'listening')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'EADDRINUSE' && code !== 'EACCES') throw error
    throw new PalisadeError(
      'PAL_PORT_UNAVAILABLE',
      `cannot listen for syslog over ${kind} on ${host}:${port} (${code}); pass ` +
        `--syslog-${kind.toLowerCase()}-port (0 turns it off) or set ` +
        `PALISADE_SYSLOG_${kind}_PORT`,
      { cause: error },
    )
  }
}

function groupByStream(batch: Pending[]) {
  const groups = new Map<
    string,
    { stream: string; source: string; first: number; items: Pending[] }
  >()
  for (const item of batch) {
    let group = groups.get(item.stream)
    if (!group) {
      const source = item.stream.startsWith('udp:') ? 'syslog-udp' : 'syslog-tcp'
      group = { stream: item.stream, source, first: item.position, items: [] }
      groups.set(item.stream, group)
    }
    group.items.push(item)
  }
  return [...groups.values()]
}

/**
 * A dead letter for bytes that did not become a message. Bytes that are not UTF-8 are kept
 * base64-encoded under PAL_INVALID_UTF8, as the HTTP path keeps such a body, so replay knows
 * not to parse them; other rejected bytes (too large, unframed) are kept as text, where only a
 * character cut at the size limit can become U+FFFD.
 */
function deadLetter(
  bytes: Buffer,
  reason: { code: string; message: string },
): { raw: string; error: { code: string; message: string } } {
  if (reason.code !== 'PAL_INVALID_UTF8') return { raw: bytes.toString('utf8'), error: reason }
  const message = `${reason.message}; the message is kept base64-encoded`
  return { raw: bytes.toString('base64'), error: { code: reason.code, message } }
}

/** Parses each message on its own (an octet-counted one may hold newlines). */
function toRecords(
  group: { stream: string; first: number; items: Pending[] },
  receivedAt: Date,
  timeZone: string,
): ParsedRecord[] {
  const records: ParsedRecord[] = []
  for (const item of group.items) {
    const index = item.position - group.first
    if (item.error) {
      records.push({ index, raw: item.message, error: item.error })
      continue
    }
    const line = item.message.replace(/\r?\n$/, '').replaceAll('\n', ' ')
    let record: ParsedRecord | undefined
    try {
      ;[record] = parseSyslog(line, {
        stream: group.stream,
        receivedAt,
        timeZone,
        startPosition: item.position,
      })
    } catch (error) {
      // A parser bug must cost one message, never the listener: keep it as a dead letter.
      const reason = error instanceof PalisadeError ? error.message : String(error)
      records.push({
        index,
        raw: item.message,
        error: { code: 'PAL_PARSE_FAILED', message: reason },
      })
      continue
    }
    records.push(
      record
        ? { ...record, index }
        : {
            index,
            raw: item.message,
            error: { code: 'PAL_EMPTY', message: 'expected a syslog message, got an empty one' },
          },
    )
  }
  return records
}
