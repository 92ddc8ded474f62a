import { describeValue } from '../../platform/errors.ts'
import { syslogEventId } from '../../platform/event-id.ts'
import type { ParseContext, ParsedRecord, Parser } from '../parsed-record.ts'
import { enrichSshd } from './openssh.ts'
import { assertTimeZone, resolveYearlessDate } from './syslog-time.ts'
import { wellFormed } from '../../platform/well-formed.ts'

/**
 * Syslog, one message per line: RFC 5424, RFC 3164 (with or without its `<PRI>`, as files
 * written by a local syslog daemon have none), and the common BSD variant with an RFC 3339
 * timestamp. Fields land in ECS: `log.syslog.*`, `host.hostname`, `process.name`/`pid`,
 * `message`, and `event.original` (the whole line).
 */

type Json = Record<string, unknown>

/** What an application enricher adds; each group is merged over the event's own. */
export interface SyslogEnrichment {
  event?: Json
  user?: Json
  source?: Json
  labels?: Record<string, string>
}

/** Reads an application's message and says what it means in ECS terms, or nothing. */
export type SyslogEnricher = (message: string) => SyslogEnrichment | undefined

/** Application parsers, by syslog APP-NAME / TAG. */
export const syslogEnrichers: Readonly<Record<string, SyslogEnricher>> = {
  sshd: enrichSshd,
}

// RFC 5424 §6.2.1, Table 1 (and the names syslog daemons use for them).
const FACILITIES = [
  'kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron',
  'authpriv', 'ftp', 'ntp', 'security', 'console', 'solaris-cron',
  'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7',
] // prettier-ignore

// RFC 5424 §6.2.1, Table 2, by the keywords syslog.conf uses.
const SEVERITIES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug']

const MONTHS: Record<string, number> = {
  Jan: 1, Feb: 2, Mar: 3, Apr: 4, May: 5, Jun: 6, Jul: 7, Aug: 8, Sep: 9, Oct: 10, Nov: 11, Dec: 12,
} // prettier-ignore

const PRI = /^<(\d{1,3})>/
const RFC5424_HEADER = /^([1-9]\d{0,2}) (\S+) (\S+) (\S+) (\S+) (\S+) /
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/
const RFC3164_DATE =
  /^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?: |$)/
const BSD_ISO_DATE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})) /
// A TAG (RFC 3164 §4.1.3) as real daemons write it: `sshd[123]:`, `postfix/smtpd[9]:`, `su:`.
const TAG = /^([^\s[\]:]+)(?:\[([^\]\s]*)\])?: ?/
// rsyslog's repeated-message reduction: the message it stands for is inside the brackets.
const REPEATED = /^message repeated (\d+) times: \[ ?([\s\S]*)\]$/

class SyslogSyntaxError extends Error {}

interface Header {
  timestamp?: string
  hostname?: string
  appname?: string
  procid?: string
  msgid?: string
  version?: string
  structuredData?: Record<string, Record<string, string>>
  message: string
}

function nil(value: string): string | undefined {
  return value === '-' ? undefined : value
}

/**
 * RFC 5424 STRUCTURED-DATA (§6.3), from `text[start]` on; returns the elements and where the
 * MSG begins. In a PARAM-VALUE, `\"`, `\\` and `\]` are escapes; a backslash before anything
 * else is kept as it is (§6.3.3). A PARAM-NAME may repeat (§6.3.3; `origin` `ip` does): later
 * values are kept as `name[1]`, `name[2]`, ... so none is lost and the first stays at `name`.
 */
function parseStructuredData(
  text: string,
  start: number,
): { data?: Record<string, Record<string, string>>; end: number } {
  if (text[start] === '-') return { end: start + 1 }

  const data: Record<string, Record<string, string>> = {}
  let i = start
  while (text[i] === '[') {
    const idEnd = text.slice(i + 1).search(/[ \]="]/)
    if (idEnd <= 0) throw new SyslogSyntaxError(`expected an SD-ID after "[" at column ${i + 2}`)
    const id = text.slice(i + 1, i + 1 + idEnd)
    const params: Record<string, string> = (data[id] ??= {})
    i += 1 + idEnd

    while (text[i] === ' ') {
      const eq = text.indexOf('="', i + 1)
      const name = eq < 0 ? '' : text.slice(i + 1, eq)
      if (name === '' || /[ \]"=]/.test(name)) {
        throw new SyslogSyntaxError(`expected PARAM-NAME="..." in [${id}] at column ${i + 2}`)
      }
      let value = ''
      let j = eq + 2
      for (;;) {
        if (j >= text.length) {
          throw new SyslogSyntaxError(`unterminated value of ${id}.${name} at column ${eq + 3}`)
        }
        const c = text[j]!
        if (c === '"') break
        if (c === '\\' && (text[j + 1] === '"' || text[j + 1] === '\\' || text[j + 1] === ']')) {
          value += text[j + 1]
          j += 2
          continue
        }
        value += c
        j++
      }
      let key = name
      for (let n = 1; key in params; n++) key = `${name}[${n}]`
      params[key] = value
      i = j + 1
    }

    if (text[i] !== ']') {
      throw new SyslogSyntaxError(
        `expected "]" or a parameter in [${id}] at column ${i + 1}, got ${describeValue(text.slice(i, i + 20))}`,
      )
    }
    i++
  }
  if (i === start) {
    throw new SyslogSyntaxError(
      `expected structured data ("-" or "[") at column ${start + 1}, got ${describeValue(text.slice(start, start + 20))}`,
    )
  }
  return { data, end: i }
}

function parse5424(rest: string, offset: number): Header {
  const m = RFC5424_HEADER.exec(rest)
  if (!m) {
    throw new SyslogSyntaxError(
      `expected RFC 5424 "VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID" at column ${offset + 1}`,
    )
  }
  const [header, version, ts, host, app, procid, msgid] = m as unknown as string[]

  if (ts !== '-' && !RFC3339.test(ts!)) {
    throw new SyslogSyntaxError(
      `expected an RFC 3339 TIMESTAMP or "-" at column ${offset + version!.length + 2}, got ${describeValue(ts)}`,
    )
  }

  const sd = parseStructuredData(rest, header!.length)
  let message = ''
  if (sd.end < rest.length) {
    if (rest[sd.end] !== ' ') {
      throw new SyslogSyntaxError(`expected a space before MSG at column ${offset + sd.end + 1}`)
    }
    message = rest.slice(sd.end + 1)
  }
  // §6.4: a UTF-8 MSG may start with a BOM; it marks the encoding and is not content.
  if (message.charCodeAt(0) === 0xfeff) message = message.slice(1)

  return {
    version,
    timestamp: nil(ts!),
    hostname: nil(host!),
    appname: nil(app!),
    procid: nil(procid!),
    msgid: nil(msgid!),
    structuredData: sd.data,
    message,
  }
}

/** `HOST TAG[PID]: MSG` after an RFC 3164 date; the HOST is absent if the first word is a TAG. */
function parse3164Body(text: string): Omit<Header, 'timestamp'> {
  let rest = text
  let hostname: string | undefined
  const space = rest.indexOf(' ')
  const first = space < 0 ? rest : rest.slice(0, space)
  if (space > 0 && !first.endsWith(':') && !/\[[^\]]*\]:?$/.test(first)) {
    hostname = first
    rest = rest.slice(space + 1)
  }
  const tag = TAG.exec(rest)
  if (!tag) return { hostname, message: rest }
  return { hostname, appname: tag[1], procid: tag[2], message: rest.slice(tag[0].length) }
}

function parse3164(rest: string, ctx: ParseContext, zone: string): Header | undefined {
  const iso = BSD_ISO_DATE.exec(rest)
  if (iso) return { timestamp: iso[1], ...parse3164Body(rest.slice(iso[0].length)) }

  const m = RFC3164_DATE.exec(rest)
  if (!m) return undefined
  const [, mon, day, hour, minute, second] = m as unknown as string[]
  const date = {
    month: MONTHS[mon!]!,
    day: Number(day),
    hour: Number(hour),
    minute: Number(minute),
    second: Number(second),
  }
  if (date.day < 1 || date.day > 31 || date.hour > 23 || date.minute > 59 || date.second > 59) {
    throw new SyslogSyntaxError(`expected a valid RFC 3164 date, got ${describeValue(m[0].trim())}`)
  }
  const t = resolveYearlessDate(date, ctx.receivedAt, zone)
  if (t === undefined) {
    throw new SyslogSyntaxError(`${describeValue(m[0].trim())} is not a date in any nearby year`)
  }
  return { timestamp: new Date(t).toISOString(), ...parse3164Body(rest.slice(m[0].length)) }
}

const EXPECTED =
  'expected syslog: RFC 5424 "<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG" or RFC 3164 ' +
  '"[<PRI>]Mmm dd hh:mm:ss HOST TAG: MSG"'

function parseLine(line: string, ctx: ParseContext, zone: string): Json {
  let priority: number | undefined
  let rest = line
  const pri = PRI.exec(line)
  if (pri) {
    priority = Number(pri[1])
    if (priority > 191) {
      throw new SyslogSyntaxError(`expected PRI 0-191 (RFC 5424 §6.2.1), got <${pri[1]}>`)
    }
    rest = line.slice(pri[0].length)
  } else if (line.startsWith('<')) {
    throw new SyslogSyntaxError(`${EXPECTED}; "<" opens no valid PRI`)
  }

  let header: Header | undefined
  if (pri && /^[1-9]\d{0,2} /.test(rest)) header = parse5424(rest, pri[0].length)
  else header = parse3164(rest, ctx, zone)
  // RFC 3164 §4.3.3: after a valid PRI, a relay treats a header it cannot read as content.
  if (!header && pri) header = { message: rest }
  if (!header) throw new SyslogSyntaxError(EXPECTED)

  let message = header.message
  let repeatCount: number | undefined
  const repeated = REPEATED.exec(message)
  if (repeated) {
    repeatCount = Number(repeated[1])
    message = repeated[2]!
  }

  const syslog: Json = {}
  if (priority !== undefined) {
    const facility = priority >> 3
    const severity = priority & 7
    syslog['priority'] = priority
    syslog['facility'] = { code: facility, name: FACILITIES[facility] }
    syslog['severity'] = { code: severity, name: SEVERITIES[severity] }
  }
  for (const [key, value] of [
    ['version', header.version],
    ['hostname', header.hostname],
    ['appname', header.appname],
    ['procid', header.procid],
    ['msgid', header.msgid],
  ] as const) {
    if (value !== undefined) syslog[key] = value
  }
  if (header.structuredData) syslog['structured_data'] = header.structuredData
  if (repeatCount !== undefined) syslog['repeat_count'] = repeatCount

  const event: Json = {
    event: { kind: 'event', original: line },
    message,
    log: { syslog },
  }
  if (header.timestamp) event['@timestamp'] = header.timestamp
  if (header.hostname) event['host'] = { hostname: header.hostname }
  if (header.appname) {
    const process: Json = { name: header.appname }
    if (header.procid && /^\d{1,10}$/.test(header.procid)) process['pid'] = Number(header.procid)
    event['process'] = process
  }

  const enrich = header.appname ? syslogEnrichers[header.appname] : undefined
  const extra = enrich?.(message)
  if (extra) {
    for (const [group, fields] of Object.entries(extra)) {
      event[group] = { ...(event[group] as Json | undefined), ...fields }
    }
  }
  return event
}

/**
 * Parses syslog lines. The body is split on `\n`, a trailing `\r` is dropped, and blank lines
 * are skipped; a record's `index` is its line number in the body (0-based, blank lines
 * included), so the same body always gives the same positions. Its id is
 * `syslogEventId(ctx.stream, (ctx.startPosition ?? 0) + index, line)`.
 *
 * RFC 3164 dates take the year that puts them in the most recent past relative to
 * `ctx.receivedAt` (allowing a day of clock skew into the future), read in `ctx.timeZone`.
 * A line that is not syslog fails alone, saying what was expected and what came.
 *
 * @throws ValidationError `PAL_BAD_TIME_ZONE` when `ctx.timeZone` is not an IANA zone.
 * @example parseSyslog('<34>1 2026-01-02T03:04:05Z web sshd 42 - - Accepted ...', ctx)
 */
export const parseSyslog: Parser = (body, ctx) => {
  const zone = ctx.timeZone || 'UTC'
  assertTimeZone(zone)
  const first = ctx.startPosition ?? 0
  const records: ParsedRecord[] = []
  const lines = body.split('\n')
  for (let index = 0; index < lines.length; index++) {
    let line = lines[index]!
    if (line.endsWith('\r')) line = line.slice(0, -1)
    if (line.trim() === '') continue
    const position = first + index
    try {
      const event = parseLine(line, ctx, zone)
      event['id'] = syslogEventId(ctx.stream, position, line)
      records.push({ index, raw: line, event })
    } catch (err) {
      if (!(err instanceof SyslogSyntaxError)) throw err
      const where = `line ${index + 1} (stream position ${position})`
      // SD-IDs and names are quoted as they came, and a caller's string may hold a lone
      // surrogate; a stored reason must not.
      const message = wellFormed(`${where}: ${err.message}; the line was ${describeValue(line)}`)
      records.push({ index, raw: line, error: { code: 'PAL_NOT_SYSLOG', message } })
    }
  }
  return records
}
