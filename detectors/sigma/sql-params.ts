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
