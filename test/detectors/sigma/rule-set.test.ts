import { describe, expect, it } from 'vitest'

import { parseRuleText } from '../../../detectors/sigma/load-rules.ts'
import { compileRuleSet } from '../../../detectors/sigma/rule-set.ts'
import type { PalisadeEvent } from '../../../platform/event-model.ts'
import { processRule, ruleSetFrom, sysmon } from './helpers.ts'

const cmdRule = processRule(`s:\n    Image|endswith: '\\cmd.exe'\ncondition: s`)

describe('logsource routing and field mapping', () => {
  it('runs process_creation rules on Sysmon event 1 and not on other Sysmon events', () => {
    const set = ruleSetFrom(cmdRule)
    expect(set.evaluate(sysmon(1, { Image: 'C:\\x\\cmd.exe' }))).toHaveLength(1)
    expect(set.evaluate(sysmon(11, { Image: 'C:\\x\\cmd.exe' }))).toHaveLength(0)
  })

  it('maps Security 4688 field names onto the Sysmon names rules use', () => {
    const event = sysmon(4688, { NewProcessName: 'C:\\x\\cmd.exe' })
    event.winlog!.channel = 'Security'
    expect(ruleSetFrom(cmdRule).evaluate(event)).toHaveLength(1)
  })

  it('resolves System fields, spaced EventData names and dotted ECS paths', () => {
    const rule = `title: t
id: 22222222-2222-4222-8222-222222222222
logsource: {product: windows, service: windefend}
detection:
    s:
        EventID: 1119
        Computer: ws1
        ThreatName|endswith: EICAR
        host.name: ws1
    condition: s
`
    const event = sysmon(1119, { 'Threat Name': 'Virus:DOS/EICAR' })
    event.winlog!.channel = 'Microsoft-Windows-Windows Defender/Operational'
    expect(ruleSetFrom(rule).evaluate(event)).toHaveLength(1)
  })

  it('routes linux sshd rules to syslog events from sshd and keeps unrouted rules quiet', () => {
    const rules = `title: ssh
id: 33333333-3333-4333-8333-333333333333
logsource: {product: linux, service: sshd}
detection:
    s: {event.outcome: failure}
    condition: s
---
title: unrouted
id: 44444444-4444-4444-8444-444444444444
logsource: {product: nothing-we-know}
detection:
    s: {event.outcome: failure}
    condition: s
`
    const set = ruleSetFrom(rules)
    const event: PalisadeEvent = {
      id: '00000000-0000-4000-8000-00000000aaaa',
      '@timestamp': '2025-01-01T00:00:00Z',
      event: { dataset: 'sshd', outcome: 'failure', category: ['authentication'] },
      log: { syslog: { appname: 'sshd' } },
    }
    expect(set.evaluate(event).map((r) => r.id)).toEqual(['33333333-3333-4333-8333-333333333333'])
    expect(set.rules.find((r) => r.id.startsWith('4444'))?.routed).toBe(false)
  })

  it('runs the keyword rules of every list an event goes through, checked once for all', () => {
    const keywordRule = (id: string, logsource: string, word: string) =>
      `title: '${word}'\nid: ${id}\nlogsource: ${logsource}\n` +
      `detection:\n    keywords:\n        - '${word}'\n    condition: keywords\n`
    const set = ruleSetFrom(
      [
        keywordRule('55555555-5555-4555-8555-555555555551', '{product: windows}', 'sekurlsa::'),
        keywordRule(
          '55555555-5555-4555-8555-555555555552',
          '{product: windows, category: process_creation}',
          '\\perfc.dat',
        ),
        cmdRule,
      ].join('---\n'),
    )
    const titles = (data: Record<string, unknown>, eventId = 1) =>
      set.evaluate(sysmon(eventId, data)).map((r) => r.title)
    expect(titles({ Image: 'C:\\x\\a.exe', CommandLine: 'a' })).toEqual([])
    expect(titles({ CommandLine: 'x SEKURLSA::logonpasswords' })).toEqual(['sekurlsa::'])
    expect(titles({ TargetFilename: 'C:\\Windows\\perfc.dat' })).toEqual(['\\perfc.dat'])
    // The event's own kind of rules first, then the Windows-wide ones.
    expect(titles({ CommandLine: 'sekurlsa:: C:\\perfc.dat', Image: 'C:\\cmd.exe' })).toEqual([
      '\\perfc.dat',
      't',
      'sekurlsa::',
    ])
    // The process-creation keyword is not looked for in a file event; the Windows-wide one is.
    expect(titles({ TargetFilename: 'C:\\perfc.dat sekurlsa::' }, 11)).toEqual(['sekurlsa::'])
  })

  it('keeps routing right past thousands of distinct channels', () => {
    const set = ruleSetFrom(cmdRule)
    for (let i = 0; i < 5000; i++) {
      const event = sysmon(1, { Image: 'C:\\x\\cmd.exe' })
      event.winlog!.channel = `made-up-${i}`
      expect(set.evaluate(event)).toHaveLength(0)
    }
    expect(set.evaluate(sysmon(1, { Image: 'C:\\x\\cmd.exe' }))).toHaveLength(1)
  })

  it('makes deterministic single-event alerts about the main actor', () => {
    const set = ruleSetFrom(cmdRule)
    const event = sysmon(1, { Image: 'C:\\x\\cmd.exe' })
    const [a] = set.alertsFor(event, set.evaluate(event))
    const [b] = set.alertsFor(event, set.evaluate(event))
    expect(a?.id).toBe(b?.id)
    expect(a?.entity).toEqual({ kind: 'host.name', value: 'ws1' })
    expect(a?.event_ids).toEqual([event.id])
  })

  it('applies global filters to the rules they name', () => {
    const text = `${cmdRule}---
title: not for admins
id: 55555555-5555-4555-8555-555555555555
logsource: {product: windows, category: process_creation}
filter:
    rules: [11111111-1111-4111-8111-111111111111]
    selection: {User|startswith: adm_}
    condition: not selection
`
    const set = ruleSetFrom(text)
    expect(set.evaluate(sysmon(1, { Image: 'C:\\x\\cmd.exe', User: 'adm_x' }))).toHaveLength(0)
    expect(set.evaluate(sysmon(1, { Image: 'C:\\x\\cmd.exe', User: 'joe' }))).toHaveLength(1)
  })
})

describe('loading rules', () => {
  it('reports bad documents with file, line and reason and keeps loading the rest', () => {
    const text = `${cmdRule}---
title: no detection
id: 66666666-6666-4666-8666-666666666666
logsource: {product: windows}
---
[not, a, map]
`
    const { documents, rejections } = parseRuleText(text, 'f.yml')
    expect(documents).toHaveLength(1)
    expect(rejections).toEqual([
      expect.objectContaining({
        file: 'f.yml',
        line: 10,
        message: expect.stringMatching(/detection/),
      }),
      expect.objectContaining({ file: 'f.yml', line: 14, message: expect.stringMatching(/map/) }),
    ])
  })

  it('merges action: global documents into the rules that follow', () => {
    const text = `action: global
title: shared
logsource: {product: windows, category: process_creation}
detection:
    condition: s
---
id: 77777777-7777-4777-8777-777777777777
detection:
    s: {Image: a.exe}
---
id: 88888888-8888-4888-8888-888888888888
detection:
    s: {Image: b.exe}
`
    const set = compileRuleSet(parseRuleText(text, 'c.yml').documents)
    expect(set.evaluate(sysmon(1, { Image: 'b.exe' })).map((r) => r.id)).toEqual([
      '88888888-8888-4888-8888-888888888888',
    ])
  })

  it('gives a rule a stable version that changes with its content', () => {
    const a = parseRuleText(cmdRule, 'x.yml').documents[0]!
    const b = parseRuleText(cmdRule, 'y.yml').documents[0]!
    const c = parseRuleText(cmdRule.replace('cmd.exe', 'pwsh.exe'), 'x.yml').documents[0]!
    expect(a.version).toMatch(/^[0-9a-f]{16}$/)
    expect(a.version).toBe(b.version)
    expect(a.version).not.toBe(c.version)
  })
})
