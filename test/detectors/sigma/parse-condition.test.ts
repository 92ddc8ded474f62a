import { describe, expect, it } from 'vitest'

import { parseCondition } from '../../../detectors/sigma/parse-condition.ts'
import { fires, processRule, ruleSetFrom } from './helpers.ts'

const ids = `a:\n    A: '1'\nb:\n    B: '1'\nc:\n    C: '1'\n`

describe('Sigma conditions', () => {
  it('binds and tighter than or', () => {
    expect(parseCondition('a or b and c')).toEqual({
      t: 'or',
      items: [
        { t: 'id', name: 'a' },
        {
          t: 'and',
          items: [
            { t: 'id', name: 'b' },
            { t: 'id', name: 'c' },
          ],
        },
      ],
    })
    expect(fires(`${ids}condition: a or b and c`, { A: '1' })).toBe(true)
    expect(fires(`${ids}condition: a or b and c`, { B: '1' })).toBe(false)
  })

  it('binds not tighter than and, and parentheses tightest', () => {
    expect(fires(`${ids}condition: not a and b`, { B: '1' })).toBe(true)
    expect(fires(`${ids}condition: not a and b`, { A: '1', B: '1' })).toBe(false)
    expect(fires(`${ids}condition: not (a and b)`, { A: '1' })).toBe(true)
    expect(fires(`${ids}condition: (a or b) and c`, { A: '1' })).toBe(false)
  })

  it('binds x of tighter than not', () => {
    const d = `sel_a:\n    A: '1'\nsel_b:\n    B: '1'\ncondition: not 1 of sel_*`
    expect(fires(d, { C: '1' })).toBe(true)
    expect(fires(d, { B: '1' })).toBe(false)
  })

  it('evaluates 1 of and all of over patterns and them', () => {
    const d = `sel_a:\n    A: '1'\nsel_b:\n    B: '1'\n_hidden:\n    H: '1'\n`
    expect(fires(`${d}condition: all of sel_*`, { A: '1' })).toBe(false)
    expect(fires(`${d}condition: all of sel_*`, { A: '1', B: '1' })).toBe(true)
    expect(fires(`${d}condition: 1 of them`, { H: '1' })).toBe(false)
    expect(fires(`${d}condition: all of them`, { A: '1', B: '1' })).toBe(true)
  })

  it('ORs a list of conditions', () => {
    expect(fires(`${ids}condition:\n    - a\n    - b`, { B: '1' })).toBe(true)
  })

  it('ANDs map entries and ORs list-of-map entries', () => {
    const map = `s:\n    A: '1'\n    B: '1'\ncondition: s`
    expect(fires(map, { A: '1' })).toBe(false)
    const list = `s:\n    - A: '1'\n    - B: '1'\ncondition: s`
    expect(fires(list, { B: '1' })).toBe(true)
  })

  it('rejects conditions naming undefined identifiers, bad syntax and aggregations', () => {
    const reasons = ['a and nope', 'a and', 'a | count() > 5', '1 of x*'].map(
      (c) => ruleSetFrom(processRule(`a:\n    A: '1'\ncondition: ${c}`)).rejections[0]?.message,
    )
    expect(reasons[0]).toMatch(/"nope", which is not defined/)
    expect(reasons[1]).toMatch(/expected a search identifier/)
    expect(reasons[2]).toMatch(/correlation rule/)
    expect(reasons[3]).toMatch(/matches no search identifier/)
  })
})
