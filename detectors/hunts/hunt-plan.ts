import { alertLevels, type AlertLevel } from '../../platform/alert-model.ts'
import { compileCorrelationSql, type CorrelationSql } from '../sigma/compile-correlation-sql.ts'
import { compileSqlRule, routeMembership } from '../sigma/compile-sql.ts'
import { SqlUnsupportedError } from '../sigma/compile-sql-value.ts'
import { RuleCompileError } from '../sigma/compile-value.ts'
import { builtinMapping, type SigmaMapping } from '../sigma/load-mappings.ts'
import { findRoute, variantKeys } from '../sigma/logsource-routes.ts'
import { compileRuleSet } from '../sigma/rule-set.ts'
import type {
  CorrelationRule,
  DetectionRule,
  FilterRule,
  SigmaDocument,
} from '../sigma/sigma-rule.ts'
import { SqlColumns, SqlParams } from '../sigma/sql-params.ts'

/**
 * What a hunt runs: the rules it was given, compiled by the SQL back end into batched queries
 * over the events table, its event_count and value_count correlations as one aggregation each
 * over the whole range, and every rule it cannot run, with the reason. The rules are also
 * compiled by the stream's compiler (`compileRuleSet`), so a hunt alert carries the version
 * the stream's alert for the same rule and event carries, and a rule the stream refuses is
 * refused here in the same words.
 */

/** A rule a hunt runs, as its alerts name it. */
export interface HuntRule {
  id: string
  title: string
  /** The stream's version: the rule's content hash, with the filters applied to it. */
  version: string
  level: AlertLevel
  tags: string[]
}

/** Why a rule is not part of a hunt. */
export type RefusalKind =
  'sql_unsupported' | 'rejected' | 'correlation' | 'unrouted' | 'missing_placeholder'

export interface RefusedRule {
  id: string
  title: string
  kind: RefusalKind
  reason: string
}

/**
 * Rules that share one query: each rule's expression is the column `r<i>` of the outer
 * SELECT, and the fields they read are computed once per event as the inner SELECT's columns.
 */
export interface HuntBatch {
  rules: HuntRule[]
  /** `(expression) AS r0, (expression) AS r1, ...`, in the order of `rules`. */
  hits: string
  /** `expression AS c0, ...`: the fields the rules read. */
  columns: readonly string[]
  /**
   * Whether an event is on the route of any of the batch's rules (its channel and event id,
   * its dataset or its program): only those events have the fields computed and the rules
   * run, which is most of what makes a hunt fast. Every rule tests its route again itself.
   */
  routes: string
  /** The keys the stream files the batch's rules under (`variantKeys`), for `routeKeysIn`. */
  keys: readonly string[]
  params: Record<string, unknown>
}

/**
 * A correlation a hunt runs: one query over the whole hunted range, compiled when the range is
 * known (`correlationQuery`), since its windows cross the slices' boundaries.
 */
export interface HuntCorrelation {
  rule: HuntRule
  correlation: CorrelationRule
  /** The detection rules it references, among the hunt's documents. */
  rules: DetectionRule[]
  /** Every filter among the hunt's documents: those naming a referenced rule apply to it. */
  filters: FilterRule[]
  mapping: SigmaMapping
}

export interface HuntPlan {
  /** Every rule and correlation that raises alerts of its own, in the order planned. */
  rules: HuntRule[]
  refused: RefusedRule[]
  batches: HuntBatch[]
  correlations: HuntCorrelation[]
}

export interface HuntPlanOptions {
  /** Routes, field mapping and placeholders, as the stream's detector has them. */
  mapping?: SigmaMapping
  /** A batch is closed at this many rules; default 50. */
  batchRules?: number
  /** ... or at this many characters of SQL; default 300,000. */
  batchChars?: number
  /**
   * Ids the user asked to hunt by name: they alert on their own even when a correlation among
   * the documents references them with `generate: false`, which keeps every other referenced
   * rule quiet, as the stream keeps it (`RuleSet.isStandalone`).
   */
  requested?: readonly string[]
}

/**
 * Settings every hunt query needs: a batch of SigmaHQ rules is a larger expression than
 * ClickHouse takes by default (262,144 bytes of query, 50,000 AST elements).
 */
export const huntQuerySettings = {
  max_query_size: '50000000',
  max_ast_elements: '5000000',
  max_expanded_ast_elements: '5000000',
} as const

/**
 * Compiles the rules among `documents` for a hunt. Filters among them are applied to the rules
 * they name, as the stream applies them. A correlation's referenced rules must be among the
 * documents; those it references with `generate: false` raise no alerts of their own (unless
 * in `requested`). Refused, with the reason: correlations the SQL back end does not compile
 * (`compileCorrelationSql`: other types, correlations over correlations), and rules that
 * would match nothing in the stream either (no logsource route, a placeholder without a
 * value).
 *
 * @example
 *   const plan = planHunt(loadRules(['rules']).documents)
 *   for (const r of plan.refused) console.log(`${r.title}: ${r.reason}`)
 */
export function planHunt(
  documents: readonly SigmaDocument[],
  options: HuntPlanOptions = {},
): HuntPlan {
  const mapping = options.mapping ?? builtinMapping()
  const batchRules = options.batchRules ?? 50
  const batchChars = options.batchChars ?? 300_000
  const set = compileRuleSet(documents, { mapping })
  const rejected = new Map(set.rejections.map((r) => [r.rule_id, r.message]))
  const filtersFor = filtersByRule(documents)
  const requested = new Set(options.requested ?? [])

  const rules: HuntRule[] = []
  const refused: RefusedRule[] = []
  const batches: HuntBatch[] = []
  const correlations: HuntCorrelation[] = []
  let batch: { rule: HuntRule; sql: string }[] = []
  let params = new SqlParams()
  let columns = new SqlColumns()
  let routes = new Map<string, string>()
  let keys = new Set<string>()
  let size = 0
  const flush = (): void => {
    if (batch.length === 0) return
    batches.push({
      rules: batch.map((b) => b.rule),
      hits: batch.map((b, i) => `(${b.sql}) AS r${i}`).join(',\n'),
      columns: columns.definitions,
      routes: [...routes.values()].map((r) => `(${r})`).join(' OR '),
      keys: [...keys],
      params: params.values,
    })
    batch = []
    params = new SqlParams()
    columns = new SqlColumns()
    routes = new Map()
    keys = new Set()
    size = 0
  }

  // Rules of one logsource go in the same batches, so a batch's routes are few and narrow.
  const ordered = [...documents].sort((a, b) => logsourceKey(a).localeCompare(logsourceKey(b)))
  for (const doc of ordered) {
    const refuse = (kind: RefusalKind, reason: string) =>
      refused.push({ id: doc.id, title: doc.title, kind, reason })
    if (doc.kind === 'filter') continue
    // Spec ("Generate"): only its correlations see a rule they reference with generate: false,
    // and a correlation another chains on with generate: false is only that one's input.
    if (!set.isStandalone(doc.id) && !requested.has(doc.id)) continue
    if (doc.kind === 'correlation') {
      const compiled = set.ruleById(doc.id)
      if (compiled?.kind !== 'correlation') {
        refuse('rejected', rejected.get(doc.id) ?? 'the stream compiler refused the correlation')
        continue
      }
      const hunted = planCorrelation(doc, documents, mapping)
      if (typeof hunted === 'string') refuse('correlation', hunted)
      else {
        rules.push(hunted.rule)
        correlations.push(hunted)
      }
      continue
    }
    const compiled = set.ruleById(doc.id)
    if (compiled?.kind !== 'detection') {
      refuse('rejected', rejected.get(doc.id) ?? 'the stream compiler refused the rule')
      continue
    }
    if (!compiled.routed) {
      const { product, category, service } = doc.logsource
      const logsource = JSON.stringify({ product, category, service })
      refuse('unrouted', `no route covers logsource ${logsource}: it matches no stored event`)
      continue
    }
    if (compiled.missingPlaceholders) {
      const names = compiled.missingPlaceholders.map((n) => `%${n}%`).join(', ')
      refuse('missing_placeholder', `placeholder ${names} has no value: it matches nothing`)
      continue
    }

    let sql: string
    try {
      // A rule refused half way may leave parameters and columns in the batch: unused, and
      // harmless.
      const filters = filtersFor.get(doc.id) ?? []
      sql = compileSqlRule(doc, { mapping, filters, params, columns }).sql
    } catch (error) {
      if (error instanceof SqlUnsupportedError) refuse('sql_unsupported', error.message)
      else if (error instanceof RuleCompileError) refuse('rejected', error.message)
      else throw error
      continue
    }
    const route = findRoute(doc.logsource, mapping.routes)!
    const key = logsourceKey(doc)
    if (!routes.has(key)) {
      const variants = route.variants.map((v) => `(${routeMembership(v, params, 'event')})`)
      routes.set(key, variants.join(' OR '))
      for (const v of route.variants) for (const k of variantKeys(v)) keys.add(k)
    }
    const rule: HuntRule = {
      id: compiled.id,
      title: compiled.title,
      version: compiled.version,
      level: compiled.level,
      tags: compiled.tags,
    }
    rules.push(rule)
    batch.push({ rule, sql })
    size += sql.length
    if (batch.length >= batchRules || size > batchChars) flush()
  }
  flush()
  // Said in the order the rules were given.
  const place = new Map(documents.map((d, i) => [d.id, i]))
  refused.sort((a, b) => place.get(a.id)! - place.get(b.id)!)
  return { rules, refused, batches, correlations }
}

/** A correlation as a hunt runs it, or the reason SQL refuses it. */
function planCorrelation(
  correlation: CorrelationRule,
  documents: readonly SigmaDocument[],
  mapping: SigmaMapping,
): HuntCorrelation | string {
  const referenced = documents.filter(
    (d): d is DetectionRule | CorrelationRule =>
      d.kind !== 'filter' &&
      correlation.rules.some((r) => r === d.id || (d.name !== undefined && r === d.name)),
  )
  const hunted: HuntCorrelation = {
    rule: {
      id: correlation.id,
      title: correlation.title,
      version: correlation.version,
      level: correlationLevel(correlation),
      tags: correlation.tags,
    },
    correlation,
    rules: referenced.filter((d): d is DetectionRule => d.kind === 'detection'),
    filters: documents.filter((d): d is FilterRule => d.kind === 'filter'),
    mapping,
  }
  try {
    // Compiled once here only to learn whether SQL takes it; the hunt compiles it again with
    // its range.
    compileCorrelationSql(correlation, referenced, { mapping, filters: hunted.filters })
  } catch (error) {
    if (error instanceof SqlUnsupportedError || error instanceof RuleCompileError) {
      return error.message
    }
    throw error
  }
  return hunted
}

/** The level a correlation's alerts carry (`correlationAlert`): its own, or medium. */
function correlationLevel(c: CorrelationRule): AlertLevel {
  return (alertLevels as readonly string[]).includes(c.level ?? '')
    ? (c.level as AlertLevel)
    : 'medium'
}

/**
 * The query of one correlation over `[from, to)` (epoch milliseconds) of `database`'s events:
 * one row per alert (`CorrelationSqlRow`).
 */
export function correlationQuery(
  hunted: HuntCorrelation,
  database: string,
  from: number,
  to: number,
): CorrelationSql {
  return compileCorrelationSql(hunted.correlation, hunted.rules, {
    mapping: hunted.mapping,
    filters: hunted.filters,
    table: `${database}.events`,
    from: new Date(from),
    to: new Date(to),
  })
}

function logsourceKey(doc: SigmaDocument): string {
  if (doc.kind === 'correlation') return ''
  const { product = '', category = '', service = '' } = doc.logsource
  return `${product}\u0000${category}\u0000${service}`
}

/** The filters that name each detection rule, by the rule's id (as `compileRuleSet` folds them). */
function filtersByRule(documents: readonly SigmaDocument[]): Map<string, FilterRule[]> {
  const idOf = new Map<string, string>()
  for (const d of documents) {
    if (d.kind !== 'detection') continue
    idOf.set(d.id, d.id)
    if (d.name) idOf.set(d.name, d.id)
  }
  const out = new Map<string, FilterRule[]>()
  for (const f of documents) {
    if (f.kind !== 'filter') continue
    for (const ref of f.rules) {
      const id = idOf.get(ref)
      if (id) out.set(id, [...(out.get(id) ?? []), f])
    }
  }
  return out
}

/**
 * The query of one batch over one time slice `[hunt_from, hunt_to)` (epoch milliseconds, bound
 * as parameters): the id and text of each event at least one of the batch's rules matches, and
 * one 0/1 column per rule. Duplicates of an event (a redelivery not yet merged away) are read
 * as the same event.
 */
export function batchQuery(batch: HuntBatch, database: string): string {
  const any = batch.rules.map((_, i) => `r${i}`).join(' OR ')
  const fields = batch.columns.length > 0 ? `, ${batch.columns.join(', ')}` : ''
  return (
    `SELECT toString(id) AS event_id, event, ${batch.hits}\n` +
    `FROM (SELECT id, event${fields} FROM ${database}.events\n` +
    `  WHERE timestamp >= fromUnixTimestamp64Milli({hunt_from:Int64}, 'UTC')\n` +
    `    AND timestamp < fromUnixTimestamp64Milli({hunt_to:Int64}, 'UTC')\n` +
    `    AND (${batch.routes}))\n` +
    `WHERE ${any}`
  )
}
