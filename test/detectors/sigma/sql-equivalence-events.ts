import type { PalisadeEvent } from '../../../platform/event-model.ts'

/**
 * Events for the stream-against-SQL harness, made to sit on the edges the rules in
 * `sql-equivalence-rules.ts` test: case variants (ASCII, non-ASCII, the Kelvin sign and the
 * long s that some folds map onto ASCII), wildcard and escape characters, line breaks, text
 * outside the BMP, encoded text, numbers as numbers and as text, addresses of both families,
 * lists, nulls and absent fields. Each field's value is drawn from its pool, so values meet
 * in combinations no one wrote down.
 */

const b64 = (s: string, encoding: BufferEncoding = 'utf8'): string =>
  Buffer.from(s, encoding).toString('base64')

const images = [
  String.raw`C:\Windows\System32\cmd.exe`,
  String.raw`c:\windows\system32\CMD.EXE`,
  String.raw`C:\Windows\System32\xmd.exe`,
  String.raw`C:\Windows\System32\😀md.exe`,
  String.raw`C:\Windows\System32\ÄMD.exe`,
  String.raw`C:\Windows\System32\cmd.exe` + '\n',
  'cmd.exe',
  String.raw`C:\Temp\K.exe`,
  String.raw`C:\Temp\k.exe`,
  String.raw`C:\Temp\ſ.exe`,
  String.raw`\\server\share\cmd.exe`,
  '',
]

const commandLines = [
  'cmd /c whoami',
  'CMD /C WHOAMI',
  'cmd.exe /c dir',
  'abc',
  'aKc',
  'a😀c',
  'a\nc',
  'a\rb',
  'a\u2028b',
  'a\nb',
  'x',
  'xy',
  'x😀',
  'lit*star',
  'litXstar',
  String.raw`back\slash and more`,
  String.raw`back\\slash`,
  'q?mark',
  'qxmark',
  String.raw`plain\x`,
  'plainx',
  'Invoke-Expression',
  'invoke-expression',
  'INVOKE-X',
  'KING',
  'King',
  'powershell -enc AAA',
  'powershell /enc AAA',
  'powershell \u2013enc AAA',
  'powershell \u2015enc AAA',
  'powershell _enc AAA',
  `powershell -e ${b64('cmd whoami')}`,
  b64('whoami'),
  `x ${b64('http://evil')}`,
  `x ${b64(' http://evil')}`,
  `x ${b64('  http://evil')}`,
  `x ${b64('IEX(foo)', 'utf16le')}`,
  `x ${b64(' IEX(foo)', 'utf16le')}`,
  b64('ab', 'utf16le'),
  b64('AB', 'utf16le'),
  'straße',
  'STRASSE',
  'Straße',
  'ä',
  'Ä',
  'x ä y',
  'ſecret',
  'SECRET',
  ' -w  hidden',
  '\u00a0-w\u00a0hidden',
  '\t-w\thidden',
  'xx',
  'xxxx',
  'pid 12 ok',
  'pid 1',
  'mimikatz',
  'σ',
  'Σ',
  'ΟΔΟΣ',
  'οδος',
]

const users = [
  'MÜLLER',
  'müller',
  'Müller',
  'MULLER',
  'mÜller',
  'admin',
  'ADMIN',
  'adm1',
  'root',
  'ROOT',
  'rooter',
  'king',
  '\u212Aing',
  'KING',
  'SYSTEM',
  'nobody',
  '',
  'ΟΔΟΣ',
  'οδος',
  'οδοσ',
]

const addresses: unknown[] = [
  '10.1.2.3',
  '10.1.2.3%eth0',
  '010.1.2.3',
  '0010.1.2.3',
  '192.168.1.77',
  '192.168.2.1',
  '::ffff:10.0.0.1',
  '::ffff:192.168.1.5',
  '::FFFF:8.8.8.8',
  'fe80::1',
  'fe80::1%3',
  'FE80::abcd',
  '2001:db8::1',
  '1.2.3',
  '256.1.1.1',
  'not an ip',
  '',
  ['10.0.0.1', '8.8.8.8'],
  ['8.8.8.8', '1.1.1.1'],
  10,
]

const numbers: unknown[] = [
  4,
  42,
  '42',
  ' 42 ',
  '42.0',
  '4.0',
  1001,
  '1e3',
  '1001',
  1e21,
  -0,
  0.3,
  '0.25',
  '.25',
  '+2000',
  '',
  'abc',
  true,
  null,
  [5, 2000],
  ['x', 3],
  'Infinity',
  '1e400',
  '\u00a0 5000\n',
  // What Number reads besides decimals, and what it does not.
  '0x3E9',
  '0X3e8',
  '0x4',
  ' 0x4\t',
  '0x0',
  '-0x4',
  '+0x3E9',
  '0x',
  '0x3E9.5',
  `0x${'f'.repeat(200)}`,
  `0x${'f'.repeat(256)}`,
  '0o1751',
  '0O4',
  '0o9',
  '0b1111101001',
  '0B100',
  '0b102',
  '007',
  '1.',
  '-.5',
  '\ufeff4\u3000',
  '1_001',
  '1e99999',
  '1e-99999',
  '-Infinity',
  ' ',
]

const parents: unknown[] = [
  undefined,
  null,
  '',
  String.raw`C:\Windows\explorer.exe`,
  String.raw`C:\Windows\System32\cmd.exe`,
  String.raw`c:\windows\system32\cmd.exe`,
]

/**
 * Dates for the time-part modifiers, read as written: zones and offsets are not applied, ISO
 * weeks 53 and 1 on both sides of a new year, midnight, leap days real and not, parts out of
 * range, years before 100 and after 2299 (beyond ClickHouse's Date32), and epoch milliseconds
 * on both sides of 1970 and of the dates JavaScript holds.
 */
const times: unknown[] = [
  '2025-03-01 03:15:00.000',
  '2025-03-01T03:15:00+02:00',
  '2025-03-01t03:15:00-11:30',
  '2020-12-31T23:59:59.999Z',
  '2021-01-03T00:00:00+14:00',
  '2021-01-04 00:00',
  '2026-12-31 00:00:00',
  '2027-01-01T00:00:00Z',
  '2024-12-30T12:00:00Z',
  '2024-02-29 00:00:00',
  '2023-02-29 10:00:00',
  '2100-02-29 10:00:00',
  '2000-02-29 10:00:00',
  '2025-13-01T00:00:00Z',
  '2025-00-10T00:00:00Z',
  '2025-04-31T00:00:00Z',
  '2025-01-01T24:00:00Z',
  '2025-01-01 23:60',
  '2025-01-01 7:05',
  '2025-01-01',
  '2025-01-01xyz',
  '2025-1-01',
  ' 2025-01-01 03:15',
  '\uff12025-01-01 03:15',
  '0050-06-15T01:02:03Z',
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:59Z',
  '2300-01-01 00:00',
  '1899-12-31 23:59',
  '1735689600000',
  '',
  'not a date',
  0,
  1735689600000,
  1609459199999,
  1609459199999.9,
  -1,
  -0.5,
  -86400001,
  -62198755200000,
  8.64e15,
  -8.64e15,
  8.64e15 + 1,
  1e21,
  true,
  null,
  ['2020-12-31 00:00', 1735689600000],
  [],
  undefined,
]

const integrity: unknown[] = ['High', 'high', 'Medium', undefined, null, ['High', 'Low']]
const tags: unknown[] = [['a', 'B'], ['c'], 'b', 'B', [], [['b']], undefined]
const elevated: unknown[] = [true, false, 'true', 'TRUE', undefined]
const threats: unknown[] = ['EICAR-Test-File', 'Clean', undefined]

function pick<T>(random: () => number, pool: readonly T[]): T {
  return pool[Math.floor(random() * pool.length)]!
}

function uuid(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`
}

/** Drops the keys whose value is undefined: an absent field, not a present one. */
function present(data: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(data).filter(([, v]) => v !== undefined))
}

/** About 900 events: Sysmon and Security process creations and syslog records. */
export function generatedEvents(random: () => number): PalisadeEvent[] {
  const events: PalisadeEvent[] = []
  let n = 0
  const time = '2025-03-01T03:15:00.000Z'

  for (let i = 0; i < 700; i++) {
    const security = random() < 0.15
    const commandLine =
      random() < 0.25
        ? `${pick(random, commandLines)} ${pick(random, commandLines)}`
        : pick(random, commandLines)
    const image = pick(random, images)
    const data = present({
      [security ? 'NewProcessName' : 'Image']: random() < 0.05 ? undefined : image,
      CommandLine: random() < 0.05 ? undefined : commandLine,
      User: random() < 0.1 ? undefined : pick(random, users),
      ParentImage: random() < 0.1 ? image : pick(random, parents),
      IntegrityLevel: pick(random, integrity),
      DestinationIp: pick(random, addresses),
      ProcessId: pick(random, numbers),
      Tags: pick(random, tags),
      Elevated: pick(random, elevated),
      'Threat Name': pick(random, threats),
      UtcTime: pick(random, times),
    })
    events.push({
      id: uuid(++n),
      '@timestamp': time,
      host: { name: 'ws1' },
      // An ECS copy that keyword search must not read on a Windows event.
      ...(random() < 0.2 ? { process: { command_line: 'mimikatz sekurlsa' } } : {}),
      ...(random() < 0.2
        ? { message: pick(random, ['mimikatz here', 'SekurLSA', 'nothing']) }
        : {}),
      winlog: {
        channel: security
          ? pick(random, ['Security', 'security'])
          : pick(random, [
              'Microsoft-Windows-Sysmon/Operational',
              'microsoft-windows-sysmon/operational',
            ]),
        computer_name: 'ws1',
        event_id: security ? 4688 : pick(random, [1, 1, 1, '1', 3]),
        provider_name: 'p',
        event_data: data,
      },
    } as PalisadeEvent)
  }

  const messages = [
    'Failed password for root from 10.0.0.1 port 22',
    'FAILED PASSWORD for admin',
    'Invalid user bob',
    'Accepted publickey for root',
    'port 22 open',
    'nothing to see',
  ]
  for (let i = 0; i < 200; i++) {
    const viaSyslog = random() < 0.5
    events.push({
      id: uuid(++n),
      '@timestamp': time,
      message: pick(random, messages),
      user: { name: pick(random, ['root', 'ROOT', 'rooter', 'admin', '']) },
      ...(random() < 0.3 ? { source: { port: pick(random, [22, 2222, '22']) } } : {}),
      ...(viaSyslog
        ? { log: { syslog: { appname: pick(random, ['sshd', 'cron']) } } }
        : { event: { dataset: pick(random, ['sshd', 'linux.auth', 'nginx']) } }),
    } as PalisadeEvent)
  }
  return events
}
