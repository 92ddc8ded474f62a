import { describe, expect, it } from 'vitest'

import { compileDetection } from '../../../detectors/sigma/compile-detection.ts'
import { FieldCache } from '../../../detectors/sigma/field-cache.ts'
import { fieldResolver } from '../../../detectors/sigma/field-resolver.ts'
import { parseRuleText } from '../../../detectors/sigma/load-rules.ts'
import { needOf, needsOf } from '../../../detectors/sigma/rule-needs.ts'
import { compileRuleSet } from '../../../detectors/sigma/rule-set.ts'
import { fires, processRule, sysmon } from './helpers.ts'

function compiled(detection: string) {
  const { documents } = parseRuleText(processRule(detection), 'test.yml')
  const doc = documents[0]
  if (doc?.kind !== 'detection') throw new Error('expected a detection rule')
  const resolve = fieldResolver('windows')
  return compileDetection(doc.detection, resolve, { cache: new FieldCache() })
}

/** The probes a detection block needs first, as `kind:value` strings. */
function needs(detection: string): string[] | undefined {
  return needOf(compiled(detection))?.map((p) => `${p.kind}:${p.value}`)
}

/** Every need a detection block has, best first, each as `kind:value` strings. */
function allNeeds(detection: string): string[][] {
  return needsOf(compiled(detection)).map((need) => need.map((p) => `${p.kind}:${p.value}`))
}

const netRule = `img:
    - Image|endswith:
          - '\\net.exe'
          - '\\NET1.exe'
    - OriginalFileName: 'net.exe'
cli:
    CommandLine|contains: ' share '
condition: img and cli`

describe('what rules need of an event', () => {
  it('needs the program name of an Image|endswith list or an exact OriginalFileName', () => {
    expect(needs(netRule)).toEqual(['basename:net.exe', 'basename:net1.exe', 'lower:net.exe'])
  })

  it('needs the longest literal of any other pattern, as folded text the field contains', () => {
    expect(needs(`s:\n    Image|endswith: '.EXE'\ncondition: s`)).toEqual(['substring:.exe'])
    expect(needs(`s:\n    Image|contains: '\\net.exe'\ncondition: s`)).toEqual([
      'substring:\\net.exe',
    ])
    const wild = `s:\n    CommandLine: '*Invoke-*Mimikatz*'\ncondition: s`
    expect(needs(wild)).toEqual(['substring:mimikatz'])
    const either =
      `a:\n    Image|endswith: '\\net.exe'\nb:\n    CommandLine|contains: x\n` + `condition: a or b`
    expect(needs(either)).toEqual(['basename:net.exe', 'substring:x'])
  })

  it('prefers program names to a short substring, and a long substring to many names', () => {
    const short =
      `a:\n    Image|endswith: '\\net.exe'\nb:\n    CommandLine|contains: ' /c'\n` +
      `condition: a and b`
    expect(needs(short)).toEqual(['basename:net.exe'])
    const names = Array.from({ length: 4 }, (_, i) => `        - '\\tool${i}.exe'`).join('\n')
    const long =
      `a:\n    Image|endswith:\n${names}\nb:\n    CommandLine|contains: ' share '\n` +
      `condition: a and b`
    expect(needs(long)).toEqual(['substring: share '])
  })

  it('prefers one of three long texts to one short one that most command lines hold', () => {
    // After SigmaHQ's Formbook rule, which a sum of counts ranked the other way round.
    const formbook =
      `dirs:\n    CommandLine|contains:\n        - '\\AppData\\Local\\Temp\\'\n` +
      `        - '\\Desktop\\'\n        - 'type nul >'\nexe:\n    CommandLine|endswith: '.exe'\n` +
      `condition: exe and dirs`
    expect(needs(formbook)).toEqual([
      'substring:\\appdata\\local\\temp\\',
      'substring:\\desktop\\',
      'substring:type nul >',
    ])
  })

  it('needs nothing for no literal, a negation, or an or with a side that needs nothing', () => {
    expect(needs(`s:\n    Image|endswith: '\\net.exe'\ncondition: not s`)).toBeUndefined()
    expect(needs(`s:\n    Image|neq: 'net.exe'\ncondition: s`)).toBeUndefined()
    expect(needs(`s:\n    Image|re: '^(net|cmd)\\d+$'\ncondition: s`)).toBeUndefined()
    expect(needs(`s:\n    Image: '*'\ncondition: s`)).toBeUndefined()
    const either =
      `a:\n    Image|endswith: '\\net.exe'\nb:\n    CommandLine|re: '\\d+'\n` + `condition: a or b`
    expect(needs(either)).toBeUndefined()
  })

  it('needs the literal every match of a regular expression holds', () => {
    expect(needs(`s:\n    CommandLine|re: 'ipconfig\\s+/ALL'\ncondition: s`)).toEqual([
      'substring:ipconfig',
    ])
    expect(needs(`s:\n    CommandLine|re: '\\w.\\d'\ncondition: s`)).toBeUndefined()
  })

  it('needs even a one-character literal of a regular expression, which few texts may hold', () => {
    // After SigmaHQ's PowerShell token obfuscation: no match without a backtick or `-f`.
    const tokens =
      "s:\n    - CommandLine|re: '\\w+`(?:\\w+|-|.)`[\\w+|\\s]'\n" +
      '    - CommandLine|re: \'"(?:\\{\\d\\})+"\\s*-f\'\ncondition: s'
    expect(needs(tokens)).toEqual(['substring:`', 'substring:-f'])
    expect(needs(`s:\n    CommandLine|re: 'a.b'\ncondition: s`)).toEqual(['substring:a'])
  })

  it('needs text outside ASCII for a value whose literals are all outside it', () => {
    const accented = `s:\n    CommandLine|contains: 'ünïcödé'\ncondition: s`
    expect(needs(accented)).toEqual(['nonascii:'])
    expect(
      fires(`s:\n    CommandLine|contains: 'ÜNÏ'\ncondition: s`, { CommandLine: 'x ünï' }),
    ).toBe(true)
    expect(
      fires(`s:\n    CommandLine|contains: 'ünï'\ncondition: s`, { CommandLine: 'x uni' }),
    ).toBe(false)
  })

  it('prefers an ASCII literal to text outside ASCII', () => {
    expect(needs(`s:\n    CommandLine: '*ab*ünïcödé*'\ncondition: s`)).toEqual(['substring:ab'])
  })

  it('needs one need of each side of an or, and another of each side as its second need', () => {
    const either =
      `a:\n    Image|endswith: '\\cmd.exe'\n    ParentCommandLine|contains: 'run_command_'\n` +
      `b:\n    Image|endswith: '\\agent1.exe'\ncondition: a or b`
    expect(allNeeds(either)).toEqual([
      ['basename:cmd.exe', 'basename:agent1.exe'],
      ['substring:run_command_', 'basename:agent1.exe'],
    ])
    // So cmd.exe alone, which most process events of a busy host are, does not run the rule.
    const cmd = 'C:\\Windows\\System32\\cmd.exe'
    expect(fires(either, { Image: cmd, ParentCommandLine: 'x' })).toBe(false)
    expect(fires(either, { Image: cmd, ParentCommandLine: 'C:\\Run_Command_1.ps1' })).toBe(true)
    expect(fires(either, { Image: 'C:\\x\\AGENT1.EXE' })).toBe(true)
  })

  it('needs any one value under all', () => {
    const all =
      `s:\n    Image|endswith|all:\n        - '\\a\\net.exe'\n        - 'net.exe'\n` +
      `condition: s`
    expect(needs(all)).toEqual(['basename:net.exe'])
  })
})

describe('rule sets skipping rules by what they need', () => {
  const data = (image: unknown, extra: Record<string, unknown> = {}) => ({
    Image: image,
    CommandLine: 'net share x /delete',
    ...extra,
  })

  it('still runs the rule when a probe holds, whatever the case', () => {
    expect(fires(netRule, data('C:\\Windows\\System32\\NET.EXE'))).toBe(true)
    expect(fires(netRule, data('C:\\Windows\\System32\\Net1.exe'))).toBe(true)
    expect(fires(netRule, data('C:\\x\\renamed.exe', { OriginalFileName: 'NET.EXE' }))).toBe(true)
  })

  it('runs an exact-value rule on text whose lower case is longer than itself', () => {
    // 'İ' (U+0130) lowers to 'i' and a combining dot: two UTF-16 units for one.
    const rule = `s:\n    OriginalFileName: 'İNET.EXE'\ncondition: s`
    expect(fires(rule, { OriginalFileName: 'İNET.EXE' })).toBe(true)
    expect(fires(rule, { OriginalFileName: 'INET.EXE' })).toBe(false)
    expect(fires(rule, { OriginalFileName: 'İNET.EX' })).toBe(false)
  })

  it('skips the rule when no probe holds', () => {
    expect(fires(netRule, data('C:\\Windows\\System32\\cmd.exe'))).toBe(false)
    expect(fires(netRule, data('C:\\x\\net.exe.bak'))).toBe(false)
    expect(fires(netRule, data(undefined))).toBe(false)
  })

  it('runs the rule on any array value, whose elements are tested one by one', () => {
    expect(fires(netRule, data(['a.exe', 'C:\\x\\net.exe']))).toBe(true)
    expect(fires(netRule, data(['a.exe', 'b.exe']))).toBe(false)
  })

  it('keeps the order of matched rules', () => {
    const rule = (id: string, detection: string) =>
      processRule(detection).replace('11111111-1111-4111-8111-111111111111', id)
    const text = [
      rule(
        '00000000-0000-4000-8000-000000000001',
        `s:\n    CommandLine|contains: share\ncondition: s`,
      ),
      rule('00000000-0000-4000-8000-000000000002', netRule),
      rule('00000000-0000-4000-8000-000000000003', `s:\n    Image|endswith: net.exe\ncondition: s`),
    ].join('---\n')
    const { documents } = parseRuleText(text, 'test.yml')
    expect(documents).toHaveLength(3)
    const set = compileRuleSet(documents)
    const ids = set.evaluate(sysmon(1, data('C:\\x\\net.exe'))).map((r) => r.id.slice(-1))
    expect(ids).toEqual(['1', '2', '3'])
  })
})
