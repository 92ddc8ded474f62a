import { describe, expect, it } from 'vitest'

import type { PalisadeEvent } from '../../../platform/event-model.ts'
import { fires, processRule, ruleSetFrom, sysmon } from './helpers.ts'
import {
  entryFires as hit,
  messageFires,
  rejectionOf,
  securityFires,
  selection,
} from './spec-helpers.ts'

/**
 * Values, wildcards, escapes, special values, lists and maps, as the rules specification's
 * "Detection" section defines them, with its own examples. Values are written with
 * `String.raw` in single-quoted YAML: what the test shows is the Sigma value.
 */

describe('string wildcards (specification, "String Wildcard")', () => {
  it('? replaces one mandatory character: prog?.exe', () => {
    const entry = `Image: 'prog?.exe'`
    expect(hit(entry, { Image: 'progA.exe' })).toBe(true)
    expect(hit(entry, { Image: 'progB.exe' })).toBe(true)
    expect(hit(entry, { Image: 'prog.exe' })).toBe(false)
    expect(hit(entry, { Image: 'progAB.exe' })).toBe(false)
  })

  it('? replaces one character even outside the Basic Multilingual Plane', () => {
    // Spec: "a single mandatory character"; an emoji is one character in two UTF-16 units.
    expect(hit(`Image: 'prog?.exe'`, { Image: 'prog😀.exe' })).toBe(true)
    expect(hit(`Image: 'prog??.exe'`, { Image: 'prog😀.exe' })).toBe(false)
    expect(hit(`Image|contains: 'a?c'`, { Image: 'xÄa😀cx' })).toBe(true)
    expect(hit(`Image|cased: '*A?C'`, { Image: 'ßA𝒳C' })).toBe(true)
  })

  it('* replaces any length, none included: antivirus_V*.exe', () => {
    const entry = `Image: 'antivirus_V*.exe'`
    expect(hit(entry, { Image: 'antivirus_V1.exe' })).toBe(true)
    expect(hit(entry, { Image: 'antivirus_V21.2.1.exe' })).toBe(true)
    expect(hit(entry, { Image: 'antivirus_V.exe' })).toBe(true)
    expect(hit(entry, { Image: 'antivirus_V1.exe.bak' })).toBe(false)
  })

  it('*something, something* and *something* are endswith, startswith and contains', () => {
    const values = ['something', 'xsomething', 'somethingx', 'xsomethingx', 'some thing']
    const pairs: [string, string][] = [
      [`F: '*something'`, `F|endswith: 'something'`],
      [`F: 'something*'`, `F|startswith: 'something'`],
      [`F: '*something*'`, `F|contains: 'something'`],
    ]
    for (const [wildcard, modifier] of pairs) {
      for (const F of values) expect(hit(wildcard, { F }), F).toBe(hit(modifier, { F }))
    }
  })

  it('matches a whole value without wildcards, never a part of it', () => {
    expect(hit(`Image: 'cmd.exe'`, { Image: 'cmd.exe' })).toBe(true)
    expect(hit(`Image: 'cmd.exe'`, { Image: 'xcmd.exe' })).toBe(false)
    expect(hit(`Image: 'cmd.exe'`, { Image: 'cmd.exex' })).toBe(false)
  })

  it('* alone matches any value, the empty one too, but not a missing field', () => {
    expect(hit(`F: '*'`, { F: 'x' })).toBe(true)
    expect(hit(`F: '*'`, { F: '' })).toBe(true)
    expect(hit(`F: '*'`, {})).toBe(false)
  })
})

describe('escapes (specification, "Escape Character")', () => {
  it('takes a plain backslash as \\ or \\\\, as the example rule writes whoami.exe', () => {
    const path = 'C:\\Windows\\System32\\whoami.exe'
    expect(hit(String.raw`Image: 'C:\Windows\System32\whoami.exe'`, { Image: path })).toBe(true)
    expect(hit(String.raw`Image: 'C:\\Windows\\System32\\whoami.exe'`, { Image: path })).toBe(true)
  })

  it('matches \\* and \\? as the plain characters', () => {
    expect(hit(String.raw`F: 'what\*'`, { F: 'what*' })).toBe(true)
    expect(hit(String.raw`F: 'what\*'`, { F: 'whatever' })).toBe(false)
    expect(hit(String.raw`F: 'what\?'`, { F: 'what?' })).toBe(true)
    expect(hit(String.raw`F: 'what\?'`, { F: 'whatX' })).toBe(false)
  })

  it('reads \\\\* as a backslash followed by a wildcard', () => {
    expect(hit(String.raw`F: 'C:\\*'`, { F: 'C:\\Users\\x' })).toBe(true)
    expect(hit(String.raw`F: 'C:\\*'`, { F: 'C:\\' })).toBe(true)
    expect(hit(String.raw`F: 'C:\\*'`, { F: 'C:x' })).toBe(false)
  })

  it('reads \\\\\\* as a plain backslash and a plain star', () => {
    expect(hit(String.raw`F: 'C:\\\*'`, { F: 'C:\\*' })).toBe(true)
    expect(hit(String.raw`F: 'C:\\\*'`, { F: 'C:\\x' })).toBe(false)
  })

  it('reads three or four backslashes as a plain double backslash', () => {
    for (const written of [String.raw`'\\server\\\\share'`, String.raw`'\\server\\\share'`]) {
      expect(hit(`F: ${written}`, { F: '\\server\\\\share' }), written).toBe(true)
      expect(hit(`F: ${written}`, { F: '\\server\\share' }), written).toBe(false)
    }
  })

  it('keeps a lone backslash, at the end too', () => {
    expect(hit(String.raw`F: 'C:\Temp\'`, { F: 'C:\\Temp\\' })).toBe(true)
    expect(hit(String.raw`F: 'a\b'`, { F: 'a\\b' })).toBe(true)
  })

  it('keeps wildcards inside contains, and an escaped backslash ending a startswith value', () => {
    expect(hit(`F|contains: 'a*b'`, { F: 'xx a then b xx' })).toBe(true)
    expect(hit(`F|contains: 'a*b'`, { F: 'b then a' })).toBe(false)
    expect(hit(String.raw`F|startswith: 'C:\Windows\\'`, { F: 'C:\\Windows\\x' })).toBe(true)
    expect(hit(String.raw`F|startswith: 'C:\Windows\\'`, { F: 'C:\\WindowsX' })).toBe(false)
  })

  it('keeps escapes next to modifiers: contains with a value ending in \\\\', () => {
    const entry = String.raw`F|contains: '\Temp\\'`
    expect(hit(entry, { F: 'C:\\Temp\\x.exe' })).toBe(true)
    expect(hit(entry, { F: 'C:\\Tempx' })).toBe(false)
    // The list-of-maps example writes '\\example.exe': a backslash, then example.exe.
    expect(hit(String.raw`Image|endswith: '\\example.exe'`, { Image: 'C:\\example.exe' })).toBe(
      true,
    )
    expect(hit(String.raw`Image|endswith: '\\example.exe'`, { Image: 'myexample.exe' })).toBe(false)
    expect(hit(String.raw`F|startswith: 'a\*'`, { F: 'a*b' })).toBe(true)
    expect(hit(String.raw`F|startswith: 'a\*'`, { F: 'abc' })).toBe(false)
    expect(hit(String.raw`F|endswith: '\?'`, { F: 'why?' })).toBe(true)
    expect(hit(String.raw`F|endswith: '\?'`, { F: 'whyX' })).toBe(false)
  })
})

describe('case (specification, "General": values are case-insensitive strings)', () => {
  it('matches any case by default, in exact, contains, startswith, endswith and wildcards', () => {
    expect(hit(`F: 'EVILSERVICE'`, { F: 'EvilService' })).toBe(true)
    expect(hit(`F|contains: 'EVIL'`, { F: 'an evil one' })).toBe(true)
    expect(hit(`F|startswith: 'evil'`, { F: 'EVILSERVICE' })).toBe(true)
    expect(hit(`F|endswith: 'Service'`, { F: 'EVILSERVICE' })).toBe(true)
    expect(hit(`F: 'e?il*'`, { F: 'EVILSERVICE' })).toBe(true)
  })

  it('matches non-ASCII letters in any case too', () => {
    expect(hit(`F: 'ПРИВЕТ'`, { F: 'привет' })).toBe(true)
    expect(hit(`F|contains: 'ÄRGER'`, { F: 'großer ärger' })).toBe(true)
    expect(hit(`F|startswith: 'σίσυφ'`, { F: 'ΣΊΣΥΦΟΣ' })).toBe(true)
    expect(hit(`F|endswith: 'ÉTÉ'`, { F: 'un été' })).toBe(true)
    expect(hit(`F: 'straße*'`, { F: 'STRAßE 1' })).toBe(true)
    expect(hit(`F|contains: 'ä'`, { F: 'a' })).toBe(false)
  })
})

describe('special field values (specification, "Special Field Values")', () => {
  const events: [string, Record<string, unknown>][] = [
    ['null', { F: null }],
    ['empty', { F: '' }],
    ['absent', {}],
    ['a value', { F: 'x' }],
  ]
  const rules: [string, string, boolean[]][] = [
    // rule, its Sigma text, and whether it fires on: null, empty, absent, a value
    ['F: null', `F: null`, [true, false, true, false]],
    ["F: ''", `F: ''`, [false, true, false, false]],
    ['F|exists: true', `F|exists: true`, [true, true, false, true]],
    ['F|exists: false', `F|exists: false`, [false, false, true, false]],
  ]

  for (const [name, entry, want] of rules) {
    it(`${name} fires on ${events
      .filter((_, i) => want[i])
      .map(([n]) => n)
      .join(' and ')}`, () => {
      events.forEach(([event, data], i) => expect(hit(entry, data), event).toBe(want[i]))
    })
  }

  it('makes not null a negated selection, as the PasswordLastSet example does', () => {
    const d = `sel:\n    F: 'x'\nfilter:\n    PasswordLastSet: null\ncondition: sel and not filter`
    expect(fires(d, { F: 'x', PasswordLastSet: '2025-01-01' })).toBe(true)
    expect(fires(d, { F: 'x', PasswordLastSet: '' })).toBe(true)
    expect(fires(d, { F: 'x', PasswordLastSet: null })).toBe(false)
    expect(fires(d, { F: 'x' })).toBe(false)
  })

  it('runs the valid example: FieldB empty or null in their own selections', () => {
    const d = [
      `selection_main:\n    FieldA: 'something'`,
      `selection_empty1:\n    FieldB: ''`,
      `selection_empty2:\n    FieldB: null`,
      `condition: selection_main and 1 of selection_empty*`,
    ].join('\n')
    expect(fires(d, { FieldA: 'something', FieldB: '' })).toBe(true)
    expect(fires(d, { FieldA: 'something', FieldB: null })).toBe(true)
    expect(fires(d, { FieldA: 'something' })).toBe(true)
    expect(fires(d, { FieldA: 'something', FieldB: 'x' })).toBe(false)
  })

  it('rejects the invalid example: null in a list of values', () => {
    const d = `selection_main:\n    FieldA: 'something'\n    FieldB:\n        - ''\n        - null`
    expect(rejectionOf(`${d}\ncondition: selection_main`)).toMatch(
      /detection\.selection_main: "FieldB": null cannot be part of a list of values/,
    )
  })
})

describe('numbers and strings (specification, "Maps": a string or integer value)', () => {
  it('matches an integer against the number or its text', () => {
    expect(securityFires(selection(`EventID: 4769`), 4769, {})).toBe(true)
    expect(hit(`ProcessId: 42`, { ProcessId: 42 })).toBe(true)
    expect(hit(`ProcessId: 42`, { ProcessId: '42' })).toBe(true)
    expect(hit(`ProcessId: '42'`, { ProcessId: 42 })).toBe(true)
    expect(hit(`ProcessId: 42`, { ProcessId: 420 })).toBe(false)
    expect(hit(`ProcessId: '4*'`, { ProcessId: 420 })).toBe(true)
  })

  it("matches the example's quoted '0x40810000' and '0x17' as text, in any case", () => {
    const d = selection(
      `EventLog: Security\nEventID: 4769\nTicketOptions: '0x40810000'\nTicketEncryption: '0x17'`,
    )
    const data = { EventLog: 'Security', TicketOptions: '0x40810000', TicketEncryption: '0X17' }
    expect(securityFires(d, 4769, data)).toBe(true)
    expect(securityFires(d, 4769, { ...data, TicketEncryption: '0x12' })).toBe(false)
    expect(securityFires(d, 4768, data)).toBe(false)
  })

  it('reads an unquoted 0x17 as the YAML integer 23, which is why the example quotes it', () => {
    expect(hit(`TicketEncryption: 0x17`, { TicketEncryption: 23 })).toBe(true)
    expect(hit(`TicketEncryption: 0x17`, { TicketEncryption: '0x17' })).toBe(false)
  })

  it('compares booleans and decimals by their text', () => {
    expect(hit(`Signed: true`, { Signed: true })).toBe(true)
    expect(hit(`Signed: true`, { Signed: 'TRUE' })).toBe(true)
    expect(hit(`Signed: false`, { Signed: true })).toBe(false)
    expect(hit(`Ratio: 1.5`, { Ratio: 1.5 })).toBe(true)
  })
})

describe('maps and lists (specification, "Lists" and "Maps")', () => {
  it("ANDs a map's entries and ORs a list of values: Security and (517 or 1102)", () => {
    const d = selection(`EventLog: Security\nEventID:\n    - 517\n    - 1102`)
    expect(securityFires(d, 517, { EventLog: 'Security' })).toBe(true)
    expect(securityFires(d, 1102, { EventLog: 'Security' })).toBe(true)
    expect(securityFires(d, 1100, { EventLog: 'Security' })).toBe(false)
    expect(securityFires(d, 517, { EventLog: 'System' })).toBe(false)
  })

  it('ORs a list of maps: \\example.exe or a Test executable description', () => {
    const d = [
      `selection:`,
      String.raw`    - Image|endswith: '\\example.exe'`,
      `    - Description|contains: 'Test executable'`,
      `condition: selection`,
    ].join('\n')
    expect(fires(d, { Image: 'C:\\x\\example.exe' })).toBe(true)
    expect(fires(d, { Description: 'a Test executable' })).toBe(true)
    expect(fires(d, { Image: 'C:\\x\\other.exe', Description: 'other' })).toBe(false)
  })

  it('ANDs within each map of a list and ORs the maps', () => {
    const d = `sel:\n    - A: '1'\n      B: '1'\n    - C: '1'\ncondition: sel`
    expect(fires(d, { A: '1', B: '1' })).toBe(true)
    expect(fires(d, { A: '1' })).toBe(false)
    expect(fires(d, { C: '1' })).toBe(true)
  })

  it('ORs strings and maps in one list', () => {
    const d = `sel:\n    - 'needle'\n    - A: '1'\ncondition: sel`
    expect(fires(d, { X: 'hay needle hay' })).toBe(true)
    expect(fires(d, { A: '1' })).toBe(true)
    expect(fires(d, { A: '2' })).toBe(false)
  })

  it('rejects a map or list where a value belongs, and an empty list, saying where', () => {
    expect(rejectionOf(selection(`F:\n    G: 'x'`))).toMatch(
      /detection\.sel: "F" values must be strings, numbers or null, got a map or list/,
    )
    expect(rejectionOf(selection(`F: []`))).toMatch(/detection\.sel: "F" has an empty list/)
    expect(rejectionOf(`sel: []\ncondition: sel`)).toMatch(/detection\.sel: empty list/)
    expect(rejectionOf(`sel: {}\ncondition: sel`)).toMatch(/detection\.sel: empty map/)
    expect(rejectionOf(`sel: null\ncondition: sel`)).toMatch(
      /detection\.sel: expected a map or a list, got null/,
    )
  })
})

describe('keywords (specification, "Lists" and "Keywords search")', () => {
  it("ORs a list of strings over the whole event: 'EVILSERVICE' or 'svchost.exe -n evil'", () => {
    const d = `keywords:\n    - 'EVILSERVICE'\n    - 'svchost.exe -n evil'\ncondition: keywords`
    expect(messageFires(d, 'Service EvilService installed')).toBe(true)
    expect(messageFires(d, 'started C:\\svchost.exe -n evil now')).toBe(true)
    expect(messageFires(d, 'nothing', { ServiceName: 'evilservice' })).toBe(true)
    expect(messageFires(d, 'nothing', { ServiceName: 'goodservice' })).toBe(false)
  })

  it('matches event::clear or event::drop, the mimikatz example', () => {
    const d =
      `mimikatz_keywords:\n    - 'event::clear'\n    - 'event::drop'\n` +
      `condition: mimikatz_keywords`
    expect(messageFires(d, 'mimikatz # event::drop')).toBe(true)
    expect(messageFires(d, 'mimikatz # event::list')).toBe(false)
  })

  it("ANDs keywords under '|all': OabVirtualDirectory and -ExternalUrl", () => {
    const d =
      `keywords_cmdlet:\n    '|all':\n        - 'OabVirtualDirectory'\n` +
      `        - ' -ExternalUrl '\ncondition: keywords_cmdlet`
    expect(messageFires(d, 'Set-OabVirtualDirectory -ExternalUrl http://x')).toBe(true)
    expect(messageFires(d, 'Set-OabVirtualDirectory', { Cmd: 'x -ExternalUrl y' })).toBe(true)
    expect(messageFires(d, 'Set-OabVirtualDirectory -InternalUrl http://x')).toBe(false)
  })

  it('searches numbers and nested values, but not the id Palisade gave the event', () => {
    const d = `keywords:\n    - '4242'\ncondition: keywords`
    expect(messageFires(d, 'x', { Pid: 4242 })).toBe(true)
    expect(messageFires(d, 'x', { Nested: { deep: ['a', 'pid 4242'] } })).toBe(true)
    const id = `keywords:\n    - '00000000-0000-4000-8000'\ncondition: keywords`
    expect(messageFires(id, 'x')).toBe(false)
  })

  it('reads a Windows event as its source wrote it, not the ECS fields Palisade derives', () => {
    const d = `keywords:\n    - 'process-created'\n    - 'Ingested2025'\ncondition: keywords`
    const ecs = { action: 'process-created', ingested: 'Ingested2025' }
    const event = sysmon(1, { Image: 'C:\\x\\a.exe' })
    event.event = ecs
    expect(ruleSetFrom(processRule(d)).evaluate(event)).toHaveLength(0)
    expect(messageFires(d, 'x', { Note: 'process-created' })).toBe(true)
    // An event from another source is searched whole.
    const line =
      `title: t\nid: 66666666-6666-4666-8666-666666666666\n` +
      `logsource: {product: linux}\ndetection:\n    keywords:\n        - 'process-created'\n` +
      `    condition: keywords\n`
    const syslog: PalisadeEvent = {
      id: '00000000-0000-4000-8000-00000000bbbb',
      '@timestamp': '2025-01-01T00:00:00Z',
      event: ecs,
      log: { syslog: { appname: 'x' } },
    }
    expect(ruleSetFrom(line).evaluate(syslog)).toHaveLength(1)
  })

  it('honours wildcards and modifiers in keywords', () => {
    expect(messageFires(`kw:\n    - 'evil*.exe'\ncondition: kw`, 'ran EVIL64.EXE')).toBe(true)
    expect(messageFires(`kw:\n    '|cased':\n        - 'Evil'\ncondition: kw`, 'evil')).toBe(false)
    expect(messageFires(`kw:\n    '|re': 'ev[io]l'\ncondition: kw`, 'an evol')).toBe(true)
  })

  it('rejects null as a keyword', () => {
    expect(rejectionOf(`kw:\n    - 'a'\n    - null\ncondition: kw`)).toMatch(
      /keywords must be strings or numbers, got null/,
    )
  })
})
