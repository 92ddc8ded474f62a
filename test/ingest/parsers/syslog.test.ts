import { describe, expect, it } from 'vitest'

import { parseSyslog } from '../../../ingest/parsers/syslog.ts'
import type { ParseContext } from '../../../ingest/parsed-record.ts'
import { syslogEventId } from '../../../platform/event-id.ts'

function context(receivedAt: string, timeZone = 'UTC', startPosition?: number): ParseContext {
  return { stream: 'tcp:test', receivedAt: new Date(receivedAt), timeZone, startPosition }
}

const ctx = context('2026-01-02T00:00:00Z')

function parseOne(line: string, c: ParseContext = ctx): Record<string, unknown> {
  const records = parseSyslog(line, c)
  expect(records).toHaveLength(1)
  expect(records[0]!.error).toBeUndefined()
  return records[0]!.event!
}

function timestampOf(line: string, c: ParseContext): unknown {
  return parseOne(line, c)['@timestamp']
}

describe('parseSyslog with RFC 5424 messages', () => {
  it('reads the header, priority and message (RFC 5424 §6.5, example 1)', () => {
    const line =
      "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \uFEFF'su root' failed for lonvick on /dev/pts/8"
    expect(parseOne(line)).toEqual({
      id: syslogEventId('tcp:test', 0, line),
      '@timestamp': '2003-10-11T22:14:15.003Z',
      event: { kind: 'event', original: line },
      message: "'su root' failed for lonvick on /dev/pts/8",
      host: { hostname: 'mymachine.example.com' },
      process: { name: 'su' },
      log: {
        syslog: {
          priority: 34,
          facility: { code: 4, name: 'auth' },
          severity: { code: 2, name: 'crit' },
          version: '1',
          hostname: 'mymachine.example.com',
          appname: 'su',
          msgid: 'ID47',
        },
      },
    })
  })

  it('reads several structured data elements and no message (RFC 5424 §6.5, example 4)', () => {
    const line =
      '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]'
    const event = parseOne(line)
    expect(event['log']).toMatchObject({
      syslog: {
        facility: { code: 20, name: 'local4' },
        severity: { code: 5, name: 'notice' },
        structured_data: {
          'exampleSDID@32473': { iut: '3', eventSource: 'Application', eventID: '1011' },
          'examplePriority@32473': { class: 'high' },
        },
      },
    })
    expect(event['message']).toBe('')
  })

  it('unescapes \\" \\\\ and \\] in values and keeps other backslashes (§6.3.3)', () => {
    const line = '<13>1 - host app - - [x@1 v="a\\"b\\\\c\\]d\\ne"] the message'
    const event = parseOne(line)
    expect(event['log']).toMatchObject({
      syslog: { structured_data: { 'x@1': { v: 'a"b\\c]d\\ne' } } },
    })
    expect(event['message']).toBe('the message')
  })

  it('keeps every value of a repeated parameter name', () => {
    const line = '<13>1 - h a - - [origin ip="192.0.2.1" ip="192.0.2.2"] m'
    expect(parseOne(line)['log']).toMatchObject({
      syslog: { structured_data: { origin: { ip: '192.0.2.1', 'ip[1]': '192.0.2.2' } } },
    })
  })

  it('leaves out NILVALUE fields and the timestamp, so arrival time applies later', () => {
    const event = parseOne('<13>1 - - - - - -')
    expect(event['@timestamp']).toBeUndefined()
    expect(event['host']).toBeUndefined()
    expect(event['log']).toEqual({
      syslog: {
        priority: 13,
        facility: { code: 1, name: 'user' },
        severity: { code: 5, name: 'notice' },
        version: '1',
      },
    })
  })

  it('keeps a timestamp with an offset as written', () => {
    const line = '<13>1 2026-01-01T10:00:00.123456-05:00 h a 77 - - m'
    const event = parseOne(line)
    expect(event['@timestamp']).toBe('2026-01-01T10:00:00.123456-05:00')
    expect(event['process']).toEqual({ name: 'a', pid: 77 })
  })

  it('fails a bad timestamp, saying what was expected and where', () => {
    const [record] = parseSyslog('<13>1 yesterday h a - - - m', ctx)
    expect(record!.error!.code).toBe('PAL_NOT_SYSLOG')
    expect(record!.error!.message).toBe(
      'line 1 (stream position 0): expected an RFC 3339 TIMESTAMP or "-" at column 7, got "yesterday"; the line was "<13>1 yesterday h a - - - m"',
    )
  })

  it('fails unterminated structured data', () => {
    const [record] = parseSyslog('<13>1 - h a - - [x@1 v="open] m', ctx)
    expect(record!.error!.message).toContain('unterminated value of x@1.v')
  })

  it('quotes a bad line without splitting the emoji at the cut', () => {
    const line = `<999>${'a'.repeat(53)}😀 x`
    const [record] = parseSyslog(line, ctx)
    expect(record!.error!.message).toBe(
      'line 1 (stream position 0): expected PRI 0-191 (RFC 5424 §6.2.1), got <999>; ' +
        `the line was "<999>${'a'.repeat(53)}😀… (61 chars)`,
    )
    expect(record!.raw).toBe(line)
  })

  it('fails a PRI above 191', () => {
    const [record] = parseSyslog('<192>1 - - - - - -', ctx)
    expect(record!.error!.message).toContain('expected PRI 0-191 (RFC 5424 §6.2.1), got <192>')
  })
})

describe('parseSyslog with RFC 3164 messages', () => {
  it('reads host, tag and pid (RFC 3164 §5.4)', () => {
    const line = "<34>Oct 11 22:14:15 mymachine su[230]: 'su root' failed for lonvick on /dev/pts/8"
    expect(parseOne(line, context('2026-11-01T00:00:00Z'))).toMatchObject({
      '@timestamp': '2026-10-11T22:14:15.000Z',
      host: { hostname: 'mymachine' },
      process: { name: 'su', pid: 230 },
      message: "'su root' failed for lonvick on /dev/pts/8",
      log: { syslog: { priority: 34, appname: 'su', procid: '230', hostname: 'mymachine' } },
    })
  })

  it('reads lines without a PRI, as a local syslog daemon writes files', () => {
    const line = 'Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186'
    const event = parseOne(line)
    expect(event).toMatchObject({
      '@timestamp': '2025-12-10T06:55:46.000Z',
      host: { hostname: 'LabSZ' },
      process: { name: 'sshd', pid: 24200 },
    })
    expect((event['log'] as { syslog: object }).syslog).not.toHaveProperty('priority')
  })

  it('reads a space-padded day and a tag with no host before it', () => {
    const event = parseOne('<13>Feb  5 01:02:03 cron: job ran', context('2026-03-01T00:00:00Z'))
    expect(event).toMatchObject({ '@timestamp': '2026-02-05T01:02:03.000Z', message: 'job ran' })
    expect(event['host']).toBeUndefined()
  })

  it('reads the BSD format with an RFC 3339 timestamp', () => {
    const event = parseOne('<13>2026-01-01T00:00:00+01:00 web nginx: up')
    expect(event).toMatchObject({
      '@timestamp': '2026-01-01T00:00:00+01:00',
      host: { hostname: 'web' },
    })
  })

  it('treats an unreadable header after a valid PRI as the message (§4.3.3)', () => {
    const event = parseOne('<13>just some text')
    expect(event['message']).toBe('just some text')
    expect(event['@timestamp']).toBeUndefined()
  })

  it('puts "Dec 31" received on 2 January in the previous year', () => {
    expect(timestampOf('Dec 31 23:00:00 h a: m', ctx)).toBe('2025-12-31T23:00:00.000Z')
  })

  it('puts a date a little ahead of receipt in the receipt year, not a year back', () => {
    const c = context('2026-03-10T12:00:00Z')
    expect(timestampOf('Mar 10 12:00:30 h a: m', c)).toBe('2026-03-10T12:00:30.000Z')
  })

  it('puts "Jan  1" received seconds before midnight on 31 December in the next year', () => {
    const c = context('2025-12-31T23:59:50Z')
    expect(timestampOf('Jan  1 00:00:05 h a: m', c)).toBe('2026-01-01T00:00:05.000Z')
  })

  it('puts "Feb 29" in the most recent leap year', () => {
    const c = context('2026-03-01T00:00:00Z')
    expect(timestampOf('Feb 29 10:00:00 h a: m', c)).toBe('2024-02-29T10:00:00.000Z')
  })

  it('reads dates in the configured time zone, summer and winter', () => {
    const c = context('2026-12-01T00:00:00Z', 'America/New_York')
    expect(timestampOf('Jul  4 12:00:00 h a: m', c)).toBe('2026-07-04T16:00:00.000Z')
    expect(timestampOf('Jan 15 12:00:00 h a: m', c)).toBe('2026-01-15T17:00:00.000Z')
  })

  it('chooses the year by the wall clock in the configured zone', () => {
    // 03:00 UTC on 1 January is still 31 December, 22:00, in New York.
    const c = context('2026-01-01T03:00:00Z', 'America/New_York')
    expect(timestampOf('Dec 31 21:00:00 h a: m', c)).toBe('2026-01-01T02:00:00.000Z')
  })

  it('moves a time in the spring-forward gap forward, and takes the earlier of a repeated one', () => {
    const c = context('2026-12-01T00:00:00Z', 'America/New_York')
    // 8 March 2026, 02:30 does not exist in New York: it reads as 03:30 EDT.
    expect(timestampOf('Mar  8 02:30:00 h a: m', c)).toBe('2026-03-08T07:30:00.000Z')
    // 1 November 2026, 01:30 happens twice: the first, in EDT.
    expect(timestampOf('Nov  1 01:30:00 h a: m', c)).toBe('2026-11-01T05:30:00.000Z')
  })

  it('unwraps "message repeated N times" and records the count', () => {
    const line =
      'Dec 10 07:13:56 LabSZ sshd[24227]: message repeated 5 times: [ Failed password for root from 5.36.59.76 port 42393 ssh2]'
    const event = parseOne(line)
    expect(event['message']).toBe('Failed password for root from 5.36.59.76 port 42393 ssh2')
    expect(event['log']).toMatchObject({ syslog: { repeat_count: 5 } })
    expect(event['event']).toMatchObject({ original: line, action: 'ssh_login' })
  })
})

describe('parseSyslog over a body', () => {
  it('counts positions by line, blank lines included, from the stream position', () => {
    const body = 'Dec 10 06:55:46 h a: one\r\n\nDec 10 06:55:47 h a: two\n'
    const records = parseSyslog(body, context('2026-01-02T00:00:00Z', 'UTC', 100))
    expect(records.map((r) => r.index)).toEqual([0, 2])
    expect(records.map((r) => r.raw)).toEqual([
      'Dec 10 06:55:46 h a: one',
      'Dec 10 06:55:47 h a: two',
    ])
    expect(records[1]!.event!['id']).toBe(
      syslogEventId('tcp:test', 102, 'Dec 10 06:55:47 h a: two'),
    )
  })

  it('gives the same line at two positions two ids, and a re-parse the same ids', () => {
    const body = 'Dec 10 06:55:46 h a: same\nDec 10 06:55:46 h a: same'
    const ids = parseSyslog(body, ctx).map((r) => r.event!['id'])
    expect(new Set(ids).size).toBe(2)
    expect(parseSyslog(body, ctx).map((r) => r.event!['id'])).toEqual(ids)
  })

  it('fails a line that is not syslog alone, with its position and what came', () => {
    const body = 'Dec 10 06:55:46 h a: ok\nhello world'
    const records = parseSyslog(body, context('2026-01-02T00:00:00Z', 'UTC', 10))
    expect(records[0]!.event).toBeDefined()
    expect(records[1]!.error).toEqual({
      code: 'PAL_NOT_SYSLOG',
      message:
        'line 2 (stream position 11): expected syslog: RFC 5424 "<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG" or RFC 3164 "[<PRI>]Mmm dd hh:mm:ss HOST TAG: MSG"; the line was "hello world"',
    })
  })

  it('throws for a time zone that is not an IANA zone', () => {
    expect(() => parseSyslog('x', context('2026-01-01T00:00:00Z', 'Mars/Olympus'))).toThrow(
      'expected an IANA time zone (like "UTC" or "America/New_York"), got "Mars/Olympus"',
    )
  })
})
