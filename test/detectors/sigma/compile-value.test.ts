import { describe, expect, it } from 'vitest'

import { fires, processRule, ruleSetFrom } from './helpers.ts'

describe('Sigma values and modifiers', () => {
  it('matches plain values case-insensitively and in full', () => {
    const d = `selection:\n    Image: 'C:\\Windows\\cmd.exe'\ncondition: selection`
    expect(fires(d, { Image: 'c:\\windows\\CMD.EXE' })).toBe(true)
    expect(fires(d, { Image: 'c:\\windows\\cmd.exe.bak' })).toBe(false)
  })

  it('treats * and ? as wildcards and a backslash as an escape before them', () => {
    const d = `selection:\n    CommandLine: 'a?c*z'\ncondition: selection`
    expect(fires(d, { CommandLine: 'abcxyz' })).toBe(true)
    expect(fires(d, { CommandLine: 'acz' })).toBe(false)
    const esc = `selection:\n    CommandLine: 'what\\?\\*'\ncondition: selection`
    expect(fires(esc, { CommandLine: 'what?*' })).toBe(true)
    expect(fires(esc, { CommandLine: 'whatX*' })).toBe(false)
    const slashStar = `selection:\n    CommandLine: 'C:\\\\*'\ncondition: selection`
    expect(fires(slashStar, { CommandLine: 'C:\\anything' })).toBe(true)
    const plain = `selection:\n    CommandLine: 'C:\\Temp\\x'\ncondition: selection`
    expect(fires(plain, { CommandLine: 'C:\\Temp\\x' })).toBe(true)
  })

  it('compares numbers in events as the strings rules write', () => {
    const d = `selection:\n    ProcessId: '42'\n    EventID: 1\ncondition: selection`
    expect(fires(d, { ProcessId: 42 })).toBe(true)
  })

  it('applies contains, startswith and endswith', () => {
    expect(fires(`s:\n    Image|contains: 'temp'\ncondition: s`, { Image: 'C:\\TEMP\\a' })).toBe(
      true,
    )
    expect(fires(`s:\n    Image|startswith: 'C:\\'\ncondition: s`, { Image: 'D:\\a' })).toBe(false)
    expect(fires(`s:\n    Image|endswith: '.exe'\ncondition: s`, { Image: 'a.EXE' })).toBe(true)
  })

  it('ORs list values and ANDs them under all', () => {
    const or = `s:\n    CommandLine|contains:\n        - foo\n        - bar\ncondition: s`
    expect(fires(or, { CommandLine: 'bar only' })).toBe(true)
    const and = `s:\n    CommandLine|contains|all:\n        - foo\n        - bar\ncondition: s`
    expect(fires(and, { CommandLine: 'bar only' })).toBe(false)
    expect(fires(and, { CommandLine: 'bar and foo' })).toBe(true)
  })

  it('matches re case-sensitively unless the i sub-modifier is given', () => {
    expect(fires(`s:\n    CommandLine|re: 'ab+c'\ncondition: s`, { CommandLine: 'xABBC' })).toBe(
      false,
    )
    expect(fires(`s:\n    CommandLine|re|i: 'ab+c'\ncondition: s`, { CommandLine: 'xABBC' })).toBe(
      true,
    )
    expect(fires(`s:\n    CommandLine|re|m: '^b$'\ncondition: s`, { CommandLine: 'a\nb' })).toBe(
      true,
    )
    expect(fires(`s:\n    CommandLine|re|s: 'a.b'\ncondition: s`, { CommandLine: 'a\nb' })).toBe(
      true,
    )
    expect(fires(`s:\n    CommandLine|re: 'a.b'\ncondition: s`, { CommandLine: 'a\nb' })).toBe(
      false,
    )
  })

  it('encodes base64 and finds base64offset at every byte offset', () => {
    const b64 = Buffer.from('secret').toString('base64')
    expect(fires(`s:\n    CommandLine|base64: secret\ncondition: s`, { CommandLine: b64 })).toBe(
      true,
    )
    const d = `s:\n    CommandLine|base64offset|contains: 'http://'\ncondition: s`
    for (const prefix of ['', 'a', 'ab']) {
      const encoded = Buffer.from(`${prefix}http://evil`).toString('base64')
      expect(fires(d, { CommandLine: `-enc ${encoded}` })).toBe(true)
    }
    expect(fires(d, { CommandLine: Buffer.from('ftp://x').toString('base64') })).toBe(false)
  })

  it('encodes UTF-16 variants before base64', () => {
    const wide = Buffer.from(Buffer.from('cmd', 'utf16le')).toString('base64')
    const d = `s:\n    CommandLine|wide|base64offset|contains: cmd\ncondition: s`
    expect(fires(d, { CommandLine: wide })).toBe(true)
    const be = Buffer.from([0, 0x63, 0, 0x6d, 0, 0x64]).toString('base64')
    expect(
      fires(`s:\n    CommandLine|utf16be|base64: cmd\ncondition: s`, { CommandLine: be }),
    ).toBe(true)
    const bom = Buffer.from([0xff, 0xfe, 0x63, 0, 0x6d, 0, 0x64, 0]).toString('base64')
    expect(fires(`s:\n    CommandLine|utf16|base64: cmd\ncondition: s`, { CommandLine: bom })).toBe(
      true,
    )
  })

  it('lets windash match any dash or slash', () => {
    const d = `s:\n    CommandLine|windash|contains: ' -enc '\ncondition: s`
    for (const dash of ['-', '/', '\u2013', '\u2014', '\u2015']) {
      expect(fires(d, { CommandLine: `powershell ${dash}enc abc` })).toBe(true)
    }
    expect(fires(d, { CommandLine: 'powershell +enc abc' })).toBe(false)
  })

  it('matches IPv4 and IPv6 CIDR ranges', () => {
    const d =
      `s:\n    DestinationIp|cidr:\n        - 10.0.0.0/8\n        - 'fe80::/10'\n` + `condition: s`
    expect(fires(d, { DestinationIp: '10.20.30.40' })).toBe(true)
    expect(fires(d, { DestinationIp: '11.0.0.1' })).toBe(false)
    expect(fires(d, { DestinationIp: 'fe80::1' })).toBe(true)
    expect(fires(d, { DestinationIp: '2001:db8::1' })).toBe(false)
  })

  it('checks existence, including fields that are present but null', () => {
    const d = `s:\n    Hashes|exists: true\ncondition: s`
    expect(fires(d, { Hashes: null })).toBe(true)
    expect(fires(d, {})).toBe(false)
    expect(fires(`s:\n    Hashes|exists: false\ncondition: s`, {})).toBe(true)
  })

  it('matches null values when the field is absent or null', () => {
    const d = `s:\n    User: null\ncondition: s`
    expect(fires(d, {})).toBe(true)
    expect(fires(d, { User: 'x' })).toBe(false)
  })

  it('compares one field with another under fieldref', () => {
    const d = `s:\n    Image|fieldref: ParentImage\ncondition: s`
    expect(fires(d, { Image: 'a.exe', ParentImage: 'A.EXE' })).toBe(true)
    expect(fires(d, { Image: 'a.exe', ParentImage: 'b.exe' })).toBe(false)
  })

  it('compares numbers under gt, gte, lt and lte', () => {
    expect(fires(`s:\n    Size|gt: 10\ncondition: s`, { Size: 11 })).toBe(true)
    expect(fires(`s:\n    Size|gt: 10\ncondition: s`, { Size: '10' })).toBe(false)
    expect(fires(`s:\n    Size|gte: 10\ncondition: s`, { Size: '10' })).toBe(true)
    expect(fires(`s:\n    Size|lt: 10\ncondition: s`, { Size: 9 })).toBe(true)
    expect(fires(`s:\n    Size|lte: 10\ncondition: s`, { Size: 11 })).toBe(false)
  })

  it('matches only with exact case under cased', () => {
    const d = `s:\n    CommandLine|cased|contains: 'Invoke'\ncondition: s`
    expect(fires(d, { CommandLine: 'x Invoke y' })).toBe(true)
    expect(fires(d, { CommandLine: 'x invoke y' })).toBe(false)
  })

  it('negates the value test under neq', () => {
    const d = `s:\n    User|neq:\n        - alice\n        - bob\ncondition: s`
    expect(fires(d, { User: 'carol' })).toBe(true)
    expect(fires(d, { User: 'BOB' })).toBe(false)
  })

  it('expands placeholders from the options map', () => {
    const d = `s:\n    User|expand: '%Admins%'\ncondition: s`
    const placeholders = { Admins: ['root', 'adm_*'] }
    expect(fires(d, { User: 'adm_joe' }, { placeholders })).toBe(true)
    expect(fires(d, { User: 'joe' }, { placeholders })).toBe(false)
  })

  it('loads a rule whose placeholder has no value, matching nothing and saying which', () => {
    const set = ruleSetFrom(processRule(`s:\n    User|expand: '%Admins%'\ncondition: s`))
    expect(set.rules).toHaveLength(1)
    expect(set.rejections).toEqual([])
    expect(set.warnings[0]?.message).toMatch(/placeholder %Admins% has no value/)
  })

  it('extracts time parts from dates', () => {
    const d = `s:\n    UtcTime|hour: 3\ncondition: s`
    expect(fires(d, { UtcTime: '2025-01-01T03:15:00Z' })).toBe(true)
    expect(fires(d, { UtcTime: '2025-01-01T04:15:00Z' })).toBe(false)
  })

  it('searches keywords over every value of the event', () => {
    const d = `keywords:\n    - 'mimikatz'\n    - 'sekurlsa'\ncondition: keywords`
    expect(fires(d, { CommandLine: 'run SEKURLSA::logonpasswords' })).toBe(true)
    expect(fires(d, { CommandLine: 'notepad' })).toBe(false)
    const all = `keywords:\n    '|all':\n        - 'a1'\n        - 'b2'\ncondition: keywords`
    expect(fires(all, { X: 'a1', Y: 'b2' })).toBe(true)
    expect(fires(all, { X: 'a1' })).toBe(false)
  })

  it('rejects unknown modifiers and bad regular expressions with reasons', () => {
    const bad = ruleSetFrom(processRule(`s:\n    Image|sideways: x\ncondition: s`))
    expect(bad.rejections[0]?.message).toMatch(/unknown modifier "sideways"/)
    const re = ruleSetFrom(processRule(`s:\n    Image|re: '(unclosed'\ncondition: s`))
    expect(re.rejections[0]?.message).toMatch(/invalid regular expression/)
    const cidr = ruleSetFrom(processRule(`s:\n    Ip|cidr: 10.0.0.0/33\ncondition: s`))
    expect(cidr.rejections[0]?.message).toMatch(/not a CIDR range/)
  })
})
