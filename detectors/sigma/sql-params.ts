/**
 * Query parameters for the SQL back end. Every value that comes from a rule (a field name, a
 * pattern, a number, a CIDR range) is bound as a ClickHouse `{name:Type}` parameter and sent
 * through `@clickhouse/client`'s `query_params`, never written into the SQL text, so no rule
 * can change the shape of the query it compiles to.
 */
export class SqlParams {
  /** Name → value, for `query_params`. */
  readonly values: Record<string, unknown> = {}
  private count = 0

  /** @param prefix starts every parameter name, so several rules can share one query */
  constructor(private readonly prefix = 'p') {}

  /** Binds `value` and returns the placeholder that stands for it in SQL. */
  bind(value: unknown, type: 'String' | 'Float64' | 'Array(String)'): string {
    const name = `${this.prefix}${this.count++}`
    this.values[name] = value
    return `{${name}:${type}}`
  }

  /** Binds a string. */
  text(value: string): string {
    return this.bind(value, 'String')
  }
}

/**
 * Columns several rules share in one hunt query: each field a rule reads (and the keyword
 * leaves) is computed once per event in an inner SELECT and named, and the rules refer to it
 * by name. Without this, each mention of a field repeats its lookup, and a few hundred
 * SigmaHQ rules in one query make an expression tree ClickHouse spends minutes analysing.
 *
 * @example
 *   const columns = new SqlColumns()
 *   const { sql, params } = compileSqlRule(rule, { columns })
 *   const query = `SELECT id FROM (SELECT id, event, ${columns.definitions.join(', ')} FROM
 *     db.events) WHERE ${sql}`
 */
export class SqlColumns {
  private readonly byKey = new Map<string, string>()
  private readonly defined: string[] = []

  /** The name of the column `expr()` computes, defined the first time `key` is asked for. */
  column(key: string, expr: () => string): string {
    let name = this.byKey.get(key)
    if (name === undefined) {
      name = `c${this.byKey.size}`
      this.defined.push(`${expr()} AS ${name}`)
      this.byKey.set(key, name)
    }
    return name
  }

  /** `expression AS name` for each column, for the inner SELECT. */
  get definitions(): readonly string[] {
    return this.defined
  }
}
