import { BlockList } from 'node:net'

import { describe, expect, it } from 'vitest'

import { fires, processRule, ruleSetFrom, sysmon } from './helpers.ts'
import { entryFires as hit, rejectionOf, selection } from './spec-helpers.ts'

/**
 * Every modifier of the Sigma modifiers appendix (v2.1.0), with the values the appendix and
 * the rules specification ("Value Modifiers", "Keywords search") give as examples.
 */

const b64 = (bytes: Buffer | string): string => Buffer.from(bytes).toString('base64')

describe('generic modifiers (appendix, "Generic Modifiers")', () => {
  it('contains puts wildcards around the value, so Test executable matches anywhere', () => {
    const entry = `Description|contains: 'Test executable'`
    expect(hit(entry, { Description: 'A Test Executable for QA' })).toBe(true)
    expect(hit(entry, { Description: 'Test executable' })).toBe(true)
    expect(hit(entry, { Description: 'Test-executable' })).toBe(false)
  })

  it('startswith is the same as adm* and endswith the same as *\\cmd.exe', () => {
    const data = [{ User: 'adm_joe' }, { User: 'ADM' }, { User: 'xadm' }]
    for (const d of data) {
      expect(hit(`User|startswith: 'adm'`, d)).toBe(hit(`User: 'adm*'`, d))
    }
    expect(hit(`User|startswith: 'adm'`, { User: 'xadm' })).toBe(false)
    const images = ['C:\\Windows\\System32\\cmd.exe', 'C:\\x\\notcmd.exe', 'cmd.exe']
    for (const Image of images) {
      expect(hit(String.raw`Image|endswith: '\cmd.exe'`, { Image })).toBe(
        hit(String.raw`Image: '*\cmd.exe'`, { Image }),
      )
    }
    expect(hit(String.raw`Image|endswith: '\cmd.exe'`, { Image: images[0] })).toBe(true)
    expect(hit(String.raw`Image|endswith: '\cmd.exe'`, { Image: images[1] })).toBe(false)
  })

  it('all ANDs a list: both OabVirtualDirectory and -ExternalUrl must appear', () => {
    const entry = `CommandLine|contains|all:\n    - 'OabVirtualDirectory'\n    - ' -ExternalUrl '`
    expect(hit(entry, { CommandLine: 'Set-OabVirtualDirectory -ExternalUrl http://x' })).toBe(true)
    expect(hit(entry, { CommandLine: 'Set-OabVirtualDirectory -InternalUrl http://x' })).toBe(false)
    const or = `CommandLine|contains:\n    - 'OabVirtualDirectory'\n    - ' -ExternalUrl '`
    expect(hit(or, { CommandLine: 'Set-OabVirtualDirectory -InternalUrl http://x' })).toBe(true)
  })

  it('rejects all on a single value, which the appendix does not allow', () => {
    expect(rejectionOf(selection(`CommandLine|contains|all: 'x'`))).toMatch(
      /"CommandLine\|contains\|all": all needs a list of two or more values, got one value/,
    )
    expect(rejectionOf(selection(`CommandLine|contains|all:\n    - 'x'`))).toMatch(
      /all needs a list of two or more values, got one value/,
    )
    expect(rejectionOf(`kw:\n    '|all': 'x'\ncondition: kw`)).toMatch(/all needs a list/)
  })

  it('exists true holds for a present field, even empty or null, and exists false for none', () => {
    // The specification's example (EventID 4738 and PasswordLastSet|exists: true), on the
    // process-creation events these tests build, so without the event id.
    const rule = `PasswordLastSet|exists: true`
    expect(hit(rule, { PasswordLastSet: '2025-01-01' })).toBe(true)
    expect(hit(rule, { PasswordLastSet: '' })).toBe(true)
    expect(hit(rule, { PasswordLastSet: null })).toBe(true)
    expect(hit(rule, {})).toBe(false)
    const absent = `PasswordLastSet|exists: false`
    expect(hit(absent, {})).toBe(true)
    expect(hit(absent, { PasswordLastSet: '' })).toBe(false)
    expect(hit(absent, { PasswordLastSet: null })).toBe(false)
  })

  it('rejects exists with anything but a boolean, saying what came', () => {
    expect(rejectionOf(selection(`PasswordLastSet|exists: 'yes'`))).toMatch(
      /"PasswordLastSet\|exists": exists takes true or false, got "yes"/,
    )
  })

  it('cased matches only with the exact case, on every kind of value', () => {
    expect(hit(`CommandLine|cased|contains: 'Invoke'`, { CommandLine: 'x Invoke y' })).toBe(true)
    expect(hit(`CommandLine|cased|contains: 'Invoke'`, { CommandLine: 'x invoke y' })).toBe(false)
    expect(hit(`User|cased: 'Admin'`, { User: 'Admin' })).toBe(true)
    expect(hit(`User|cased: 'Admin'`, { User: 'admin' })).toBe(false)
    expect(hit(`User|cased|startswith: 'Ad'`, { User: 'admin' })).toBe(false)
    expect(hit(`User|cased|endswith: 'IN'`, { User: 'ADMIN' })).toBe(true)
    expect(hit(`User|cased: 'Äpfel'`, { User: 'äpfel' })).toBe(false)
    expect(hit(`User|cased: 'A?m*'`, { User: 'Admin' })).toBe(true)
    expect(hit(`User|cased: 'A?m*'`, { User: 'aDMIN' })).toBe(false)
  })

  it('neq holds when the field is different from every value given', () => {
    const entry = `User|neq:\n    - alice\n    - bob`
    expect(hit(entry, { User: 'carol' })).toBe(true)
    expect(hit(entry, { User: 'alice' })).toBe(false)
    expect(hit(entry, { User: 'BOB' })).toBe(false)
    expect(hit(`User|contains|neq: adm`, { User: 'xADMx' })).toBe(false)
    expect(hit(`User|contains|neq: adm`, { User: 'guest' })).toBe(true)
  })

  it('neq null holds for a present value that is not null', () => {
    expect(hit(`User|neq: null`, { User: 'x' })).toBe(true)
    expect(hit(`User|neq: null`, { User: '' })).toBe(true)
    expect(hit(`User|neq: null`, { User: null })).toBe(false)
    expect(hit(`User|neq: null`, {})).toBe(false)
  })

  it('neq holds for an absent field, which is not equal to the value', () => {
    // Ambiguity: the appendix says "the field is different from the specified values" and
    // nothing about absent fields. Palisade reads neq as `not (field = value)`, the query
    // pySigma builds from it, under which an event without the field passes.
    expect(hit(`User|neq: alice`, {})).toBe(true)
  })

  it('neq on a number compares the number, as the numeric modifiers section lists it', () => {
    expect(hit(`EventID|neq: 1`, {})).toBe(false)
    expect(hit(`LogonType|neq: 3`, { LogonType: 3 })).toBe(false)
    expect(hit(`LogonType|neq: 3`, { LogonType: '3' })).toBe(false)
    expect(hit(`LogonType|neq: 3`, { LogonType: 10 })).toBe(true)
  })
})

describe('windash (appendix, "String Modifiers")', () => {
  // The appendix's list, exactly: hyphen-minus, slash, en dash, em dash, horizontal bar.
  const dashes = ['-', '/', '\u2013', '\u2014', '\u2015']

  it('makes each of the five characters stand for any of them', () => {
    for (const written of dashes) {
      const entry = `CommandLine|windash|contains: ' ${written}enc '`
      for (const seen of dashes) {
        const pair = `${written} as ${seen}`
        expect(hit(entry, { CommandLine: `powershell ${seen}enc JAB` }), pair).toBe(true)
      }
    }
  })

  it('does not stand for characters the appendix does not name', () => {
    const entry = `CommandLine|windash|contains: ' -enc '`
    // Figure dash, minus sign, hyphen, small hyphen-minus, fullwidth hyphen-minus, backslash.
    for (const other of ['\u2012', '\u2212', '\u2010', '\ufe63', '\uff0d', '\\', '+']) {
      expect(hit(entry, { CommandLine: `powershell ${other}enc JAB` })).toBe(false)
    }
    expect(hit(`CommandLine|contains: ' -enc '`, { CommandLine: 'powershell /enc JAB' })).toBe(
      false,
    )
  })

  it('permutes every dash of a value independently, after endswith too', () => {
    const entry = `CommandLine|windash|endswith: ' -a -b'`
    expect(hit(entry, { CommandLine: 'x /a \u2015b' })).toBe(true)
    expect(hit(entry, { CommandLine: 'x \u2013a -b' })).toBe(true)
    expect(hit(entry, { CommandLine: 'x -a +b' })).toBe(false)
  })

  it('works in keyword searches, with the implicit contains', () => {
    const d = `kw:\n    '|windash': ' -nop '\ncondition: kw`
    expect(fires(d, { CommandLine: 'powershell /nop -w hidden' })).toBe(true)
    expect(fires(d, { CommandLine: 'powershell +nop' })).toBe(false)
  })

  it('spells out permutations before UTF-16 as well: windash|wide|base64offset', () => {
    const entry = `CommandLine|windash|wide|base64offset|contains: ' -e '`
    const wide = (s: string): string => b64(Buffer.from(s, 'utf16le'))
    expect(hit(entry, { CommandLine: wide('x \u2013e y') })).toBe(true)
    expect(hit(entry, { CommandLine: wide('x +e y') })).toBe(false)
  })

  it('gives every permutation to an encoding that follows it', () => {
    // Spec: windash "uses all possible permutation of strings", so base64 after it encodes
    // each permutation, not a value with a dash wildcard in it.
    const entry = `CommandLine|windash|base64offset|contains: ' -e '`
    expect(hit(entry, { CommandLine: b64('x /e y') })).toBe(true)
    expect(hit(entry, { CommandLine: b64('x \u2014e y') })).toBe(true)
    expect(hit(entry, { CommandLine: b64('x +e y') })).toBe(false)
  })
})

describe('re (appendix, "Regular Expression")', () => {
  it('matches case-sensitively by default, with the PCRE metacharacters listed', () => {
    expect(hit(`CommandLine|re: 'ab+c'`, { CommandLine: 'xabbbc' })).toBe(true)
    expect(hit(`CommandLine|re: 'ab+c'`, { CommandLine: 'xABBC' })).toBe(false)
    const entry = `CommandLine|re: '^(cmd|pwsh)\\.exe [a-z]{2,3}[^0-9]?$'`
    expect(hit(entry, { CommandLine: 'cmd.exe ab' })).toBe(true)
    expect(hit(entry, { CommandLine: 'pwsh.exe abcX' })).toBe(true)
    expect(hit(entry, { CommandLine: 'pwsh.exe abcd' })).toBe(true)
    expect(hit(entry, { CommandLine: 'pwsh.exe a1' })).toBe(false)
    expect(hit(entry, { CommandLine: 'xcmd.exe ab' })).toBe(false)
  })

  it('i makes it case-insensitive', () => {
    expect(hit(`CommandLine|re|i: 'ab+c'`, { CommandLine: 'xABBC' })).toBe(true)
  })

  it('m lets ^ and $ match at line starts and ends', () => {
    expect(hit(`CommandLine|re|m: '^b$'`, { CommandLine: 'a\nb\nc' })).toBe(true)
    expect(hit(`CommandLine|re: '^b$'`, { CommandLine: 'a\nb\nc' })).toBe(false)
  })

  it('s lets the dot match a newline', () => {
    expect(hit(`CommandLine|re|s: 'a.b'`, { CommandLine: 'a\nb' })).toBe(true)
    expect(hit(`CommandLine|re: 'a.b'`, { CommandLine: 'a\nb' })).toBe(false)
  })

  it('takes the sub-modifiers together', () => {
    expect(hit(`CommandLine|re|i|m|s: '^A.B$'`, { CommandLine: 'x\na\nb\ny' })).toBe(true)
  })

  it('rejects i, m and s without re, and re with a modifier it would ignore', () => {
    expect(rejectionOf(selection(`CommandLine|i: 'abc'`))).toMatch(
      /"CommandLine\|i": i is a sub-modifier of re/,
    )
    expect(rejectionOf(selection(`CommandLine|contains|s: 'abc'`))).toMatch(
      /s is a sub-modifier of re/,
    )
    expect(rejectionOf(selection(`CommandLine|re|contains: 'abc'`))).toMatch(
      /"CommandLine\|re\|contains": re cannot be combined with contains/,
    )
    expect(rejectionOf(selection(`CommandLine|re: '(unclosed'`))).toMatch(
      /"CommandLine\|re": invalid regular expression/,
    )
  })
})

describe('encodings (appendix, "Encoding")', () => {
  it('base64 encodes the value: cmd is Y21k', () => {
    expect(hit(`CommandLine|base64: cmd`, { CommandLine: 'Y21k' })).toBe(true)
    expect(hit(`CommandLine|base64|contains: cmd`, { CommandLine: 'x Y21k x' })).toBe(true)
    // Base64 text is case-sensitive: Y21K decodes to other bytes.
    expect(hit(`CommandLine|base64: cmd`, { CommandLine: 'y21k' })).toBe(false)
  })

  it('base64offset finds the value at each of the three byte offsets', () => {
    const entry = `CommandLine|base64offset|contains: 'http://'`
    for (const prefix of ['', 'a', 'ab', 'abc', 'abcd', 'abcde']) {
      for (const suffix of ['', 'x', 'xy', 'xyz']) {
        const encoded = b64(`${prefix}http://${suffix}`)
        expect(hit(entry, { CommandLine: `-enc ${encoded}` }), `${prefix}|${suffix}`).toBe(true)
      }
    }
    expect(hit(entry, { CommandLine: b64('ftp://x') })).toBe(false)
  })

  it('base64offset gives the three strings SigmaHQ writes out for ::FromBase64String', () => {
    // The known answers, from the rule proc_creation_win_powershell_base64_frombase64string,
    // which spells out wide|base64offset of '::FromBase64String' by hand.
    const known = [
      'OgA6AEYAcgBvAG0AQgBhAHMAZQA2ADQAUwB0AHIAaQBuAGcA',
      'oAOgBGAHIAbwBtAEIAYQBzAGUANgA0AFMAdAByAGkAbgBnA',
      '6ADoARgByAG8AbQBCAGEAcwBlADYANABTAHQAcgBpAG4AZw',
    ]
    const entry = `CommandLine|wide|base64offset|contains: '::FromBase64String'`
    for (const s of known) {
      expect(hit(entry, { CommandLine: s })).toBe(true)
      // Exactly these strings: one character fewer at either end no longer matches.
      expect(hit(entry, { CommandLine: s.slice(1) })).toBe(false)
      expect(hit(entry, { CommandLine: s.slice(0, -1) })).toBe(false)
    }
  })

  it('utf16le turns cmd into 63 00 6d 00 64 00, and wide is its alias', () => {
    const le = Buffer.from([0x63, 0x00, 0x6d, 0x00, 0x64, 0x00])
    for (const mod of ['utf16le', 'wide']) {
      expect(hit(`CommandLine|${mod}|base64: cmd`, { CommandLine: b64(le) })).toBe(true)
      expect(hit(`CommandLine|${mod}: cmd`, { CommandLine: le.toString('latin1') })).toBe(true)
    }
    expect(b64(le)).toBe('YwBtAGQA')
    expect(hit(`CommandLine|wide|base64: cmd`, { CommandLine: 'YwBtAGQA' })).toBe(true)
  })

  it('utf16be turns cmd into 00 63 00 6d 00 64', () => {
    const be = Buffer.from([0x00, 0x63, 0x00, 0x6d, 0x00, 0x64])
    expect(hit(`CommandLine|utf16be|base64: cmd`, { CommandLine: b64(be) })).toBe(true)
    expect(hit(`CommandLine|utf16le|base64: cmd`, { CommandLine: b64(be) })).toBe(false)
  })

  it('utf16 prepends the byte order mark: cmd is FF FE 63 00 6d 00 64 00', () => {
    const bom = Buffer.from([0xff, 0xfe, 0x63, 0x00, 0x6d, 0x00, 0x64, 0x00])
    expect(hit(`CommandLine|utf16|base64: cmd`, { CommandLine: b64(bom) })).toBe(true)
    expect(hit(`CommandLine|utf16|base64: cmd`, { CommandLine: 'YwBtAGQA' })).toBe(false)
  })

  it('each UTF-16 form combines with base64offset at every offset', () => {
    const forms: [string, (s: string) => Buffer][] = [
      ['utf16le', (s) => Buffer.from(s, 'utf16le')],
      ['wide', (s) => Buffer.from(s, 'utf16le')],
      ['utf16be', (s) => Buffer.from(s, 'utf16le').swap16()],
      ['utf16', (s) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s, 'utf16le')])],
    ]
    for (const [mod, encode] of forms) {
      const entry = `CommandLine|${mod}|base64offset|contains: 'cmd'`
      for (const prefix of [0, 1, 2]) {
        const bytes = Buffer.concat([Buffer.alloc(prefix, 0x41), encode('cmd'), Buffer.from('!')])
        expect(hit(entry, { CommandLine: b64(bytes) }), `${mod} +${prefix}`).toBe(true)
      }
    }
  })

  it('rejects encoding a value with wildcards, naming the modifier', () => {
    expect(rejectionOf(selection(`CommandLine|base64: 'a*'`))).toMatch(
      /base64 cannot encode a value with wildcards/,
    )
  })
})

describe('numeric modifiers (appendix, "Numeric Modifiers")', () => {
  it('lt, lte, gt and gte compare numbers, from numbers or numeric text', () => {
    const cases: [string, number | string, boolean][] = [
      ['lt', 9, true],
      ['lt', 10, false],
      ['lte', 10, true],
      ['lte', '10', true],
      ['lte', 11, false],
      ['gt', 11, true],
      ['gt', '10', false],
      ['gte', '10', true],
      ['gte', 9.5, false],
    ]
    for (const [op, Size, want] of cases) {
      expect(hit(`Size|${op}: 10`, { Size }), `${Size} ${op} 10`).toBe(want)
    }
  })

  it('never holds for a missing, empty or non-numeric field', () => {
    for (const op of ['lt', 'lte', 'gt', 'gte']) {
      expect(hit(`Size|${op}: 10`, {})).toBe(false)
      expect(hit(`Size|${op}: 10`, { Size: '' })).toBe(false)
      expect(hit(`Size|${op}: 10`, { Size: 'ten' })).toBe(false)
      expect(hit(`Size|${op}: 10`, { Size: null })).toBe(false)
    }
  })

  it('ORs a list of bounds, and ANDs it under all (a range)', () => {
    expect(hit(`Size|gt:\n    - 100\n    - 5`, { Size: 6 })).toBe(true)
    const range = `Size|gt|all:\n    - 5\n    - 100`
    expect(hit(range, { Size: 6 })).toBe(false)
    expect(hit(range, { Size: 101 })).toBe(true)
  })

  it('rejects a value that is not a number, saying what came', () => {
    expect(rejectionOf(selection(`Size|gt: 'ten'`))).toMatch(/"Size\|gt" needs a number, got "ten"/)
  })
})

describe('time modifiers (appendix, "Time Modifiers")', () => {
  const at = '2025-03-09T14:27:05Z'

  it('extracts minute 0-59, hour 0-23, day 1-31, month 1-12 and the year', () => {
    expect(hit(`UtcTime|minute: 27`, { UtcTime: at })).toBe(true)
    expect(hit(`UtcTime|hour: 14`, { UtcTime: at })).toBe(true)
    expect(hit(`UtcTime|day: 9`, { UtcTime: at })).toBe(true)
    expect(hit(`UtcTime|month: 3`, { UtcTime: at })).toBe(true)
    expect(hit(`UtcTime|year: 2025`, { UtcTime: at })).toBe(true)
    expect(hit(`UtcTime|hour: 15`, { UtcTime: at })).toBe(false)
    expect(hit(`UtcTime|minute: 0`, { UtcTime: '2025-03-09T14:00:00Z' })).toBe(true)
    expect(hit(`UtcTime|hour: 0`, { UtcTime: '2025-03-09T00:59:00Z' })).toBe(true)
    expect(hit(`UtcTime|day: 31`, { UtcTime: '2025-12-31T23:59:59Z' })).toBe(true)
    expect(hit(`UtcTime|month: 12`, { UtcTime: '2025-12-31T23:59:59Z' })).toBe(true)
  })

  it('extracts the ISO 8601 week number', () => {
    // Ambiguity: the appendix says "number between 1 and 52", but calendar years have 52 or
    // 53 ISO weeks. Palisade takes ISO 8601 weeks, so 2020-12-31 is week 53 and 2025-12-29
    // week 1 (of 2026).
    expect(hit(`UtcTime|week: 1`, { UtcTime: '2025-01-01T00:00:00Z' })).toBe(true)
    expect(hit(`UtcTime|week: 10`, { UtcTime: at })).toBe(true)
    expect(hit(`UtcTime|week: 52`, { UtcTime: '2025-12-28T12:00:00Z' })).toBe(true)
    expect(hit(`UtcTime|week: 1`, { UtcTime: '2025-12-29T12:00:00Z' })).toBe(true)
    expect(hit(`UtcTime|week: 53`, { UtcTime: '2020-12-31T12:00:00Z' })).toBe(true)
  })

  it('combines with the numeric modifiers, as in working hours', () => {
    const night = `UtcTime|hour|gte: 20`
    expect(hit(night, { UtcTime: '2025-03-09T21:00:00Z' })).toBe(true)
    expect(hit(night, { UtcTime: '2025-03-09T19:59:59Z' })).toBe(false)
    expect(hit(`UtcTime|hour|lt: 6`, { UtcTime: '2025-03-09 05:30:00.123' })).toBe(true)
  })

  it('takes the part as written, with no timezone conversion', () => {
    // Spec: the time modifiers are "not designed to handle timezone or format conversions",
    // so 03:15 at +02:00 is hour 3, and Sysmon's zoneless "2025-01-01 03:15:00.123" is hour
    // 3 whatever the machine's own timezone is.
    expect(hit(`UtcTime|hour: 3`, { UtcTime: '2025-01-01T03:15:00+02:00' })).toBe(true)
    expect(hit(`UtcTime|day: 1`, { UtcTime: '2025-01-01T00:15:00+02:00' })).toBe(true)
    const tz = process.env['TZ']
    process.env['TZ'] = 'America/New_York'
    try {
      expect(hit(`UtcTime|hour: 3`, { UtcTime: '2025-01-01 03:15:00.123' })).toBe(true)
      expect(hit(`UtcTime|day: 31`, { UtcTime: '2025-01-31 23:15:00' })).toBe(true)
    } finally {
      if (tz === undefined) delete process.env['TZ']
      else process.env['TZ'] = tz
    }
  })

  it('reads a number as milliseconds since the epoch, in UTC', () => {
    // Ambiguity: the appendix does not say how a numeric date is written; Palisade takes
    // JavaScript's epoch milliseconds.
    const ms = Date.UTC(2025, 2, 9, 14, 27, 5)
    expect(hit(`T|year: 2025`, { T: ms })).toBe(true)
    expect(hit(`T|hour: 14`, { T: ms })).toBe(true)
    expect(hit(`T|week: 10`, { T: ms })).toBe(true)
  })

  it('reads a date without a time, and never holds for text that is not a date', () => {
    expect(hit(`Day|month: 2`, { Day: '2024-02-29' })).toBe(true)
    expect(hit(`Day|hour: 0`, { Day: 'yesterday' })).toBe(false)
    expect(hit(`Day|hour: 0`, {})).toBe(false)
    expect(hit(`Day|month: 2`, { Day: '2024-13-01' })).toBe(false)
  })

  it('reads a year as its four digits, before 100 too, and no other characters as digits', () => {
    // 0004-01-01 was a Thursday, so in week 1; Date.UTC reads year 4 as 1904, whose first
    // day, a Friday, is in week 53 of 1903.
    expect(hit(`Day|week: 1`, { Day: '0004-01-01' })).toBe(true)
    expect(hit(`Day|week: 24`, { Day: '0050-06-15' })).toBe(true)
    expect(hit(`Day|year|lt: 2000`, { Day: '\uff12025-01-01' })).toBe(false)
    expect(hit(`Day|hour: 3`, { Day: '\uff12025-01-01 03:15' })).toBe(false)
  })
})

/** An address sharing the range's units before the one its prefix ends in, the rest random. */
function near(
  address: string,
  prefix: number,
  family: string,
  next: (n: number) => number,
): string {
  if (family === 'ipv4') {
    const bytes = address.split('.').map(Number)
    return bytes.map((b, i) => (i < Math.floor(prefix / 8) ? b : next(256))).join('.')
  }
  const [head = '', tail = ''] = address.split('::')
  const h = head ? head.split(':') : []
  const t = tail ? tail.split(':') : []
  const words = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t]
  const kept = Math.floor(prefix / 16)
  return words.map((w, i) => (i < kept ? w : next(0x10000).toString(16))).join(':')
}

describe('cidr (appendix, "IP (Internet Protocol) Modifiers")', () => {
  it('matches the appendix example 10.0.0.0/8', () => {
    const entry = `DestinationIp|cidr: 10.0.0.0/8`
    expect(hit(entry, { DestinationIp: '10.0.0.0' })).toBe(true)
    expect(hit(entry, { DestinationIp: '10.255.255.255' })).toBe(true)
    expect(hit(entry, { DestinationIp: '11.0.0.1' })).toBe(false)
    expect(hit(entry, { DestinationIp: '9.255.255.255' })).toBe(false)
    expect(hit(entry, { DestinationIp: 'not an ip' })).toBe(false)
    expect(hit(entry, {})).toBe(false)
  })

  it('matches prefixes that end inside a byte, and /32 and /0', () => {
    expect(hit(`Ip|cidr: 192.168.0.0/23`, { Ip: '192.168.1.200' })).toBe(true)
    expect(hit(`Ip|cidr: 192.168.0.0/23`, { Ip: '192.168.2.1' })).toBe(false)
    expect(hit(`Ip|cidr: 172.16.0.0/12`, { Ip: '172.31.255.1' })).toBe(true)
    expect(hit(`Ip|cidr: 172.16.0.0/12`, { Ip: '172.32.0.1' })).toBe(false)
    expect(hit(`Ip|cidr: 8.8.8.8/32`, { Ip: '8.8.8.8' })).toBe(true)
    expect(hit(`Ip|cidr: 8.8.8.8/32`, { Ip: '8.8.8.9' })).toBe(false)
    expect(hit(`Ip|cidr: 0.0.0.0/0`, { Ip: '203.0.113.7' })).toBe(true)
  })

  it('matches IPv6 ranges: ::/0, fe80::/10, 2001:db8::/32 and ::1/128', () => {
    expect(hit(`Ip|cidr: '::/0'`, { Ip: '2001:db8::1' })).toBe(true)
    expect(hit(`Ip|cidr: '::/0'`, { Ip: '::' })).toBe(true)
    expect(hit(`Ip|cidr: '::/0'`, { Ip: '10.0.0.1' })).toBe(false)
    expect(hit(`Ip|cidr: 'fe80::/10'`, { Ip: 'fe80::1' })).toBe(true)
    expect(hit(`Ip|cidr: 'fe80::/10'`, { Ip: 'FEBF:ffff::1' })).toBe(true)
    expect(hit(`Ip|cidr: 'fe80::/10'`, { Ip: 'fec0::1' })).toBe(false)
    expect(hit(`Ip|cidr: 'fe80::/10'`, { Ip: 'fe80::1%eth0' })).toBe(true)
    expect(hit(`Ip|cidr: '2001:db8::/32'`, { Ip: '2001:0db8:ffff::1' })).toBe(true)
    expect(hit(`Ip|cidr: '2001:db8::/32'`, { Ip: '2001:db9::1' })).toBe(false)
    expect(hit(`Ip|cidr: '::1/128'`, { Ip: '0:0:0:0:0:0:0:1' })).toBe(true)
    expect(hit(`Ip|cidr: '::1/128'`, { Ip: '::2' })).toBe(false)
  })

  it('matches an IPv4-mapped IPv6 address against an IPv4 range', () => {
    expect(hit(`Ip|cidr: 10.0.0.0/8`, { Ip: '::ffff:10.1.2.3' })).toBe(true)
    expect(hit(`Ip|cidr: 10.0.0.0/8`, { Ip: '::ffff:0a01:0203' })).toBe(true)
    expect(hit(`Ip|cidr: 10.0.0.0/8`, { Ip: '::ffff:11.1.2.3' })).toBe(false)
    expect(hit(`Ip|cidr: '::ffff:0:0/96'`, { Ip: '::ffff:10.1.2.3' })).toBe(true)
  })

  it('agrees with node:net BlockList on generated addresses and ranges', () => {
    // An independent implementation as the oracle: Node's BlockList.addSubnet and check.
    let seed = 7
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    const v4 = (): string => [0, 0, 0, 0].map(() => next(256)).join('.')
    const v6 = (): string => {
      const words = Array.from({ length: 8 }, () => (next(3) === 0 ? 0 : next(0x10000)))
      const text = words.map((w) => w.toString(16)).join(':')
      return next(2) === 0 ? text.replace(/(^|:)0(:0)+(:|$)/, '::') : text.toUpperCase()
    }
    const ranges: [string, number, 'ipv4' | 'ipv6'][] = [
      ['10.0.0.0', 8, 'ipv4'],
      ['172.16.0.0', 12, 'ipv4'],
      ['192.168.128.0', 17, 'ipv4'],
      ['128.0.0.0', 1, 'ipv4'],
      ['fe80::', 10, 'ipv6'],
      ['8000::', 1, 'ipv6'],
      ['2001:db8::', 32, 'ipv6'],
      ['0:0:ab00::', 40, 'ipv6'],
    ]
    for (const [address, prefix, family] of ranges) {
      const oracle = new BlockList()
      oracle.addSubnet(address, prefix, family)
      const set = ruleSetFrom(processRule(selection(`Ip|cidr: '${address}/${prefix}'`)))
      for (let n = 0; n < 300; n++) {
        // Half the addresses keep the range's leading units and vary from the one the prefix
        // ends in, so both sides of the boundary are tried; the others are anywhere.
        const ip =
          n % 2 === 0 ? near(address, prefix, family, next) : family === 'ipv4' ? v4() : v6()
        const want = oracle.check(ip, family)
        expect(
          set.evaluate(sysmon(1, { Ip: ip })).length > 0,
          `${ip} in ${address}/${prefix}`,
        ).toBe(want)
      }
    }
  })

  it('rejects invalid ranges, saying what is wrong with each', () => {
    const reasons: [string, RegExp][] = [
      ['10.0.0.0/33', /prefix length 33 is longer than an IPv4 address \(32 bits\)/],
      ["'fe80::/129'", /prefix length 129 is longer than an IPv6 address \(128 bits\)/],
      ['10.0.0.0/', /expected a prefix length after "\/"/],
      ['10.0.0.0/8.5', /expected a prefix length after "\/", got "8.5"/],
      ['10.0.0/8', /"10.0.0" is not an IPv4 or IPv6 address/],
      ['300.1.1.1/8', /"300.1.1.1" is not an IPv4 or IPv6 address/],
      ["'zz::/8'", /"zz::" is not an IPv4 or IPv6 address/],
      ['10.0.0.0/8/9', /more than one "\/"/],
    ]
    for (const [value, reason] of reasons) {
      const message = rejectionOf(selection(`Ip|cidr: ${value}`))
      expect(message, value).toMatch(/"Ip\|cidr": /)
      expect(message, value).toMatch(reason)
    }
  })
})

describe('expand (appendix, "Specific Modifiers"; rules specification, "Placeholders")', () => {
  const placeholders = { name: ['srv*'], Admins: ['root', 'adm_*'] }

  it('handles %name% as a literal value without expand', () => {
    expect(hit(`Host: '%name%'`, { Host: '%name%' }, { placeholders })).toBe(true)
    expect(hit(`Host: '%name%'`, { Host: 'srv1' }, { placeholders })).toBe(false)
  })

  it('replaces %name% with its values, wildcards and all, under expand', () => {
    expect(hit(`Host|expand: '%name%'`, { Host: 'SRV01' }, { placeholders })).toBe(true)
    expect(hit(`User|expand: '%Admins%'`, { User: 'root' }, { placeholders })).toBe(true)
    expect(hit(`User|expand: '%Admins%'`, { User: 'adm_joe' }, { placeholders })).toBe(true)
    expect(hit(`User|expand: '%Admins%'`, { User: 'joe' }, { placeholders })).toBe(false)
  })

  it('handles \\%plain%name% as the plain %plain followed by the placeholder', () => {
    const entry = String.raw`Host|expand: '\%plain%name%'`
    expect(hit(entry, { Host: '%plainsrv7' }, { placeholders })).toBe(true)
    expect(hit(entry, { Host: 'plainsrv7' }, { placeholders })).toBe(false)
  })
})

describe('fieldref (appendix, "Specific Modifiers")', () => {
  it('compares the field with another field of the same event', () => {
    const entry = `Image|fieldref: ParentImage`
    expect(hit(entry, { Image: 'C:\\a.exe', ParentImage: 'c:\\A.EXE' })).toBe(true)
    expect(hit(entry, { Image: 'C:\\a.exe', ParentImage: 'C:\\b.exe' })).toBe(false)
    expect(hit(entry, { Image: 'C:\\a.exe' })).toBe(false)
  })

  it('combines with neq, in either order', () => {
    for (const entry of [`Image|fieldref|neq: ParentImage`, `Image|neq|fieldref: ParentImage`]) {
      expect(hit(entry, { Image: 'a.exe', ParentImage: 'b.exe' })).toBe(true)
      expect(hit(entry, { Image: 'a.exe', ParentImage: 'A.exe' })).toBe(false)
    }
  })

  it('combines with cased, contains, startswith and endswith', () => {
    expect(hit(`Image|fieldref|cased: ParentImage`, { Image: 'a', ParentImage: 'A' })).toBe(false)
    const data = { CommandLine: 'C:\\x\\a.exe -run', Image: 'c:\\X\\A.exe' }
    expect(hit(`CommandLine|fieldref|contains: Image`, data)).toBe(true)
    expect(hit(`CommandLine|fieldref|startswith: Image`, data)).toBe(true)
    expect(hit(`CommandLine|fieldref|endswith: Image`, data)).toBe(false)
  })

  it('rejects fieldref with a modifier it cannot honour', () => {
    expect(rejectionOf(selection(`Image|fieldref|base64: ParentImage`))).toMatch(
      /"Image\|fieldref\|base64": fieldref cannot be combined with base64/,
    )
  })
})

describe('modifier names', () => {
  it('rejects an unknown modifier, naming it and the field', () => {
    expect(rejectionOf(selection(`Image|sideways: x`))).toMatch(
      /unknown modifier "sideways" in "Image\|sideways"$/,
    )
  })

  it('suggests the modifier a misspelt one is closest to', () => {
    expect(rejectionOf(selection(`CommandLine|contians: x`))).toMatch(
      /unknown modifier "contians" in "CommandLine\|contians" \(did you mean contains\?\)/,
    )
    expect(rejectionOf(selection(`Image|endwith: x`))).toMatch(/\(did you mean endswith\?\)/)
    expect(rejectionOf(selection(`Ip|cdir: 10.0.0.0/8`))).toMatch(/\(did you mean cidr\?\)/)
  })
})
