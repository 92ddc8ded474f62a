import {
  compileFieldEntry,
  RuleCompileError,
  type EventPredicate,
  type FieldResolver,
  type ValueOptions,
} from './compile-value.ts'
import { isRecord, lineIn } from './load-rules.ts'
import { parseCondition, ConditionSyntaxError, type ConditionNode } from './parse-condition.ts'
import { needOfAll, needOfAny, withNeed } from './rule-needs.ts'

/**
 * Compiles a Sigma `detection` block (search identifiers plus condition) into one predicate.
 * Maps are AND, lists are OR, a list of plain values is a keyword search; a condition list
 * is OR (rules specification, "Detection" and "Condition").
 *
 * @throws RuleCompileError with the reason the block cannot run
 */
export function compileDetection(
  detection: Record<string, unknown>,
  resolve: FieldResolver,
  options: ValueOptions = {},
): EventPredicate {
  const identifiers = new Map<string, EventPredicate>()
  for (const [name, value] of Object.entries(detection)) {
    if (name === 'condition' || name === 'timeframe') continue
    try {
      identifiers.set(name, compileIdentifier(name, value, resolve, options))
    } catch (err) {
      throw located(err, detection, name)
    }
  }

  const raw = detection['condition']
  const conditions = Array.isArray(raw) ? raw : [raw]
  const bad = conditions.find((c) => typeof c !== 'string')
  if (conditions.length === 0 || bad !== undefined) {
    const got = conditions.length === 0 ? 'an empty list' : describe(bad)
    const err = new RuleCompileError(`condition must be a string or a list of strings, got ${got}`)
    throw located(err, detection, 'condition')
  }
  const compiled = conditions.map((text: string, i) => {
    try {
      let tree: ConditionNode
      try {
        tree = parseCondition(text)
      } catch (err) {
        if (err instanceof ConditionSyntaxError) throw new RuleCompileError(err.message)
        throw err
      }
      return compileNode(tree, identifiers, text)
    } catch (err) {
      throw located(err, detection, 'condition', Array.isArray(raw) ? i : undefined)
    }
  })
  return anyOf(compiled)
}

/**
 * Gives a compile error the path and line of what it is about: the innermost part of the
 * detection block the loader knows the line of (a field key, a list item, an identifier).
 */
function located(
  err: unknown,
  detection: Record<string, unknown>,
  ...outer: (string | number | undefined)[]
): unknown {
  if (!(err instanceof RuleCompileError)) return err
  const path = [...outer.filter((p) => p !== undefined), ...err.path]
  err.path = path
  for (let n = path.length; n > 0 && err.line === undefined; n--) {
    err.line = lineIn(detection, path.slice(0, n))
  }
  return err
}

function compileIdentifier(
  name: string,
  value: unknown,
  resolve: FieldResolver,
  options: ValueOptions,
): EventPredicate {
  const where = (err: unknown): never => {
    if (err instanceof RuleCompileError) {
      const named = new RuleCompileError(`detection.${name}: ${err.message}`)
      named.path = err.path
      throw named
    }
    throw err
  }
  try {
    if (isRecord(value)) return compileMap(value, resolve, options)
    if (Array.isArray(value)) {
      if (value.length === 0) throw new RuleCompileError('empty list')
      const keywords = value.filter((v) => !isRecord(v))
      const maps: EventPredicate[] = []
      value.forEach((m, i) => {
        if (!isRecord(m)) return
        try {
          maps.push(compileMap(m, resolve, options))
        } catch (err) {
          if (err instanceof RuleCompileError) err.path.unshift(i)
          throw err
        }
      })
      if (keywords.length > 0) maps.push(compileFieldEntry('', keywords, resolve, options))
      return anyOf(maps)
    }
    if (typeof value === 'string' || typeof value === 'number') {
      return compileFieldEntry('', [value], resolve, options)
    }
    throw new RuleCompileError(
      `expected a map or a list, got ${value === null ? 'null' : typeof value}`,
    )
  } catch (err) {
    return where(err)
  }
}

function compileMap(
  map: Record<string, unknown>,
  resolve: FieldResolver,
  options: ValueOptions,
): EventPredicate {
  const entries = Object.entries(map)
  if (entries.length === 0) throw new RuleCompileError('empty map')
  return allOf(
    entries.map(([key, value]) => {
      try {
        return compileFieldEntry(key, value, resolve, options)
      } catch (err) {
        if (err instanceof RuleCompileError) err.path.unshift(key)
        throw err
      }
    }),
  )
}

function compileNode(
  node: ConditionNode,
  ids: Map<string, EventPredicate>,
  text: string,
): EventPredicate {
  const defined = (): string => `defined: ${[...ids.keys()].join(', ') || 'none'}`
  switch (node.t) {
    case 'id': {
      const p = ids.get(node.name)
      if (!p) {
        throw new RuleCompileError(
          `condition "${text}" names "${node.name}", which is not defined (${defined()})`,
        )
      }
      return p
    }
    case 'and':
      return allOf(node.items.map((n) => compileNode(n, ids, text)))
    case 'or':
      return anyOf(node.items.map((n) => compileNode(n, ids, text)))
    case 'not': {
      const p = compileNode(node.item, ids, text)
      return (e) => !p(e)
    }
    case 'of': {
      const names = [...ids.keys()]
      const matched = matchIdentifiers(node.pattern, names)
      // Spec ("Condition"): `them` leaves out identifiers starting with `_`, and a pattern is
      // "same as 1/all of them, but restricted to matching search identifiers", so patterns
      // leave them out too (as pySigma does). A pattern matching nothing is refused rather
      // than read as false: it is almost always a misspelt name, and would change the rule.
      if (matched.length === 0) {
        const hidden = matchIdentifiers(node.pattern, names, true).length > 0
        const why = hidden ? 'identifiers starting with _ are left out' : defined()
        const selector = `${node.all ? 'all' : '1'} of ${node.pattern ?? 'them'}`
        throw new RuleCompileError(
          `condition "${text}": "${selector}" matches no search identifier (${why})`,
        )
      }
      const ps = matched.map((n) => ids.get(n)!)
      return node.all ? allOf(ps) : anyOf(ps)
    }
  }
}

/** Identifiers `them` or a `*` pattern stands for; those starting with `_` unless `hidden`. */
function matchIdentifiers(pattern: string | undefined, names: string[], hidden = false): string[] {
  const visible = hidden ? names : names.filter((n) => !n.startsWith('_'))
  if (pattern === undefined) return visible
  const source = pattern
    .split('*')
    .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*')
  const re = new RegExp(`^${source}$`)
  return visible.filter((n) => re.test(n))
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a map'
  return `a ${typeof value}`
}

/** AND of predicates; what it needs of an event is what any one of them needs. */
export function allOf(ps: EventPredicate[]): EventPredicate {
  if (ps.length === 1) return ps[0]!
  return withNeed(and(ps), needOfAll(ps))
}

/** OR of predicates; it needs something only when each of them does. */
export function anyOf(ps: EventPredicate[]): EventPredicate {
  if (ps.length === 1) return ps[0]!
  return withNeed(or(ps), needOfAny(ps))
}

function and(ps: EventPredicate[]): EventPredicate {
  if (ps.length === 2) {
    const [a, b] = ps as [EventPredicate, EventPredicate]
    return (e) => a(e) && b(e)
  }
  return (e) => {
    for (let i = 0; i < ps.length; i++) if (!ps[i]!(e)) return false
    return true
  }
}

function or(ps: EventPredicate[]): EventPredicate {
  if (ps.length === 2) {
    const [a, b] = ps as [EventPredicate, EventPredicate]
    return (e) => a(e) || b(e)
  }
  return (e) => {
    for (let i = 0; i < ps.length; i++) if (ps[i]!(e)) return true
    return false
  }
}
