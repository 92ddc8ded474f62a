/**
 * Rules for the stream-against-SQL harness: each exercises one part of the detection
 * specification (a modifier, a wildcard or escape, a case rule, a condition form), over the
 * fields `sql-equivalence-events.ts` fills. Written with `String.raw` and single-quoted YAML,
 * so a backslash here is a backslash in the Sigma value.
 */

const process = 'product: windows\n    category: process_creation'
const sshd = 'product: linux\n    service: sshd'
const linux = 'product: linux'

let count = 0

function rule(title: string, logsource: string, detection: string): string {
  count++
  const body = detection
    .trim()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n')
  return `title: ${title}
id: 00000000-0000-4000-a000-${String(count).padStart(12, '0')}
logsource:
    ${logsource}
detection:
${body}
`
}

export const placeholders = { Admins: ['adm*', 'root'] }

const docs = [
  rule(
    'exact value',
    process,
    String.raw`sel: {Image: 'C:\Windows\System32\cmd.exe'}
condition: sel`,
  ),
  rule(
    'exact non-ASCII value',
    process,
    String.raw`sel: {User: 'MÜLLER'}
condition: sel`,
  ),
  rule(
    'exact value a lookalike lowers onto',
    process,
    String.raw`sel: {User: 'king'}
condition: sel`,
  ),
  rule(
    'empty value',
    process,
    String.raw`sel: {User: ''}
condition: sel`,
  ),
  rule(
    'leading star',
    process,
    String.raw`sel: {Image: '*\cmd.exe'}
condition: sel`,
  ),
  rule(
    'inner star',
    process,
    String.raw`sel: {CommandLine: '* /c *'}
condition: sel`,
  ),
  rule(
    'question mark',
    process,
    String.raw`sel: {CommandLine: ['a?c', 'x?', '?md *']}
condition: sel`,
  ),
  rule(
    'two stars and a question mark',
    process,
    String.raw`sel: {Image: 'C:*?md.exe'}
condition: sel`,
  ),
  rule(
    'escaped wildcards',
    process,
    String.raw`sel: {CommandLine: ['lit\*star', 'q\?mark', 'back\\slash*', 'plain\x']}
condition: sel`,
  ),
  rule(
    'cased exact',
    process,
    String.raw`sel: {CommandLine|cased: 'Invoke-Expression'}
condition: sel`,
  ),
  rule(
    'cased contains',
    process,
    String.raw`sel: {CommandLine|contains|cased: 'Invoke-'}
condition: sel`,
  ),
  rule(
    'contains list',
    process,
    String.raw`sel: {CommandLine|contains: ['whoami', 'ä', 'straße', 'ſ']}
condition: sel`,
  ),
  rule(
    'startswith and endswith',
    process,
    String.raw`sel:
    CommandLine|startswith: 'cmd'
    Image|endswith: ['.exe', '\k.exe']
condition: sel`,
  ),
  rule(
    'contains all',
    process,
    String.raw`sel: {CommandLine|contains|all: ['cmd', '/c']}
condition: sel`,
  ),
  rule(
    'windash',
    process,
    String.raw`sel: {CommandLine|windash|contains: ' -enc '}
condition: sel`,
  ),
  rule(
    'base64',
    process,
    String.raw`sel: {CommandLine|base64|contains: 'whoami'}
condition: sel`,
  ),
  rule(
    'base64offset',
    process,
    String.raw`sel: {CommandLine|base64offset|contains: 'http://'}
condition: sel`,
  ),
  rule(
    'utf16le base64offset',
    process,
    String.raw`sel: {CommandLine|utf16le|base64offset|contains: 'IEX'}
condition: sel`,
  ),
  rule(
    'wide base64',
    process,
    String.raw`sel: {CommandLine|wide|base64: 'ab'}
condition: sel`,
  ),
  rule(
    'regular expression',
    process,
    String.raw`sel: {CommandLine|re: ['^a.c$', 'x{2,3}', '\s+-w\s+hidden', '[\d]{2}\b']}
condition: sel`,
  ),
  rule(
    'regular expression, i',
    process,
    String.raw`sel: {CommandLine|re|i: ['invoke-[a-z]+', '^king$', 'secret']}
condition: sel`,
  ),
  rule(
    'regular expression, s',
    process,
    String.raw`sel: {CommandLine|re|s: 'a.b'}
condition: sel`,
  ),
  rule(
    'regular expression with an inline flag',
    process,
    String.raw`sel: {CommandLine|re: '(?i)^CMD'}
condition: sel`,
  ),
  rule(
    'cidr',
    process,
    String.raw`sel: {DestinationIp|cidr: ['10.0.0.0/8', '192.168.1.0/24', 'fe80::/10']}
condition: sel`,
  ),
  rule(
    'cidr of mapped addresses',
    process,
    String.raw`sel: {DestinationIp|cidr: '::ffff:0:0/96'}
condition: sel`,
  ),
  rule(
    'greater than',
    process,
    String.raw`sel: {ProcessId|gt: 1000}
condition: sel`,
  ),
  rule(
    'at most',
    process,
    String.raw`sel: {ProcessId|lte: 4}
condition: sel`,
  ),
  rule(
    'less than a fraction',
    process,
    String.raw`sel: {ProcessId|lt: 0.5}
condition: sel`,
  ),
  rule(
    'number as text',
    process,
    String.raw`sel: {ProcessId: 42}
condition: sel`,
  ),
  rule(
    'null value',
    process,
    String.raw`sel: {ParentImage: null}
condition: sel`,
  ),
  rule(
    'exists',
    process,
    String.raw`sel: {ParentImage|exists: true}
condition: sel`,
  ),
  rule(
    'exists false',
    process,
    String.raw`sel: {ParentImage|exists: false}
condition: sel`,
  ),
  rule(
    'neq',
    process,
    String.raw`sel: {IntegrityLevel|neq: 'High'}
condition: sel`,
  ),
  rule(
    'list of maps',
    process,
    String.raw`sel:
    - Image|endswith: '\cmd.exe'
      CommandLine|contains: 'whoami'
    - User: root
condition: sel`,
  ),
  rule(
    'array field',
    process,
    String.raw`sel: {Tags: 'b'}
condition: sel`,
  ),
  rule(
    'boolean field',
    process,
    String.raw`sel: {Elevated: 'true'}
condition: sel`,
  ),
  rule(
    'space-stripped field name',
    process,
    String.raw`sel: {ThreatName|contains: 'eicar'}
condition: sel`,
  ),
  rule(
    'keywords on a Windows event',
    process,
    String.raw`keywords: ['mimikatz', 'SEKURLSA']
condition: keywords`,
  ),
  rule(
    'keywords all',
    process,
    String.raw`keywords:
    '|all': ['mimi', 'katz']
condition: keywords`,
  ),
  rule(
    'keyword regular expression',
    process,
    String.raw`keywords:
    '|re': 'mimi.atz'
condition: keywords`,
  ),
  rule(
    'keywords on syslog',
    sshd,
    String.raw`keywords: ['Failed password', 'invalid USER']
condition: keywords`,
  ),
  rule(
    'keyword number',
    linux,
    String.raw`keywords: [22]
condition: keywords`,
  ),
  rule(
    'ECS field on Linux',
    linux,
    String.raw`sel: {user.name|startswith: 'ro'}
condition: sel`,
  ),
  rule(
    'one of a pattern',
    process,
    String.raw`sel_a: {Image|endswith: '\cmd.exe'}
sel_b: {CommandLine|contains: 'whoami'}
other: {User: root}
condition: 1 of sel_* and not other`,
  ),
  rule(
    'all of them',
    process,
    String.raw`sel_a: {Image|endswith: '.exe'}
sel_b: {CommandLine|contains: 'c'}
_hidden: {User: nobody}
condition: all of them`,
  ),
  rule(
    'one of them, or and parentheses',
    process,
    String.raw`a: {User: root}
b: {User: admin}
c: {IntegrityLevel: High}
condition: (a or b) and not c or 1 of them and c`,
  ),
  rule(
    'condition list',
    process,
    String.raw`a: {User: root}
b: {IntegrityLevel: High}
condition: [a, b]`,
  ),
  rule(
    'expand',
    process,
    String.raw`sel: {User|expand: '%Admins%'}
condition: sel`,
  ),
  rule(
    'cased fieldref',
    process,
    String.raw`sel: {ParentImage|fieldref|cased: Image}
condition: sel`,
  ),
  rule(
    'Security 4688 field names',
    process,
    String.raw`sel: {Image|endswith: '\cmd.exe', CommandLine|contains: 'whoami'}
condition: sel`,
  ),
  rule(
    'filtered rule',
    process,
    String.raw`sel: {Image|endswith: '.exe'}
condition: sel`,
  ),
  rule(
    'greater than a hexadecimal value',
    process,
    String.raw`sel: {ProcessId|gt: '0x10'}
condition: sel`,
  ),
  rule(
    'hour',
    process,
    String.raw`sel: {UtcTime|hour: 3}
condition: sel`,
  ),
  rule(
    'hour of midnight',
    process,
    String.raw`sel: {UtcTime|hour: 0}
condition: sel`,
  ),
  rule(
    'minute, not equal',
    process,
    String.raw`sel: {UtcTime|minute|neq: 15}
condition: sel`,
  ),
  rule(
    'day of the month at least',
    process,
    String.raw`sel: {UtcTime|day|gte: 29}
condition: sel`,
  ),
  rule(
    'ISO week 53',
    process,
    String.raw`sel: {UtcTime|week: 53}
condition: sel`,
  ),
  rule(
    'ISO week 1 or 2',
    process,
    String.raw`sel: {UtcTime|week|lte: 2}
condition: sel`,
  ),
  rule(
    'month in a list',
    process,
    String.raw`sel: {UtcTime|month: [2, 12]}
condition: sel`,
  ),
  rule(
    'year before 2000',
    process,
    String.raw`sel: {UtcTime|year|lt: 2000}
condition: sel`,
  ),
  rule(
    'year as text',
    process,
    String.raw`sel: {UtcTime|year: '2025'}
condition: sel`,
  ),
  rule(
    'fieldref without cased',
    process,
    String.raw`sel: {ParentImage|fieldref: Image}
condition: sel`,
  ),
  rule(
    'regular expression with lookahead',
    process,
    String.raw`sel: {CommandLine|re: 'a(?=b)'}
condition: sel`,
  ),
  rule(
    'exact value with a sigma',
    process,
    String.raw`sel: {User: 'ΟΔΟΣ'}
condition: sel`,
  ),
]

const filtered = `00000000-0000-4000-a000-${String(docs.length - 4).padStart(12, '0')}`

/** Rules the SQL back end refuses, by title; everything else it must run. */
export const expectedRefusals = [
  'fieldref without cased',
  'regular expression with lookahead',
  'exact value with a sigma',
]

/** The rules above and one filter, as one YAML text. */
export const differentialRules = [
  ...docs,
  `title: not as system
logsource:
    ${process}
filter:
    rules: [${filtered}]
    sys: {User: SYSTEM}
    condition: not sys
`,
].join('---\n')
