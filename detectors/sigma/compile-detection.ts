import {
  compileFieldEntry,
  RuleCompileError,
  type EventPredicate,
  type FieldResolver,
  type ValueOptions,
} from './compile-value.ts'
import { isRecord } from './load-rules.ts'
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
    identifiers.set(name, compileIdentifier(name, value, resolve, options))
  }

  const raw = detection['condition']
  const conditions = Array.isArray(raw) ? raw : [raw]
  if (conditions.length === 0 || !conditions.every((c) => typeof c === 'string')) {
    throw new RuleCompileError('condition must be a string or a list of strings')
  }
  const compiled = conditions.map((text) => {
    let tree: ConditionNode
    try {
      tree = parseCondition(text)
    } catch (err) {
      if (err instanceof ConditionSyntaxError) throw new RuleCompileError(err.message)
      throw err
    }
    return compileNode(tree, identifiers)
  })
  return anyOf(compiled)
}

function compileIdentifier(
  name: string,
  value: unknown,
  resolve: FieldResolver,
  options: ValueOptions,
): EventPredicate {
  const where = (err: unknown): never => {
    if (err instanceof RuleCompileError) {
      throw new RuleCompileError(`detection.${name}: ${err.message}`)
    }
    throw err
  }
  try {
    if (isRecord(value)) return compileMap(value, resolve, options)
    if (Array.isArray(value)) {
      if (value.length === 0) throw new RuleCompileError('empty list')
      const keywords = value.filter((v) => !isRecord(v))
      const maps = value.filter(isRecord).map((m) => compileMap(m, resolve, options))
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
  return allOf(entries.map(([key, value]) => compileFieldEntry(key, value, resolve, options)))
}

function compileNode(node: ConditionNode, ids: Map<string, EventPredicate>): EventPredicate {
  switch (node.t) {
    case 'id': {
      const p = ids.get(node.name)
      if (!p) throw new RuleCompileError(`condition names "${node.name}", which is not defined`)
      return p
    }
    case 'and':
      return allOf(node.items.map((n) => compileNode(n, ids)))
    case 'or':
      return anyOf(node.items.map((n) => compileNode(n, ids)))
    case 'not': {
      const p = compileNode(node.item, ids)
      return (e) => !p(e)
    }
    case 'of': {
      const matched = matchIdentifiers(node.pattern, [...ids.keys()])
      if (matched.length === 0) {
        throw new RuleCompileError(`"${node.pattern ?? 'them'}" matches no search identifier`)
      }
      const ps = matched.map((n) => ids.get(n)!)
      return node.all ? allOf(ps) : anyOf(ps)
    }
  }
}

/** `them` is every identifier not starting with `_`; a pattern uses `*` wildcards. */
function matchIdentifiers(pattern: string | undefined, names: string[]): string[] {
  if (pattern === undefined) return names.filter((n) => !n.startsWith('_'))
  const source = pattern
    .split('*')
    .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*')
  const re = new RegExp(`^${source}$`)
  return names.filter((n) => re.test(n))
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
