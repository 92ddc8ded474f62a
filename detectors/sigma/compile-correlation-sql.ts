import type { Alert } from '../../platform/alert-model.ts'
import { ValidationError } from '../../platform/errors.ts'
import { compileSqlRule, type SqlRuleOptions } from './compile-sql.ts'
import { elementText, SqlUnsupportedError } from './compile-sql-value.ts'
import { RuleCompileError } from './compile-value.ts'
import {
  correlationAlert,
  distinctValuesKept,
  slideAlertId,
  windowAlertId,
} from './correlation-alert.ts'
import { builtinMapping } from './load-mappings.ts'
import { findRoute } from './logsource-routes.ts'
import type { CorrelationRule, CountCondition, DetectionRule, FilterRule } from './sigma-rule.ts'
import { sqlFieldResolver } from './sql-field-resolver.ts'
import { SqlParams } from './sql-params.ts'

/**
 * Correlation rules over stored events, in ClickHouse SQL: `event_count` and `value_count`,
 * with the windows both back ends share (SLIDING.md, decided for issues 5 and 6). A group is
 * (correlation, its group-by values); its events are taken in order of (event time, event id).
 *
 * A. A condition with only lower bounds (`gt`, `gte`) slides: at each event k, the candidate
 *    set is the events after the one that raised the group's last alert and less than the
 *    timespan T before event k; when it meets the condition it raises an alert, and its events
 *    count toward no other alert of the group. 50 events with `gte: 10` raise 5 alerts.
 *    A value_count's group is its events that have a value, and its set stands for each
 *    distinct value by the value's latest event: those are the alert's events, and its
 *    window starts at the first of them. That is what the stream keeps (one event per value,
 *    so its memory grows with the values, not the events), and where SLIDING.md's "C_k's
 *    first event" would need every event of a repeated value kept.
 * B. A condition with an upper bound (`lt`, `lte`, `eq`, `neq`, a range) is decided when a
 *    window closes: a window opens at a group's first event not in an open window, covers
 *    [t_open, t_open + T), and the next opens at the first event at or after t_open + T.
 *
 * Both need a walk along each group's events: they are gathered per group in order
 * (`groupArray`, `arraySort`) and walked with `arrayFold`; the start of each event's span of
 * T is a window function (`RANGE BETWEEN T - 1 PRECEDING`) so the walk is linear. A group's
 * events in the hunted range are one array in memory, and value_count counts the distinct
 * values of each candidate set afresh (time in proportion to events times set size): fine for
 * the groups of a hunt, heavy for one group of millions of events.
 *
 * What the stream reads is read alike: each referenced rule's WHERE expression from
 * `compileSqlRule`, the group-by fields (through `aliases` for the rule's `name`) and the
 * value_count fields with the rule's own field mapping, as texts (`''` for a field that is
 * absent or null: the stream groups such events under an empty value, and value_count counts
 * only events that have all of its fields). An event two referenced rules match counts once
 * in a group, read as the first of them (in the order of `rules`) reads it.
 *
 * Refused with the reason (`SqlUnsupportedError`), never approximated: other correlation
 * types, a correlation over another correlation, and any referenced rule the SQL back end
 * refuses.
 */

export interface CorrelationSqlOptions extends Pick<
  SqlRuleOptions,
  'mapping' | 'placeholders' | 'routes'
> {
  /** Every filter; those that name a referenced rule (by id or name) apply to it. */
  filters?: readonly FilterRule[]
  /** The events table; default `events` (qualify it: `palisade.events`). */
  table?: string
  /** Only events at or after this time (the `timestamp` column). */
  from?: Date
  /** Only events before this time. Windows still open at `to` are decided with what is in. */
  to?: Date
  /** Contributing event ids returned per alert, as the stream caps them; default 100. */
  maxEventIds?: number
}

/** A compiled correlation: a query with one row per alert (`CorrelationSqlRow`). */
export interface CorrelationSql {
  sql: string
  params: Record<string, unknown>
  /** A: sliding with lower bounds only; B: anchored at the group's first event. */
  windows: 'sliding' | 'anchored'
}

/**
 * One alert, as a row of `CorrelationSql.sql` in JSONEachRow (64-bit integers arrive as
 * strings unless `output_format_json_quote_64bit_integers` is 0).
 */
export interface CorrelationSqlRow {
  correlation_id: string
  /** The group-by values, in the order of `group-by` (`''` for an absent field). */
  group_values: string[]
  /** The events that made the alert, in order of (time, id), capped at `maxEventIds`. */
  event_ids: string[]
  /** What the condition was about: the events' count, or the number of distinct values. */
  value: number | string
  /** Epoch ms: A, the first contributing event's time; B, t_open. */
  window_start: number | string
  /** Epoch ms: A, the triggering event's time (inclusive); B, t_open + T (exclusive). */
  window_end: number | string
  /** A: the event that completed the set (its id makes the alert's); B: null. */
  trigger_event_id: string | null
  /** B: the window's opening time (its id makes the alert's); A: null. */
  t_open: number | string | null
}

const countTypes = ['event_count', 'value_count'] as const

/**
 * @param correlation an `event_count` or `value_count` correlation rule
 * @param rules the loaded rules its `rules` refer to, by id or name (others are ignored)
 * @throws RuleCompileError when a referenced rule is not among `rules`, or the stream would
 *   refuse one; SqlUnsupportedError when SQL cannot keep the specification's meaning;
 *   ValidationError when `table` is not a table name
 * @example
 *   const { sql, params } = compileCorrelationSql(correlation, rules, {
 *     table: 'palisade.events',
 *     from: new Date('2025-01-01'),
 *   })
 *   const rows = await (await client.query({ query: sql, query_params: params,
 *     format: 'JSONEachRow' })).json<CorrelationSqlRow>()
 */
export function compileCorrelationSql(
  correlation: CorrelationRule,
  rules: readonly (DetectionRule | CorrelationRule)[],
  options: CorrelationSqlOptions = {},
): CorrelationSql {
  const where = `correlation "${correlation.title}" (${correlation.id})`
  if (!(countTypes as readonly string[]).includes(correlation.type)) {
    throw new SqlUnsupportedError(
      `${where}: ${correlation.type} is not compiled to SQL; only ${countTypes.join(' and ')} ` +
        'are (hunt the others in the stream)',
    )
  }
  const referenced = correlation.rules.map((ref) => {
    const rule = rules.find((r) => r.id === ref || r.name === ref)
    if (!rule) throw new RuleCompileError(`${where} references a rule that is not given: ${ref}`)
    if (rule.kind !== 'detection') {
      throw new SqlUnsupportedError(
        `${where} refers to correlation "${rule.title}": a correlation over correlations is ` +
          'not compiled to SQL (its windows are the stream’s state, not stored events)',
      )
    }
    return rule
  })
  const fields = correlation.type === 'value_count' ? (correlation.field ?? '').split(',') : []
  if (correlation.type === 'value_count' && fields.every((f) => f === '')) {
    throw new RuleCompileError(`${where}: value_count needs condition.field`)
  }

  const params = new SqlParams('c')
  const mapping = options.mapping ?? builtinMapping()
  const table = options.table ?? 'events'
  // The one name written into the SQL text: it comes from the caller, never from a rule.
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/.test(table)) {
    throw new ValidationError(
      `table must be a name or database.name, got ${JSON.stringify(table)}`,
      {
        table,
      },
    )
  }
  const sliding = lowerBoundOnly(correlation.condition)
  const timeRange = [
    options.from ? `timestamp >= ${instant(options.from, params)}` : '',
    options.to ? `timestamp < ${instant(options.to, params)}` : '',
  ].filter((s) => s !== '')

  const branches = referenced.map((rule, index) => {
    const filters = (options.filters ?? []).filter((f) =>
      f.rules.some((r) => r === rule.id || r === rule.name),
    )
    let predicate: string
    try {
      predicate = compileSqlRule(rule, {
        mapping,
        ...(options.placeholders ? { placeholders: options.placeholders } : {}),
        ...(options.routes ? { routes: options.routes } : {}),
        filters,
        params,
      }).sql
    } catch (err) {
      if (err instanceof SqlUnsupportedError) {
        throw new SqlUnsupportedError(`${where}, rule "${rule.title}": ${err.message}`)
      }
      throw err
    }
    // The stream reads group-by and value fields with the rule's family and no renames
    // (`field` in rule-set.ts).
    const route = findRoute(rule.logsource, options.routes ?? mapping.routes)
    const family = route?.family ?? (rule.logsource.product === 'windows' ? 'windows' : 'ecs')
    const resolve = sqlFieldResolver(family, {}, params)
    const text = (field: string): string => valueText(resolve(field))
    const group = correlation.groupBy.map((field) => {
      const aliased = rule.name ? correlation.aliases[field]?.[rule.name] : undefined
      return text(aliased ?? field)
    })
    const parts = fields.map(text)
    // Several value fields are "linked by an AND" (spec, "Grouping"): their combination is
    // the value, of events that have them all.
    const value =
      parts.length === 0
        ? `''`
        : `arrayMap(_p -> if(has(_p, ''), '', arrayStringConcat(_p, '\\x01')), ` +
          `[[${parts.join(', ')}]])[1]`
    const conditions = [...timeRange, `(${predicate})`].join(' AND ')
    return (
      `SELECT toString(id) AS id, toUnixTimestamp64Milli(timestamp) AS t, ` +
      `toUInt32(${index}) AS r, [${group.join(', ')}]::Array(String) AS g, ` +
      `${value} AS v FROM ${table} WHERE ${conditions}`
    )
  })

  const T = correlation.timespanMs
  const cap = params.bind(options.maxEventIds ?? 100, 'Float64')
  // One row per (group, event), read as the first referenced rule that matched it reads it.
  const valueCount = correlation.type === 'value_count'
  // A sliding value_count's group is its events that have a value (the stream places no
  // other), read as the first referenced rule that reads one reads it.
  const valued = sliding && valueCount ? ` WHERE v != ''` : ''
  const matched =
    `SELECT * FROM (${branches.join(' UNION ALL ')})${valued} ` + `ORDER BY r LIMIT 1 BY g, id`
  const measure = (from: string, to: string): string =>
    correlation.type === 'event_count'
      ? `(${to} - ${from} + 1)`
      : `length(arrayDistinct(arrayFilter(_v -> _v != '', ` +
        `arraySlice(vs, ${from}, ${to} - ${from} + 1))))`
  const holds = (n: string): string => conditionSql(correlation.condition, n, params)
  const id = params.text(correlation.id)

  let walk: string
  if (sliding) {
    // Spec, SLIDING.md A: event j is a candidate at k when after < j <= k and
    // t_k - T < t_j; with integer milliseconds, t_j >= t_k - (T - 1). `los` holds, for
    // each k, the first j of the group within that span.
    const span = params.bind(Math.max(0, Math.ceil(T) - 1), 'Float64')
    const ranked =
      'SELECT *, row_number() OVER (PARTITION BY g ORDER BY t, id) AS rn ' + `FROM (${matched})`
    const spans =
      `SELECT g, id, t, v, rn, min(rn) OVER (PARTITION BY g ORDER BY t ` +
      `RANGE BETWEEN toUInt64(${span}) PRECEDING AND CURRENT ROW) AS lo FROM (${ranked})`
    const lo = `greatest(_acc.1 + 1, los[_k])`
    walk =
      `SELECT g, ts, ids, vs, arrayFold((_acc, _k) -> if(${holds(measure(lo, '_k'))}, ` +
      `(_k, arrayPushBack(_acc.2, (${lo}, _k))), _acc), range(1, length(ts) + 1), ` +
      `(toUInt64(0), []::Array(Tuple(UInt64, UInt64)))).2 AS alerts FROM (` +
      `SELECT g, arraySort(_e -> _e.1, groupArray((rn, t, id, v, lo))) AS es, ` +
      `arrayMap(_e -> _e.2, es) AS ts, arrayMap(_e -> _e.3, es) AS ids, ` +
      `arrayMap(_e -> _e.4, es) AS vs, arrayMap(_e -> _e.5, es) AS los ` +
      `FROM (${spans}) GROUP BY g)`
  } else {
    // Spec, SLIDING.md B: a window opens at the first event at or after the last t_open + T;
    // its events are those up to the next opening.
    const t = params.bind(T, 'Float64')
    const opens =
      `arrayFold((_acc, _k) -> if(length(_acc.2) = 0 OR ts[_k] >= _acc.1 + ${t}, ` +
      `(ts[_k], arrayPushBack(_acc.2, _k)), _acc), range(1, length(ts) + 1), ` +
      `(toInt64(0), []::Array(UInt64))).2`
    walk =
      `SELECT g, ts, ids, vs, arrayFilter(_w -> ${holds(measure('_w.1', '_w.2'))}, ` +
      `arrayMap((_s, _i) -> (_s, if(_i < length(starts), toUInt64(starts[_i + 1] - 1), ` +
      `length(ts))), starts, arrayEnumerate(starts))) AS alerts FROM (` +
      `SELECT g, ts, ids, vs, ${opens} AS starts FROM (` +
      `SELECT g, arraySort(_e -> (_e.1, _e.2), groupArray((t, id, v))) AS es, ` +
      `arrayMap(_e -> _e.1, es) AS ts, arrayMap(_e -> _e.2, es) AS ids, ` +
      `arrayMap(_e -> _e.3, es) AS vs FROM (${matched}) GROUP BY g))`
  }

  const from = 'alert.1'
  const to = 'alert.2'
  // A sliding value_count's set stands for each distinct value by its latest event (the
  // stream keeps one event per value, so its memory is bounded by the values, not the
  // events): those are its contributing events, and its window starts at the first of them.
  const picked =
    sliding && valueCount
      ? `arrayReverse(arrayFilter((_j, _u) -> _u = 1, arrayReverse(range(${from}, ${to} + 1)), ` +
        `arrayEnumerateUniq(arrayReverse(arraySlice(vs, ${from}, ${to} - ${from} + 1)))))`
      : undefined
  const eventIds = picked
    ? `arrayMap(_j -> ids[_j], arraySlice(${picked}, 1, toUInt64(${cap})))`
    : `arraySlice(ids, ${from}, least(${to} - ${from} + 1, toUInt64(${cap})))`
  const start = picked ? `ts[${picked}[1]]` : `ts[${from}]`
  const sql =
    `SELECT ${id} AS correlation_id, g AS group_values, ${eventIds} AS event_ids, ` +
    `toUInt64(${measure(from, to)}) AS value, ${start} AS window_start, ` +
    (sliding
      ? `ts[${to}] AS window_end, ids[${to}] AS trigger_event_id, ` +
        `CAST(NULL, 'Nullable(Int64)') AS t_open `
      : `ts[${from}] + toInt64(${params.bind(T, 'Float64')}) AS window_end, ` +
        `CAST(NULL, 'Nullable(String)') AS trigger_event_id, ` +
        `toNullable(ts[${from}]) AS t_open `) +
    `FROM (${walk}) ARRAY JOIN alerts AS alert ORDER BY group_values, window_start`
  return { sql, params: params.values, windows: sliding ? 'sliding' : 'anchored' }
}

/**
 * The alert the stream raises for the same window (correlation-alert.ts): the same id (from
 * the triggering event for a sliding set, from `t_open` for an anchored window), entity,
 * contributing events, time and message, so a hunt's alerts and the stream's are compared,
 * and stored, as one.
 *
 * @param row a row of `compileCorrelationSql(correlation, ...).sql`
 * @param correlation the correlation it was compiled from (its version makes the id)
 * @param maxEventIds the cap it was compiled with; default 100
 * @throws ValidationError when the row is of another correlation
 */
export function correlationAlertFromRow(
  row: CorrelationSqlRow,
  correlation: CorrelationRule,
  maxEventIds = 100,
): Alert {
  if (row.correlation_id !== correlation.id) {
    throw new ValidationError(
      `a row of correlation ${correlation.id} was expected, got one of ${row.correlation_id}`,
      { expected: correlation.id, got: row.correlation_id },
    )
  }
  const group = row.group_values
  const anchored = row.trigger_event_id === null
  const id = anchored
    ? windowAlertId(correlation, group, Number(row.t_open))
    : slideAlertId(correlation, group, row.trigger_event_id!)
  // The stream counts an anchored window's distinct values up to a limit and says "more
  // than" past it; the alert reads the same from either back end.
  const countedTo =
    anchored && correlation.type === 'value_count'
      ? distinctValuesKept(correlation.condition, maxEventIds)
      : undefined
  return correlationAlert(
    correlation,
    group,
    id,
    Number(row.window_start),
    Number(row.window_end),
    row.event_ids,
    Number(row.value),
    maxEventIds,
    countedTo === undefined ? {} : { countedTo },
  )
}

/** SQL: a time as the `timestamp` column's type, so the table's order key can be used. */
function instant(at: Date, params: SqlParams): string {
  return `fromUnixTimestamp64Milli(toInt64(${params.bind(at.getTime(), 'Float64')}), 'UTC')`
}

/** Whether the condition has only lower bounds, so its windows slide (SLIDING.md A). */
function lowerBoundOnly(c: CountCondition): boolean {
  return c.lt === undefined && c.lte === undefined && c.eq === undefined && c.neq === undefined
}

/** SQL: every comparison of the condition holds for `n` (several make a range). */
function conditionSql(c: CountCondition, n: string, params: SqlParams): string {
  const ops = { gt: '>', gte: '>=', lt: '<', lte: '<=', eq: '=', neq: '!=' } as const
  const tests = (Object.keys(ops) as (keyof typeof ops)[])
    .filter((op) => c[op] !== undefined)
    .map((op) => `${n} ${ops[op]} ${params.bind(c[op], 'Float64')}`)
  return tests.length === 0 ? '1' : tests.join(' AND ')
}

/**
 * SQL: a field's raw JSON as the stream's `text` gives it to group and count by: `''` when
 * absent or null, a string as it is, a number or boolean as JavaScript writes it, a list or
 * map as its JSON (as ClickHouse writes it back, which may differ from JSON.stringify in a
 * number's exponent inside it).
 */
function valueText(raw: string): string {
  const r = `ifNull(${raw}, 'null')`
  return (
    `multiIf(JSONType(${r}) = 'Null', '', JSONType(${r}) IN ('Array', 'Object'), ${r}, ` +
    `${elementText(r)})`
  )
}
