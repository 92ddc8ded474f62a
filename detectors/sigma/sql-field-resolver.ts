import type { FieldFamily } from './logsource-routes.ts'
import type { SqlColumns, SqlParams } from './sql-params.ts'

/**
 * Field resolution for the SQL back end: the same lookups as `field-resolver.ts`, in the same
 * order, written over the stored event's JSON text (the `event` column, exactly what the
 * pipeline normalised). A resolved field is a SQL expression of type Nullable(String): the
 * field's raw JSON, or NULL where the stream's getter returns undefined. Reading the JSON text
 * rather than the `doc` JSON column keeps values as written: the JSON column infers types, and
 * merges paths through arrays, which the getters never do.
 *
 * An integer beyond 64 bits is stored in exponent form (platform/well-formed.ts), since
 * ClickHouse (simdjson) refuses a document holding one written out in full; it reads as the
 * same double the stream holds.
 */

/** Sigma field name → SQL expression of the field's raw JSON (NULL when absent). */
export type SqlFieldResolver = (field: string) => string

const windowsSystem: Record<string, readonly string[]> = {
  EventID: ['winlog', 'event_id'],
  Channel: ['winlog', 'channel'],
  Provider_Name: ['winlog', 'provider_name'],
  Computer: ['winlog', 'computer_name'],
  EventRecordID: ['winlog', 'record_id'],
}

/**
 * Builds the resolver for one route variant, as `fieldResolver` does for the stream.
 *
 * @param column the String column holding the event's JSON
 * @param columns where to define each field as a column shared by several rules
 */
export function sqlFieldResolver(
  family: FieldFamily,
  renames: Readonly<Record<string, readonly string[]>>,
  params: SqlParams,
  column = 'event',
  columns?: SqlColumns,
): SqlFieldResolver {
  const keys = (path: readonly string[]): string => path.map((k) => params.text(k)).join(', ')
  const at = (path: readonly string[]): string =>
    `if(JSONHas(${column}, ${keys(path)}), JSONExtractRaw(${column}, ${keys(path)}), NULL)`
  const nested = (name: string): string => at(name.split('.'))

  const windows = (name: string): string => {
    const system = windowsSystem[name]
    if (system) return at(system)
    const p = params.text(name)
    // Spec ("Field Usage"): a name may be the EventData key with its spaces stripped; the
    // stream indexes such keys on a miss, and a later key wins, as in its Map.
    const stripped =
      `nullIf(arrayElement(arrayMap(kv -> kv.2, arrayFilter(kv -> position(kv.1, ' ') > 0 ` +
      `AND replaceAll(kv.1, ' ', '') = ${p}, ` +
      `JSONExtractKeysAndValuesRaw(${column}, 'winlog', 'event_data'))), -1), '')`
    const tries = [at(['winlog', 'event_data', name]), stripped, at(['winlog', 'user_data', name])]
    if (name.includes('.')) tries.push(nested(name))
    return `coalesce(${tries.join(', ')})`
  }

  const base = family === 'windows' ? windows : nested
  const resolve = (field: string): string => {
    const names = renames[field]
    if (!names || names.length === 0) return base(field)
    if (names.length === 1) return base(names[0]!)
    return `coalesce(${names.map(base).join(', ')})`
  }
  // A field is written out once per resolver (or once per query, given shared columns).
  const known = new Map<string, string>()
  const mapping = JSON.stringify([family, column, renames])
  return (field) => {
    let sql = known.get(field)
    if (sql === undefined) {
      sql = columns ? columns.column(`${mapping}:${field}`, () => resolve(field)) : resolve(field)
      known.set(field, sql)
    }
    return sql
  }
}
