/**
 * The Sigma condition language (rules specification, "Condition"): `and`, `or`, `not`,
 * parentheses, `1 of pattern`, `all of pattern`, `1 of them`, `all of them` (and `any of`, as
 * pySigma reads it). Operators are read in any case. Precedence from
 * least to most binding: or, and, not, `x of`, parentheses.
 */

export type ConditionNode =
  | { t: 'id'; name: string }
  | { t: 'and'; items: ConditionNode[] }
  | { t: 'or'; items: ConditionNode[] }
  | { t: 'not'; item: ConditionNode }
  /** `1 of x*` / `all of them`; `pattern` is undefined for `them`. */
  | { t: 'of'; all: boolean; pattern?: string }

/** A condition that cannot be parsed; the message says what was expected and where. */
export class ConditionSyntaxError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConditionSyntaxError'
  }
}

const tokenPattern = /\(|\)|[^\s()]+/g

/**
 * Parses one condition string into a tree.
 *
 * @throws ConditionSyntaxError on anything the grammar does not allow, including the
 *   deprecated aggregation syntax (`| count() > 5`), which correlation rules replace.
 */
export function parseCondition(text: string): ConditionNode {
  if (text.includes('|')) {
    throw new ConditionSyntaxError(
      'aggregation in a condition (" | count() ...") is deprecated Sigma; use a correlation rule',
    )
  }
  const tokens = text.match(tokenPattern) ?? []
  let pos = 0

  const peek = (): string | undefined => tokens[pos]
  const lower = (): string | undefined => tokens[pos]?.toLowerCase()
  const fail = (expected: string): never => {
    const got = tokens[pos] === undefined ? 'the end' : `"${tokens[pos]}"`
    throw new ConditionSyntaxError(`condition "${text}": expected ${expected}, got ${got}`)
  }

  const parseOr = (): ConditionNode => {
    const items = [parseAnd()]
    while (lower() === 'or') {
      pos++
      items.push(parseAnd())
    }
    return items.length === 1 ? items[0]! : { t: 'or', items }
  }

  const parseAnd = (): ConditionNode => {
    const items = [parseNot()]
    while (lower() === 'and') {
      pos++
      items.push(parseNot())
    }
    return items.length === 1 ? items[0]! : { t: 'and', items }
  }

  const parseNot = (): ConditionNode => {
    if (lower() === 'not') {
      pos++
      return { t: 'not', item: parseNot() }
    }
    return parseAtom()
  }

  const parseAtom = (): ConditionNode => {
    const token = peek()
    if (token === undefined) return fail('a search identifier')
    if (token === '(') {
      pos++
      const inner = parseOr()
      if (peek() !== ')') fail('")"')
      pos++
      return inner
    }
    const word = token.toLowerCase()
    const quantified = tokens[pos + 1]?.toLowerCase() === 'of'
    // The specification names `1 of` and `all of`; pySigma, its reference implementation,
    // also reads `any of` as `1 of`, and rules written for it may use that.
    if (quantified && word !== '1' && word !== 'any' && word !== 'all') {
      return fail('1, any or all before "of"')
    }
    if (quantified) {
      pos += 2
      const target = peek()
      if (target === undefined || target === '(' || target === ')') {
        return fail('"them" or a search-identifier pattern after "of"')
      }
      pos++
      const all = word === 'all'
      return target.toLowerCase() === 'them' ? { t: 'of', all } : { t: 'of', all, pattern: target }
    }
    if (['and', 'or', 'not', 'of', ')'].includes(word)) return fail('a search identifier')
    pos++
    return { t: 'id', name: token }
  }

  const tree = parseOr()
  if (pos < tokens.length) fail('"and", "or" or the end')
  return tree
}
