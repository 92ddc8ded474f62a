import { describe, expect, it } from 'vitest'

import { parseCondition } from '../../../detectors/sigma/parse-condition.ts'
import { fires } from './helpers.ts'
import { rejectionOf } from './spec-helpers.ts'

/**
 * The condition grammar of the rules specification ("Condition"), with its own examples:
 * `keywords1 or keywords2`, `1 of them`, `all of selection*`, `1 of selection* and keywords`,
 * `1 of selection* and not 1 of filter*`, `keywords and not filters`,
 * `selection1 and (keywords1 or keywords2)`, and its precedence table.
 */

/** Search identifiers each matching one field: `name: {Name: '1'}` for every name given. */
function ids(...names: string[]): string {
  return names.map((n) => `${n}:\n    F_${n}: '1'`).join('\n')
}

/** Event data with `F_<name>: '1'` for every name given. */
function on(...names: string[]): Record<string, string> {
  return Object.fromEntries(names.map((n) => [`F_${n}`, '1']))
}

/** Whether the condition over identifiers `names` fires on an event matching `matched`. */
function holds(names: string[], condition: string, matched: string[]): boolean {
  return fires(`${ids(...names)}\ncondition: ${condition}`, on(...matched))
}

describe('logical operators (specification, "Condition")', () => {
  const names = ['keywords1', 'keywords2', 'filters', 'selection1']

  it('ORs with or: keywords1 or keywords2', () => {
    expect(holds(names, 'keywords1 or keywords2', ['keywords2'])).toBe(true)
    expect(holds(names, 'keywords1 or keywords2', ['filters'])).toBe(false)
  })

  it('ANDs with and', () => {
    expect(holds(names, 'keywords1 and keywords2', ['keywords1'])).toBe(false)
    expect(holds(names, 'keywords1 and keywords2', ['keywords1', 'keywords2'])).toBe(true)
  })

  it('negates with not: keywords1 and not filters', () => {
    expect(holds(names, 'keywords1 and not filters', ['keywords1'])).toBe(true)
    expect(holds(names, 'keywords1 and not filters', ['keywords1', 'filters'])).toBe(false)
    expect(holds(names, 'not filters', [])).toBe(true)
    expect(holds(names, 'not not filters', ['filters'])).toBe(true)
  })

  it('groups with brackets: selection1 and (keywords1 or keywords2)', () => {
    const c = 'selection1 and (keywords1 or keywords2)'
    expect(holds(names, c, ['selection1', 'keywords2'])).toBe(true)
    expect(holds(names, c, ['keywords1', 'keywords2'])).toBe(false)
    expect(holds(names, c, ['selection1'])).toBe(false)
  })

  it('nests brackets to any depth', () => {
    const c = '((keywords1 or (keywords2)) and not (filters or (selection1 and keywords2)))'
    expect(holds(names, c, ['keywords1'])).toBe(true)
    expect(holds(names, c, ['keywords2', 'selection1'])).toBe(false)
    expect(holds(names, c, ['keywords1', 'filters'])).toBe(false)
    expect(holds(names, '(((keywords1)))', ['keywords1'])).toBe(true)
  })

  it('needs no spaces around brackets', () => {
    expect(
      holds(names, 'selection1 and(keywords1 or keywords2)', ['selection1', 'keywords1']),
    ).toBe(true)
    expect(holds(names, 'not(filters)', [])).toBe(true)
  })

  it('takes identifiers with dashes, dots and digits', () => {
    expect(holds(['sel-1', 'sel.2', '3rd'], 'sel-1 and (sel.2 or 3rd)', ['sel-1', '3rd'])).toBe(
      true,
    )
  })

  it('ORs the conditions of a condition list', () => {
    const d = `${ids('a', 'b', 'c')}\ncondition:\n    - a and b\n    - c`
    expect(fires(d, on('c'))).toBe(true)
    expect(fires(d, on('a', 'b'))).toBe(true)
    expect(fires(d, on('a'))).toBe(false)
  })
})

describe('precedence (specification, "Operator Precedence": or < and < not < x of < ( ))', () => {
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
    expect(holds(['a', 'b', 'c'], 'a or b and c', ['a'])).toBe(true)
    expect(holds(['a', 'b', 'c'], 'a or b and c', ['b'])).toBe(false)
    expect(holds(['a', 'b', 'c'], 'a and b or c', ['c'])).toBe(true)
  })

  it('binds not tighter than and and or', () => {
    expect(parseCondition('not a and b')).toEqual({
      t: 'and',
      items: [
        { t: 'not', item: { t: 'id', name: 'a' } },
        { t: 'id', name: 'b' },
      ],
    })
    expect(holds(['a', 'b'], 'not a and b', ['b'])).toBe(true)
    expect(holds(['a', 'b'], 'not a and b', [])).toBe(false)
    expect(holds(['a', 'b'], 'not a or b', ['a', 'b'])).toBe(true)
    expect(holds(['a', 'b'], 'not a or b', ['a'])).toBe(false)
  })

  it('binds x of tighter than not: not 1 of sel_* is none of them', () => {
    expect(parseCondition('not 1 of sel_*')).toEqual({
      t: 'not',
      item: { t: 'of', all: false, pattern: 'sel_*' },
    })
    expect(holds(['sel_a', 'sel_b'], 'not 1 of sel_*', [])).toBe(true)
    expect(holds(['sel_a', 'sel_b'], 'not 1 of sel_*', ['sel_b'])).toBe(false)
    expect(holds(['sel_a', 'sel_b'], 'not all of sel_*', ['sel_b'])).toBe(true)
  })

  it('binds brackets tightest: not (a and b) differs from not a and b', () => {
    expect(holds(['a', 'b'], 'not (a and b)', ['a'])).toBe(true)
    expect(holds(['a', 'b'], 'not a and b', ['a'])).toBe(false)
    expect(holds(['a', 'b', 'c'], '(a or b) and c', ['a'])).toBe(false)
  })

  it('reads the operators in any case', () => {
    // Ambiguity: the specification writes the operators in lower case and says nothing of
    // others; Palisade reads AND, Or and NOT as the operators, so no identifier can be named
    // like one.
    expect(holds(['a', 'b'], 'a AND NOT b', ['a'])).toBe(true)
    expect(holds(['a', 'b'], 'a Or b', ['b'])).toBe(true)
  })
})

describe('x of (specification, "1/all of them" and "1/all of search-identifier-pattern")', () => {
  const names = ['selection_a', 'selection_b', 'keywords', 'filter_x', 'filter_y', '_hidden']

  it('1 of them is any identifier not starting with _', () => {
    expect(holds(names, '1 of them', ['keywords'])).toBe(true)
    expect(holds(names, '1 of them', ['_hidden'])).toBe(false)
    expect(holds(names, '1 of them', [])).toBe(false)
  })

  it('all of them is every identifier not starting with _', () => {
    const visible = names.filter((n) => !n.startsWith('_'))
    expect(holds(names, 'all of them', visible)).toBe(true)
    expect(holds(names, 'all of them', visible.slice(1))).toBe(false)
  })

  it('all of selection* needs every matching identifier', () => {
    expect(holds(names, 'all of selection*', ['selection_a', 'selection_b'])).toBe(true)
    expect(holds(names, 'all of selection*', ['selection_a', 'keywords'])).toBe(false)
  })

  it('1 of selection* and keywords', () => {
    expect(holds(names, '1 of selection* and keywords', ['selection_b', 'keywords'])).toBe(true)
    expect(holds(names, '1 of selection* and keywords', ['selection_b'])).toBe(false)
  })

  it('1 of selection* and not 1 of filter*', () => {
    const c = '1 of selection* and not 1 of filter*'
    expect(holds(names, c, ['selection_a'])).toBe(true)
    expect(holds(names, c, ['selection_a', 'filter_y'])).toBe(false)
  })

  it('puts the * of a pattern anywhere, and matches the whole name', () => {
    expect(holds(names, '1 of *_x', ['filter_x'])).toBe(true)
    expect(holds(names, '1 of s*n_*', ['selection_b'])).toBe(true)
    expect(holds(names, 'all of *ion_*', ['selection_a', 'selection_b'])).toBe(true)
    // Spec: matching "with * wildcards"; a pattern without one names one identifier, fully.
    expect(holds(names, '1 of keywords', ['keywords'])).toBe(true)
    expect(rejectionOf(`${ids(...names)}\ncondition: 1 of select`)).toMatch(
      /"1 of select" matches no search identifier/,
    )
  })

  it('takes ? and other characters in a pattern literally', () => {
    expect(rejectionOf(`${ids('sel_a')}\ncondition: 1 of sel_?`)).toMatch(
      /matches no search identifier/,
    )
    expect(holds(['sel.a', 'selXa'], '1 of sel.*', ['selXa'])).toBe(false)
  })

  it('leaves identifiers starting with _ out of patterns too', () => {
    // Spec: a pattern is "same as 1/all of them, but restricted to matching search
    // identifiers", so the underscore convention holds for patterns as well (as in pySigma);
    // an identifier starting with _ is used by naming it.
    expect(holds(['sel', '_sel2'], 'all of *sel*', ['sel'])).toBe(true)
    expect(holds(['sel', '_sel2'], 'sel and not _sel2', ['sel', '_sel2'])).toBe(false)
    expect(rejectionOf(`${ids('sel', '_f')}\ncondition: sel and not 1 of _f*`)).toMatch(
      /"1 of _f\*" matches no search identifier \(identifiers starting with _ are left out\)/,
    )
  })

  it('reads any of as 1 of', () => {
    // Ambiguity: the specification names "1 of" and "all of"; pySigma, its reference
    // implementation, also takes "any of" for "1 of", and so does Palisade.
    expect(holds(names, 'any of selection*', ['selection_b'])).toBe(true)
    expect(holds(names, 'any of them', [])).toBe(false)
  })

  it('links each identifier inside x of with its own map AND and list OR', () => {
    const d =
      `sel_map:\n    A: '1'\n    B: '1'\nsel_list:\n    - C: '1'\n    - D: '1'\n` +
      `condition: 1 of sel_*`
    expect(fires(d, { A: '1' })).toBe(false)
    expect(fires(d, { A: '1', B: '1' })).toBe(true)
    expect(fires(d, { D: '1' })).toBe(true)
  })
})

describe('conditions that cannot run', () => {
  const one = `sel:\n    F: '1'`

  it('rejects an unknown identifier, naming it and the defined ones', () => {
    expect(rejectionOf(`${one}\nfilter:\n    G: '1'\ncondition: sel and not filtr`)).toMatch(
      /condition "sel and not filtr" names "filtr", which is not defined \(defined: sel, filter\)/,
    )
  })

  it('rejects an identifier in the wrong case: identifiers are case-sensitive', () => {
    expect(rejectionOf(`${one}\ncondition: Sel`)).toMatch(/names "Sel", which is not defined/)
  })

  it('rejects a pattern or them that matches nothing, naming the defined identifiers', () => {
    expect(rejectionOf(`${one}\ncondition: sel and not 1 of filter*`)).toMatch(
      new RegExp(
        'condition "sel and not 1 of filter\\*": "1 of filter\\*" ' +
          'matches no search identifier \\(defined: sel\\)',
      ),
    )
    expect(rejectionOf(`_a:\n    F: '1'\ncondition: 1 of them`)).toMatch(
      /"1 of them" matches no search identifier \(identifiers starting with _ are left out\)/,
    )
  })

  it('rejects quantities other than 1, any and all', () => {
    expect(rejectionOf(`${one}\ncondition: 2 of sel*`)).toMatch(
      /condition "2 of sel\*": expected 1, any or all before "of", got "2"/,
    )
  })

  it('rejects syntax errors, saying what was expected and what came', () => {
    const cases: [string, RegExp][] = [
      ['sel and', /expected a search identifier, got the end/],
      ['sel or or sel', /expected a search identifier, got "or"/],
      ['(sel', /expected "\)", got the end/],
      ['sel)', /expected "and", "or" or the end, got "\)"/],
      ['sel sel', /expected "and", "or" or the end, got "sel"/],
      ['()', /expected a search identifier, got "\)"/],
      ['1 of', /expected "them" or a search-identifier pattern after "of", got the end/],
      ['not', /expected a search identifier, got the end/],
    ]
    for (const [condition, reason] of cases) {
      expect(rejectionOf(`${one}\ncondition: '${condition}'`), condition).toMatch(reason)
    }
    expect(rejectionOf(`${one}\ncondition: ''`)).toMatch(/expected a search identifier/)
  })

  it('rejects the deprecated aggregation syntax, pointing to correlation rules', () => {
    expect(rejectionOf(`${one}\ncondition: sel | count() > 5`)).toMatch(/correlation rule/)
  })

  it('rejects a condition that is not a string or list of strings, saying what came', () => {
    expect(rejectionOf(`${one}\ncondition: 5`)).toMatch(
      /condition must be a string or a list of strings, got a number/,
    )
    expect(rejectionOf(`${one}\ncondition: []`)).toMatch(
      /condition must be a string or a list of strings, got an empty list/,
    )
  })
})
