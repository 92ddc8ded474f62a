import { compileDetection } from './compile-detection.ts'
import { compileSqlFieldEntry, lowerEquals, type SqlValueContext } from './compile-sql-value.ts'
import type { ValueOptions } from './compile-value.ts'
import { fieldResolver } from './field-resolver.ts'
import { isRecord } from './load-rules.ts'
import { builtinMapping, type SigmaMapping } from './load-mappings.ts'
import { findRoute, type LogsourceRoute, type RouteVariant } from './logsource-routes.ts'
import { parseCondition, type ConditionNode } from './parse-condition.ts'
import { placeholderNames } from './placeholder-names.ts'
import type { DetectionRule, FilterRule } from './sigma-rule.ts'
import { sqlFieldResolver } from './sql-field-resolver.ts'
import { SqlParams, type SqlColumns } from './sql-params.ts'

/**
 * The SQL back end for Sigma detection rules: a rule becomes one ClickHouse boolean
 * expression over the events table, true exactly on the stored events the stream's rule set
 * (`rule-set.ts`) matches, with the same routes, field mapping, filters and placeholders.
 * Rule values are bound as query parameters (`sql-params.ts`). A rule the SQL back end cannot
 * run with the stream's meaning is refused with the reason (`SqlUnsupportedError`), never
 * approximated.
 */

export interface SqlRuleOptions {
  /** Routes and placeholder values; defaults to the built-in mapping, as the stream's. */
  mapping?: SigmaMapping
  /** Placeholder values over the mapping's. */
  placeholders?: Readonly<Record<string, readonly string[]>>
  /** Logsource routes, instead of the mapping's. */
  routes?: readonly LogsourceRoute[]
  /** The filters that name this rule; their conditions are ANDed in, as the stream does. */
  filters?: readonly FilterRule[]
  /** Where parameters go; pass one to put several rules in one query. */
  params?: SqlParams
  /** The String column holding the event's JSON; default `event`. */
  column?: string
  /**
   * Columns to define the rule's fields in, for a query over many rules: the expression then
   * reads them by name, and the caller selects them in an inner query (see `SqlColumns`).
   */
  columns?: SqlColumns
}

/** A compiled rule: the WHERE expression and the values of its parameters. */
export interface SqlPredicate {
  sql: string
  params: Record<string, unknown>
}

/**
 * @throws RuleCompileError where the stream would refuse the rule too, or its subclass
 *   SqlUnsupportedError where only SQL cannot run it faithfully
 * @example
 *   const { sql, params } = compileSqlRule(rule)
 *   await client.query({ query: `SELECT id FROM db.events WHERE ${sql}`, query_params: params })
 */
export function compileSqlRule(rule: DetectionRule, options: SqlRuleOptions = {}): SqlPredicate {
  const mapping = options.mapping ?? builtinMapping()
  const routes = options.routes ?? mapping.routes
  const placeholders = { ...mapping.placeholders, ...options.placeholders }
  const params = options.params ?? new SqlParams()
  const column = options.column ?? 'event'
  const filters = options.filters ?? []
  const route = findRoute(rule.logsource, routes)
  const family = route?.family ?? (rule.logsource.product === 'windows' ? 'windows' : 'ecs')
  const valueOptions: ValueOptions = { placeholders }

  const missing = [rule, ...filters]
    .flatMap((d) => placeholderNames(d.detection))
    .filter((name) => !placeholders[name]?.length)
  // The stream keeps such a rule but matches nothing with it until the values are given.
  if (missing.length > 0) {
    valueOptions.placeholders = {
      ...placeholders,
      ...Object.fromEntries(missing.map((n) => [n, ['']])),
    }
  }

  const variants = route?.variants ?? [{}]
  const parts: string[] = []
  for (const variant of variants) {
    // The stream's compiler checks the rule first, so both refuse it with the same words.
    const resolve = fieldResolver(family, variant.fields)
    for (const d of [rule, ...filters]) compileDetection(d.detection, resolve, valueOptions)

    const ctx: SqlValueContext = {
      resolve: sqlFieldResolver(family, variant.fields ?? {}, params, column, options.columns),
      params,
      options: valueOptions,
      column,
      ...(options.columns ? { columns: options.columns } : {}),
    }
    const tests = [rule, ...filters].map((d) => compileSqlDetection(d.detection, ctx))
    parts.push(`(${routeMembership(variant, params, column)}) AND ${tests.join(' AND ')}`)
  }
  if (!route || missing.length > 0) return { sql: '0', params: params.values }
  return { sql: parts.map((p) => `(${p})`).join(' OR '), params: params.values }
}

/**
 * Compiles a `detection` block (search identifiers and condition) to SQL, as
 * `compileDetection` does to a predicate: maps are AND, lists are OR, plain values are
 * keywords, a list of conditions is OR.
 */
export function compileSqlDetection(
  detection: Record<string, unknown>,
  ctx: SqlValueContext,
): string {
  const identifiers = new Map<string, string>()
  for (const [name, value] of Object.entries(detection)) {
    if (name === 'condition' || name === 'timeframe') continue
    identifiers.set(name, compileIdentifier(value, ctx))
  }
  const raw = detection['condition']
  const conditions = (Array.isArray(raw) ? raw : [raw]) as string[]
  return or(conditions.map((text) => compileNode(parseCondition(text), identifiers)))
}

function compileIdentifier(value: unknown, ctx: SqlValueContext): string {
  if (isRecord(value)) return compileMap(value, ctx)
  if (Array.isArray(value)) {
    const maps = value.filter(isRecord).map((m) => compileMap(m, ctx))
    const keywords = value.filter((v) => !isRecord(v))
    if (keywords.length > 0) maps.push(compileSqlFieldEntry('', keywords, ctx))
    return or(maps)
  }
  return compileSqlFieldEntry('', [value], ctx)
}

function compileMap(map: Record<string, unknown>, ctx: SqlValueContext): string {
  return and(Object.entries(map).map(([key, value]) => compileSqlFieldEntry(key, value, ctx)))
}

function compileNode(node: ConditionNode, ids: Map<string, string>): string {
  switch (node.t) {
    case 'id':
      return ids.get(node.name)!
    case 'and':
      return and(node.items.map((n) => compileNode(n, ids)))
    case 'or':
      return or(node.items.map((n) => compileNode(n, ids)))
    case 'not':
      return `NOT (${compileNode(node.item, ids)})`
    case 'of': {
      // Spec ("Condition"): `them` and patterns leave out identifiers starting with `_`
      // (the stream's compileDetection has refused a pattern that matches none).
      const names = [...ids.keys()].filter((n) => !n.startsWith('_'))
      const re = node.pattern === undefined ? undefined : identifierPattern(node.pattern)
      const matched = names.filter((n) => re === undefined || re.test(n)).map((n) => ids.get(n)!)
      return node.all ? and(matched) : or(matched)
    }
  }
}

function identifierPattern(pattern: string): RegExp {
  const source = pattern
    .split('*')
    .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*')
  return new RegExp(`^${source}$`)
}

function and(items: readonly string[]): string {
  return items.length === 1 ? items[0]! : `(${items.map((t) => `(${t})`).join(' AND ')})`
}

function or(items: readonly string[]): string {
  return items.length === 1 ? items[0]! : `(${items.map((t) => `(${t})`).join(' OR ')})`
}

/**
 * SQL: whether an event is one the stream runs a variant's rules on (`evaluate` in
 * rule-set.ts): a Windows event by its channel (compared as `toLowerCase` does) and event id,
 * any other by its `event.dataset` or its syslog program. A variant with none matches nothing.
 */
export function routeMembership(variant: RouteVariant, params: SqlParams, column: string): string {
  const text = (path: readonly string[]): string => {
    const keys = path.map((k) => `'${k}'`).join(', ')
    const raw = `JSONExtractRaw(${column}, ${keys})`
    const string = `JSONExtractString(${column}, ${keys})`
    return `if(JSONType(${column}, ${keys}) = 'String', ${string}, ${raw})`
  }
  const isObject = (path: readonly string[]): string =>
    `JSONType(${column}, ${path.map((k) => `'${k}'`).join(', ')}) = 'Object'`
  const windows = isObject(['winlog'])
  const syslog = isObject(['log', 'syslog'])
  const out: string[] = []

  if (variant.anyOf === 'windows') out.push(windows)
  if (variant.anyOf === 'syslog') out.push(syslog)
  if (variant.anyOf === 'dlp') out.push(isObject(['dlp']))
  if (variant.channels && variant.channels.length > 0) {
    const channel = `JSONExtractString(${column}, 'winlog', 'channel')`
    const channels = or(variant.channels.map((c) => lowerEquals(channel, c, params)))
    const ids = variant.eventIds
      ? ` AND has(${params.bind(variant.eventIds.map(String), 'Array(String)')}, ` +
        `${text(['winlog', 'event_id'])})`
      : ''
    out.push(`${windows} AND ${channels}${ids}`)
  }
  if (variant.datasets && variant.datasets.length > 0) {
    const dataset = text(['event', 'dataset'])
    out.push(`has(${params.bind([...variant.datasets], 'Array(String)')}, ${dataset})`)
  }
  if (variant.appnames && variant.appnames.length > 0) {
    const appname = text(['log', 'syslog', 'appname'])
    out.push(
      `${syslog} AND has(${params.bind([...variant.appnames], 'Array(String)')}, ${appname})`,
    )
  }
  return out.length === 0 ? '0' : or(out)
}
