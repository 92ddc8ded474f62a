import { describe, expect, it } from 'vitest'

import { parseEvtxJson } from '../../../ingest/parsers/evtx-json.ts'
import type { ParseContext } from '../../../ingest/parsed-record.ts'
import { windowsEventId } from '../../../platform/event-id.ts'

const ctx: ParseContext = {
  stream: 'test',
  receivedAt: new Date('2026-01-02T00:00:00Z'),
  timeZone: 'UTC',
}

type Json = Record<string, unknown>

function windowsEvent(
  provider: string,
  eventId: unknown,
  data: Json | undefined,
  overrides: Json = {},
): Json {
  return {
    Event: {
      '#attributes': { xmlns: 'http://schemas.microsoft.com/win/2004/08/events/event' },
      System: {
        Provider: { '#attributes': { Name: provider, Guid: '{GUID}' } },
        EventID: eventId,
        Level: 4,
        Task: 1,
        Opcode: 0,
        Keywords: '0x8000000000000000',
        TimeCreated: { '#attributes': { SystemTime: '2026-01-01T10:00:00.123456Z' } },
        EventRecordID: 42,
        Execution: { '#attributes': { ProcessID: 100, ThreadID: 200 } },
        Channel: 'Security',
        Computer: 'dc1.corp.example',
        Security: { '#attributes': { UserID: 'S-1-5-18' } },
        ...overrides,
      },
      ...(data && { EventData: data }),
    },
  }
}

const SYSMON = 'Microsoft-Windows-Sysmon'
const SECURITY = 'Microsoft-Windows-Security-Auditing'

function parseOne(value: unknown): Json {
  const records = parseEvtxJson(JSON.stringify(value), ctx)
  expect(records).toHaveLength(1)
  expect(records[0]!.error).toBeUndefined()
  return records[0]!.event!
}

describe('parseEvtxJson', () => {
  it('maps the System block to winlog, host and event fields', () => {
    const event = parseOne(windowsEvent(SYSMON, 11, { TargetFilename: 'C:\\x.exe' }))
    expect(event).toMatchObject({
      id: windowsEventId('Security', 'dc1.corp.example', 42),
      '@timestamp': '2026-01-01T10:00:00.123456Z',
      host: { name: 'dc1.corp.example' },
      event: { kind: 'event', code: '11', provider: SYSMON },
      winlog: {
        channel: 'Security',
        computer_name: 'dc1.corp.example',
        record_id: 42,
        event_id: 11,
        provider_name: SYSMON,
        provider_guid: '{GUID}',
        level: 4,
        task: 1,
        opcode: 0,
        keywords: '0x8000000000000000',
        process: { pid: 100, thread: { id: 200 } },
        user: { identifier: 'S-1-5-18' },
        event_data: { TargetFilename: 'C:\\x.exe' },
      },
    })
  })

  it('reads an EventID written as an element with attributes', () => {
    const value = windowsEvent(SECURITY, { '#text': 4688, '#attributes': { Qualifiers: '' } }, {})
    expect(parseOne(value)).toMatchObject({ winlog: { event_id: 4688 }, event: { code: '4688' } })
  })

  it('reads attributes written in the @Name convention', () => {
    const value = windowsEvent(
      SYSMON,
      { '#text': '1' },
      {},
      {
        Provider: { '@Name': SYSMON },
        TimeCreated: { '@SystemTime': '2026-01-01T00:00:00Z' },
      },
    )
    expect(parseOne(value)).toMatchObject({
      '@timestamp': '2026-01-01T00:00:00Z',
      event: { provider: SYSMON, category: ['process'] },
    })
  })

  it('maps Sysmon process creation to ECS process and user fields', () => {
    const event = parseOne(
      windowsEvent(SYSMON, 1, {
        Image: 'C:\\Windows\\System32\\cmd.exe',
        CommandLine: 'cmd.exe /c whoami',
        ProcessId: 4242,
        ParentImage: 'C:\\Windows\\explorer.exe',
        ParentCommandLine: 'C:\\Windows\\Explorer.EXE',
        ParentProcessId: '1000',
        User: 'CORP\\alice',
      }),
    )
    expect(event).toMatchObject({
      event: { category: ['process'], type: ['start'] },
      process: {
        executable: 'C:\\Windows\\System32\\cmd.exe',
        name: 'cmd.exe',
        command_line: 'cmd.exe /c whoami',
        pid: 4242,
        parent: {
          executable: 'C:\\Windows\\explorer.exe',
          command_line: 'C:\\Windows\\Explorer.EXE',
          pid: 1000,
          name: 'explorer.exe',
        },
      },
      user: { name: 'alice', domain: 'CORP' },
    })
  })

  it('maps Security 4688 with hexadecimal process ids', () => {
    const event = parseOne(
      windowsEvent(SECURITY, 4688, {
        NewProcessName: 'C:\\Windows\\System32\\whoami.exe',
        NewProcessId: '0x1a2c',
        ProcessId: '0x10',
        CommandLine: 'whoami /all',
        ParentProcessName: 'C:\\Windows\\System32\\cmd.exe',
        SubjectUserName: 'bob',
        SubjectDomainName: 'CORP',
      }),
    )
    expect(event).toMatchObject({
      event: { category: ['process'], type: ['start'] },
      process: {
        executable: 'C:\\Windows\\System32\\whoami.exe',
        pid: 0x1a2c,
        command_line: 'whoami /all',
        parent: { executable: 'C:\\Windows\\System32\\cmd.exe', pid: 16 },
      },
      user: { name: 'bob', domain: 'CORP' },
    })
  })

  it('maps Sysmon network connections to source and destination', () => {
    const event = parseOne(
      windowsEvent(SYSMON, 3, {
        Protocol: 'tcp',
        SourceIp: '10.0.0.5',
        SourcePort: '49712',
        DestinationIp: '203.0.113.9',
        DestinationPort: 443,
      }),
    )
    expect(event).toMatchObject({
      event: { category: ['network'] },
      source: { ip: '10.0.0.5', port: 49712 },
      destination: { ip: '203.0.113.9', port: 443 },
      network: { transport: 'tcp' },
    })
  })

  it('maps logons: 4624 succeeds, 4625 fails, and "-" is no address', () => {
    const ok = parseOne(
      windowsEvent(SECURITY, 4624, {
        TargetUserName: 'carol',
        TargetDomainName: 'CORP',
        IpAddress: '198.51.100.7',
        IpPort: '51000',
      }),
    )
    expect(ok).toMatchObject({
      event: { category: ['authentication'], outcome: 'success' },
      user: { name: 'carol', domain: 'CORP' },
      source: { ip: '198.51.100.7', port: 51000 },
    })

    const failed = parseOne(
      windowsEvent(SECURITY, 4625, { TargetUserName: 'mallory', IpAddress: '-', IpPort: '-' }),
    )
    expect(failed).toMatchObject({
      event: { category: ['authentication'], outcome: 'failure' },
      user: { name: 'mallory' },
    })
    expect(failed['source']).toBeUndefined()
  })

  it('folds Data lists into named fields and numbers unnamed ones', () => {
    const event = parseOne(
      windowsEvent(SECURITY, 9999, {
        '#attributes': { Name: 'ignored' },
        Data: [
          { '#attributes': { Name: 'A' }, '#text': 'one' },
          { '@Name': 'B', '#text': '2' },
          'x',
        ],
      }),
    )
    expect((event['winlog'] as Json)['event_data']).toEqual({ A: 'one', B: '2', param1: 'x' })
  })

  it('keeps UserData as winlog.user_data', () => {
    const value = windowsEvent(SECURITY, 1102, undefined)
    ;(value['Event'] as Json)['UserData'] = { LogFileCleared: { SubjectUserName: 'eve' } }
    expect(parseOne(value)).toMatchObject({
      winlog: { user_data: { LogFileCleared: { SubjectUserName: 'eve' } } },
    })
  })

  it('splits concatenated events, pretty-printed or not, keeping each one’s exact text', () => {
    const a = JSON.stringify(windowsEvent(SYSMON, 1, {}), null, 2)
    const b = JSON.stringify(windowsEvent(SYSMON, 1, {}, { EventRecordID: 43 }))
    const records = parseEvtxJson(`\uFEFF${a}\n${b}${b.replace('43', '44')}\n`, ctx)
    expect(records.map((r) => (r.event!['winlog'] as Json)['record_id'])).toEqual([42, 43, 44])
    expect(records[0]!.raw).toBe(a)
    expect(records[1]!.raw).toBe(b)
  })

  it('accepts a JSON array of events', () => {
    const body = JSON.stringify([windowsEvent(SYSMON, 1, {}), windowsEvent(SYSMON, 3, {})])
    const records = parseEvtxJson(body, ctx)
    expect(records.map((r) => r.event!['event'])).toMatchObject([{ code: '1' }, { code: '3' }])
    expect(JSON.parse(records[1]!.raw)).toEqual(windowsEvent(SYSMON, 3, {}))
  })

  it('fails an event without a System block, naming the path', () => {
    const [record] = parseEvtxJson('{"Event": {"EventData": {}}}', ctx)
    expect(record!.error).toMatchObject({ code: 'PAL_MISSING_FIELD', path: 'Event.System' })
    expect(record!.error!.message).toContain('missing Event.System')
  })

  it('fails an event without a record id, naming the path and what came', () => {
    const value = windowsEvent(SYSMON, 1, {}, { EventRecordID: null })
    const [record] = parseEvtxJson(JSON.stringify(value), ctx)
    expect(record!.error).toMatchObject({
      code: 'PAL_MISSING_FIELD',
      path: 'Event.System.EventRecordID',
    })
    expect(record!.error!.message).toContain('got null')
  })

  it('fails invalid JSON alone and frames the rest', () => {
    const good = JSON.stringify(windowsEvent(SYSMON, 1, {}))
    const records = parseEvtxJson(`{"Event": nope}\n${good}`, ctx)
    expect(records[0]!.error!.code).toBe('PAL_BAD_JSON')
    expect(records[1]!.event).toBeDefined()
  })

  it('quotes the JSON error of a bad event without the half emoji V8 leaves at its cut', () => {
    // V8 quotes the text near the error, cut at a fixed width: here inside an emoji.
    const [record] = parseEvtxJson(`{"Event": x${'😀'.repeat(20)}}`, ctx)
    const message = record!.error!.message
    expect(message).toMatch(/^event 0 \(offset 0\): invalid JSON: Unexpected token 'x', .*\ufffd/)
    expect((message as unknown as { isWellFormed(): boolean }).isWellFormed()).toBe(true)
  })

  it('fails a truncated body as one record holding the rest', () => {
    const good = JSON.stringify(windowsEvent(SYSMON, 1, {}))
    const records = parseEvtxJson(`${good}\n{"Event": {"System": "cut`, ctx)
    expect(records).toHaveLength(2)
    expect(records[1]!.error!.code).toBe('PAL_UNFRAMEABLE')
    expect(records[1]!.raw).toBe('{"Event": {"System": "cut')
  })

  it('returns no records for an empty body', () => {
    expect(parseEvtxJson(' \n', ctx)).toEqual([])
  })
})
