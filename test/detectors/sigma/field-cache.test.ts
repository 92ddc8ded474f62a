import { describe, expect, it } from 'vitest'

import { FieldCache } from '../../../detectors/sigma/field-cache.ts'
import type { PalisadeEvent } from '../../../platform/event-model.ts'
import { processRule, ruleSetFrom, sysmon } from './helpers.ts'

describe('FieldCache', () => {
  it('reads a field once per event and again after next()', () => {
    let reads = 0
    const get = (e: PalisadeEvent) => {
      reads++
      return e.winlog?.event_data?.['Image']
    }
    const cache = new FieldCache()
    const slot = cache.slot(get)
    expect(cache.slot(get)).toBe(slot)

    const event = sysmon(1, { Image: 'C:\\X.EXE' })
    expect(slot.read(event).folded()).toBe('c:\\x.exe')
    expect(slot.read(event).text).toBe('C:\\X.EXE')
    expect(reads).toBe(1)

    event.winlog!.event_data!['Image'] = 'D:\\Y.EXE'
    cache.next()
    expect(slot.read(event).folded()).toBe('d:\\y.exe')
    expect(reads).toBe(2)
  })
})

describe('rule sets sharing field values between rules', () => {
  const rules = [
    processRule(`s:\n    Image|endswith: '\\cmd.exe'\ncondition: s`),
    processRule(`s:\n    Image|contains: '\\System32\\'\ncondition: s`).replace(
      '11111111-1111-4111-8111-111111111111',
      '22222222-2222-4222-8222-222222222222',
    ),
  ].join('---\n')

  it('gives each rule its own answer on a shared field', () => {
    const set = ruleSetFrom(rules)
    const ids = (data: Record<string, unknown>) => set.evaluate(sysmon(1, data)).map((r) => r.id)
    expect(ids({ Image: 'C:\\Windows\\System32\\cmd.exe' })).toHaveLength(2)
    expect(ids({ Image: 'C:\\Windows\\cmd.exe' })).toEqual(['11111111-1111-4111-8111-111111111111'])
    expect(ids({ Image: 'C:\\Windows\\System32\\calc.exe' })).toEqual([
      '22222222-2222-4222-8222-222222222222',
    ])
  })

  it('sees a change to the same event object between evaluations', () => {
    const set = ruleSetFrom(rules)
    const event = sysmon(1, { Image: 'C:\\Windows\\System32\\cmd.exe' })
    expect(set.evaluate(event)).toHaveLength(2)
    event.winlog!.event_data!['Image'] = 'C:\\Tools\\calc.exe'
    expect(set.evaluate(event)).toHaveLength(0)
  })

  it('tests every element of an array value', () => {
    const set = ruleSetFrom(rules)
    expect(set.evaluate(sysmon(1, { Image: ['a.exe', 'C:\\X\\CMD.EXE'] }))).toHaveLength(1)
  })
})
