import { describe, expect, it } from 'vitest'

import { parseRuleText } from '../../../detectors/sigma/load-rules.ts'
import { compileRuleSet } from '../../../detectors/sigma/rule-set.ts'
import { ruleSetFrom, sysmon } from './helpers.ts'

/**
 * Global filters (filters specification v2.1.0), with its example: "Filter Administrator
 * account", which suppresses two rules' matches for users starting with adm_. A filter's
 * condition is ANDed into the rules it names as written, as pySigma does, so the example's
 * exclusion is written `condition: not selection` here.
 */

const rar = '6f3e2987-db24-4c78-a860-b4f4095a7095'
const jump = 'df0841c0-9846-4e9f-ad8a-7df91571771b'
const other = '0e95725d-7320-415d-80f7-004da920fc11'

function rule(id: string, title: string, image: string, name?: string): string {
  return `title: ${title}
id: ${id}
${name ? `name: ${name}\n` : ''}logsource:
    category: process_creation
    product: windows
detection:
    selection:
        Image|endswith: '${image}'
    condition: selection
`
}

const rules = [
  rule(rar, 'Data Compressed - rar.exe', '\\rar.exe'),
  rule(jump, 'Login on jump host', '\\mstsc.exe'),
  rule(other, 'Not filtered', '\\rar.exe'),
].join('---\n')

const example = `title: Filter Administrator account
description: The valid administrator account start with adm_
logsource:
    category: process_creation
    product: windows
filter:
    rules:
        - ${rar} # Data Compressed - rar.exe
        - ${jump} # Login on jump host
    selection:
        User|startswith: 'adm_'
    condition: not selection
`

function matched(text: string, data: Record<string, unknown>): string[] {
  return ruleSetFrom(text)
    .evaluate(sysmon(1, data))
    .map((r) => r.id)
    .sort()
}

describe('global filters (filters specification, "Global filter")', () => {
  it('suppresses the listed rules when the filter selection matches, as in the example', () => {
    const text = `${rules}---\n${example}`
    const admin = { Image: 'C:\\Tools\\rar.exe', User: 'ADM_jane' }
    expect(matched(text, admin)).toEqual([other])
    expect(matched(text, { Image: 'C:\\Windows\\mstsc.exe', User: 'adm_joe' })).toEqual([])
  })

  it('leaves the listed rules alone when the filter selection does not match', () => {
    const text = `${rules}---\n${example}`
    expect(matched(text, { Image: 'C:\\Tools\\rar.exe', User: 'jane' })).toEqual([other, rar])
    expect(matched(text, { Image: 'C:\\Tools\\rar.exe' })).toEqual([other, rar])
  })

  it('excludes the events condition: not selection matches and keeps the rest', () => {
    const text = `${rules}---\n${example}`
    const events = [
      { Image: 'C:\\Tools\\rar.exe', User: 'adm_jane' },
      { Image: 'C:\\Tools\\rar.exe', User: 'jane' },
      { Image: 'C:\\Tools\\rar.exe', User: 'bob_adm_' },
    ]
    expect(events.map((e) => matched(text, e).includes(rar))).toEqual([false, true, true])
  })

  it('ANDs a filter condition as written, as pySigma does, so condition: selection narrows', () => {
    const keepOnly = example.replace('condition: not selection', 'condition: selection')
    const text = `${rules}---\n${keepOnly}`
    expect(matched(text, { Image: 'C:\\Tools\\rar.exe', User: 'adm_jane' })).toEqual([other, rar])
    expect(matched(text, { Image: 'C:\\Tools\\rar.exe', User: 'jane' })).toEqual([other])
  })

  it('names rules by id or by name', () => {
    const named = [rule(rar, 'rar', '\\rar.exe', 'rar_compression'), rule(other, 'o', '\\x.exe')]
    const filter = example.replace(`- ${rar} # Data Compressed - rar.exe`, '- rar_compression')
    const text =
      `${named.join('---\n')}---\n` +
      `${filter.replace(`        - ${jump} # Login on jump host\n`, '')}`
    expect(matched(text, { Image: 'C:\\rar.exe', User: 'adm_x' })).toEqual([])
    expect(matched(text, { Image: 'C:\\rar.exe', User: 'x' })).toEqual([rar])
  })

  it('takes a full condition over several filter selections', () => {
    const filter = example.replace(
      "    selection:\n        User|startswith: 'adm_'\n    condition: not selection\n",
      "    selection:\n        User|startswith: 'adm_'\n    unless:\n" +
        "        CommandLine|contains: ' -hp'\n    condition: not (selection and not unless)\n",
    )
    const text = `${rules}---\n${filter}`
    const base = { Image: 'C:\\rar.exe', User: 'adm_x' }
    expect(matched(text, base)).toEqual([other])
    expect(matched(text, { ...base, CommandLine: 'rar a -hpSecret x.rar' })).toEqual([other, rar])
  })

  it('changes the version of the rules it applies to, and only theirs', () => {
    const plain = compileRuleSet(parseRuleText(rules, 'r.yml').documents)
    const filtered = compileRuleSet(parseRuleText(`${rules}---\n${example}`, 'r.yml').documents)
    const version = (set: typeof plain, id: string) => set.rules.find((r) => r.id === id)!.version
    expect(version(filtered, rar)).not.toBe(version(plain, rar))
    expect(version(filtered, other)).toBe(version(plain, other))
  })

  it('rejects a filter naming a rule that is not loaded, saying which', () => {
    const set = compileRuleSet(
      parseRuleText(`${rules}---\n${example.replace(jump, 'nope')}`, 'r.yml').documents,
    )
    expect(set.rejections.map((r) => r.message)).toEqual([
      'filter names rules that are not loaded: nope',
    ])
  })
})
