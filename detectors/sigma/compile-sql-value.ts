import {
  checkKeywordValue,
  checkModifiers,
  compileRegex,
  keywordModifiers,
  numericOps,
  readCidr,
  RuleCompileError,
  stringAlternatives,
  timeParts,
  type Network,
  type StringPattern,
  type ValueOptions,
} from './compile-value.ts'
import { dashChars, type Part } from './compile-pattern.ts'
import { foldCase } from './fold-case.ts'
import { re2Source } from './re2-source.ts'
import type { SqlFieldResolver } from './sql-field-resolver.ts'
import type { SqlColumns, SqlParams } from './sql-params.ts'
import { sqlNumber } from './sql-number.ts'
import { sqlTimePart } from './sql-time-part.ts'

/**
 * Compiles one `field|modifier|...: value(s)` entry of a Sigma detection into a ClickHouse
 * boolean expression with the stream's meaning (`compile-value.ts`): the same modifier
 * checks, the same value expansions (`stringAlternatives`), the same reading of a field's
 * value (a string, a number or boolean by its text, an array element by element).
 *
 * A field's value is its raw JSON (`sql-field-resolver.ts`); the tests below read it one
 * element at a time through `arrayExists`, with NULL (absent) as no element that passes.
 */

/** A modifier or value the SQL back end cannot run with the stream's meaning, and why. */
export class SqlUnsupportedError extends RuleCompileError {
  constructor(message: string) {
    super(`SQL back end: ${message}`)
    this.name = 'SqlUnsupportedError'
  }
}

/** What a value entry compiles against. */
export interface SqlValueContext {
  resolve: SqlFieldResolver
  params: SqlParams
  options: ValueOptions
  /** The String column with the event's JSON, for keyword search. */
  column: string
  /** Columns shared by the rules of one query (see `SqlColumns`). */
  columns?: SqlColumns
}

/** SQL: the text of a scalar JSON element `x`, as `String(value)` gives it in JavaScript. */
export function elementText(x: string): string {
  // ClickHouse writes a Double's exponent without a sign (1e21) where JavaScript writes 1e+21.
  return (
    `multiIf(JSONType(${x}) = 'String', JSONExtractString(${x}), JSONType(${x}) = 'Double', ` +
    `replaceRegexpOne(${x}, 'e([0-9])', 'e+\\\\1'), ${x})`
  )
}

/** SQL: whether element `x` has a text (a string, number or boolean, not null or a list). */
function hasText(x: string): string {
  return `JSONType(${x}) IN ('String', 'Int64', 'UInt64', 'Double', 'Bool')`
}

/** SQL: the elements of a field: its items when it is a list, else itself; none when absent. */
function elements(raw: string): string {
  const r = `ifNull(${raw}, '')`
  return `if(JSONType(${r}) = 'Array', JSONExtractArrayRaw(${r}), [${r}])`
}

/**
 * @throws RuleCompileError as the stream would, or SqlUnsupportedError for what SQL cannot
 *   run faithfully (a case-insensitive fieldref, some regular expressions)
 */
export function compileSqlFieldEntry(key: string, raw: unknown, ctx: SqlValueContext): string {
  const [fieldName, ...mods] = key.split('|')
  const field = fieldName === '' ? undefined : fieldName
  checkModifiers(key, mods)
  const has = (m: string): boolean => mods.includes(m)
  const values = Array.isArray(raw) ? raw : [raw]
  const all = has('all')

  if (has('exists')) {
    if (field === undefined) throw new RuleCompileError(`"${key}": exists needs a field name`)
    // Spec: presence only, "be it empty or null".
    const present = `isNotNull(${ctx.resolve(field)})`
    return values[0] === true ? present : `NOT ${present}`
  }
  if (field === undefined) return compileSqlKeywords(key, mods, values, ctx)

  const fieldRaw = ctx.resolve(field)
  let test: string
  if (has('fieldref')) test = compileFieldref(key, mods, values, fieldRaw, all, ctx)
  else if (values.some((v) => v === null)) {
    if (values.some((v) => v !== null)) {
      throw new RuleCompileError(`"${key}": null cannot be part of a list of values`)
    }
    // Spec ("Null values"): the field is absent or null.
    test = `ifNull(${fieldRaw}, 'null') = 'null'`
  } else if (numericOps.some(has) || timeParts.some(has)) {
    const tests = values.map((v) => valueTest(key, mods, v, '_x', ctx))
    test = `arrayExists(_x -> ${join(tests, all ? 'AND' : 'OR')}, ${elements(fieldRaw)})`
  } else {
    // Each element's text is computed once, as (has a text, the text), for all the values.
    const tests = all
      ? values.map((v) => valueTest(key, mods, v, '_x.2', ctx))
      : mergedTests(key, mods, values, '_x.2', ctx)
    const texts = `arrayMap(_e -> (${hasText('_e')}, ${elementText('_e')}), ${elements(fieldRaw)})`
    test = `arrayExists(_x -> _x.1 AND ${join(tests, all ? 'AND' : 'OR')}, ${texts})`
  }
  return has('neq') ? `NOT (${test})` : test
}

/**
 * Printable ASCII without a k: `lower` is all of the stream's `toLowerCase` comparison for it
 * (the one non-ASCII character JavaScript lowers onto ASCII is the Kelvin sign, onto k).
 */
function plain(s: string): boolean {
  return /^[\x20-\x7e]*$/.test(s) && !/k/i.test(s)
}

/**
 * ORed tests of a list of values, with the plain ones merged as the stream merges them
 * (`mergePlainTests`): exact ASCII values in one `has`, `contains` values in one
 * `multiSearchAny`. A SigmaHQ list of 80 programs is one test, not 80.
 */
function mergedTests(
  key: string,
  mods: string[],
  values: readonly unknown[],
  text: string,
  ctx: SqlValueContext,
): string[] {
  if (mods.includes('re') || mods.includes('cidr')) {
    return values.map((v) => valueTest(key, mods, v, text, ctx))
  }
  const { params } = ctx
  const exact = new Map<boolean, string[]>()
  const contained = new Map<boolean, string[]>()
  const out: string[] = []
  for (const value of values) {
    if (typeof value === 'object' && value !== null) {
      out.push(valueTest(key, mods, value, text, ctx))
      continue
    }
    for (const p of stringAlternatives(key, mods, String(value), ctx.options)) {
      const only = p.parts.length === 1 ? p.parts[0] : undefined
      const middle = p.parts.length === 3 ? p.parts[1] : undefined
      const around = p.parts[0]?.k === 'star' && p.parts[2]?.k === 'star'
      if (only?.k === 'lit' && (p.cased || plain(only.s))) {
        const list = exact.get(p.cased) ?? []
        list.push(p.cased ? only.s : only.s.toLowerCase())
        exact.set(p.cased, list)
      } else if (
        middle?.k === 'lit' &&
        around &&
        middle.s !== '' &&
        /^[\x20-\x7e]+$/.test(middle.s)
      ) {
        const list = contained.get(p.cased) ?? []
        list.push(p.cased ? middle.s : middle.s.toLowerCase())
        contained.set(p.cased, list)
      } else out.push(patternTest(p, text, params))
    }
  }
  for (const [cased, list] of exact) {
    const t = cased ? text : `lower(${text})`
    out.push(
      list.length === 1
        ? `${t} = ${params.text(list[0]!)}`
        : `has(${params.bind(list, 'Array(String)')}, ${t})`,
    )
  }
  for (const [cased, list] of contained) {
    const t = cased ? text : `lower(${text})`
    // multiSearchAny takes at most 255 needles.
    for (let i = 0; i < list.length; i += 255) {
      out.push(`multiSearchAny(${t}, ${params.bind(list.slice(i, i + 255), 'Array(String)')})`)
    }
  }
  return out
}

function join(items: readonly string[], op: 'AND' | 'OR'): string {
  if (items.length === 0) return op === 'AND' ? '1' : '0'
  return items.length === 1 ? items[0]! : `(${items.map((t) => `(${t})`).join(` ${op} `)})`
}

/**
 * The test of one rule value against `x`: an element's raw JSON for a number comparison, the
 * element's text for anything else.
 */
function valueTest(key: string, mods: string[], value: unknown, x: string, ctx: SqlValueContext) {
  const { params } = ctx
  const op = numericOps.find((m) => mods.includes(m))
  const timePart = timeParts.find((m) => mods.includes(m))
  if (op || timePart) {
    const n = typeof value === 'number' ? value : Number(value)
    if (typeof value === 'boolean' || !Number.isFinite(n)) {
      throw new RuleCompileError(`"${key}" needs a number, got ${JSON.stringify(value)}`)
    }
    // A time part alone is compared for equality, as the stream's numberComparison does.
    const sign = op ? { gt: '>', gte: '>=', lt: '<', lte: '<=' }[op] : '='
    const number = timePart ? sqlTimePart(x, timePart, params) : sqlNumber(x, params)
    return `ifNull(${number} ${sign} ${params.bind(n, 'Float64')}, 0)`
  }

  if (typeof value === 'object' && value !== null) {
    throw new RuleCompileError(
      `"${key}" values must be strings, numbers or null, got a map or list`,
    )
  }
  const text = String(value)
  if (mods.includes('re')) return regexTest(key, text, mods, x, params)
  if (mods.includes('cidr')) return cidrTest(key, text, x, params)
  const patterns = stringAlternatives(key, mods, text, ctx.options)
  return join(
    patterns.map((p) => patternTest(p, x, params)),
    'OR',
  )
}

/** Characters JavaScript's `toLowerCase` maps onto another single unit: lower → sources. */
let lowerSources: Map<string, string[]> | undefined
/** Non-ASCII characters `foldCase` maps onto another: folded → sources. */
let foldSources: Map<string, string[]> | undefined

function inverse(map: (ch: string) => string): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (let code = 0x80; code <= 0xffff; code++) {
    if (code >= 0xd800 && code <= 0xdfff) continue
    const ch = String.fromCharCode(code)
    const to = map(ch)
    if (to.length !== 1 || to === ch) continue
    const list = out.get(to) ?? []
    list.push(ch)
    out.set(to, list)
  }
  return out
}

/**
 * SQL: `text` with the characters mapped that `sources` maps onto any character of
 * `targets`. ClickHouse's `lower` folds ASCII only; the non-ASCII characters that matter to a
 * given value are translated one for one (`translateUTF8`), which is exact because both the
 * stream's folds map one unit to one unit (the exceptions are refused before this).
 */
function mapped(
  text: string,
  targets: string,
  sources: Map<string, string[]>,
  params: SqlParams,
): string {
  let from = ''
  let to = ''
  for (const target of new Set(targets)) {
    for (const source of sources.get(target) ?? []) {
      if (from.includes(source)) continue
      from += source
      to += target
    }
  }
  const lowered = `lower(${text})`
  if (from === '') return lowered
  return `translateUTF8(${lowered}, ${params.text(from)}, ${params.text(to)})`
}

/**
 * The test of one pattern (literals, `*`, `?`, windash positions) against a text, with the
 * stream's case rules (`compile-pattern.ts`): an exact value compares `toLowerCase` forms of
 * equal-length text, anything with a wildcard compares folded text (`fold-case.ts`), and a
 * cased or encoded value compares text as it is.
 */
function patternTest(p: StringPattern, text: string, params: SqlParams): string {
  const shape = p.parts.map((q) => (q.k === 'lit' ? 'L' : q.k === 'star' ? '*' : '?')).join('')
  if (shape === '') return `${text} = ''`
  if (shape === '*') return '1'
  const lit = (p.parts.find((q) => q.k === 'lit') as { s: string } | undefined)?.s ?? ''

  if (shape === 'L' && p.cased) return `${text} = ${params.text(lit)}`
  if (shape === 'L') return lowerEquals(text, lit, params)

  const folded: Part[] = p.cased
    ? p.parts
    : p.parts.map((q) => (q.k === 'lit' ? { k: 'lit', s: foldCase(q.s) } : q))
  const literals = folded.map((q) => (q.k === 'lit' ? q.s : '')).join('')
  const hay = p.cased ? text : mapped(text, literals, (foldSources ??= inverse(foldCase)), params)
  const needle = (folded.find((q) => q.k === 'lit') as { s: string } | undefined)?.s ?? ''
  if (shape === 'L*') return `startsWith(${hay}, ${params.text(needle)})`
  if (shape === '*L') return `endsWith(${hay}, ${params.text(needle)})`
  if (shape === '*L*') return `position(${hay}, ${params.text(needle)}) > 0`
  // Spec ("String Wildcard"): `?` is one character. The stream counts code units in ASCII
  // text and code points in other text, which is RE2's `.` over UTF-8 in both cases.
  return `match(${hay}, ${params.text(globSource(folded))})`
}

/**
 * SQL: `text.toLowerCase() === lit.toLowerCase()` for text of `lit`'s length, as the stream
 * compares exact case-insensitive values.
 */
export function lowerEquals(text: string, lit: string, params: SqlParams): string {
  const lower = lit.toLowerCase()
  // A final sigma lowers by its neighbours, and U+0130 to two units: no one-for-one map.
  if (/[\u03a3\u03c2\u03c3\u0130]/.test(lit) || /[\ud800-\udfff]/.test(lit)) {
    throw new SqlUnsupportedError(
      `exact value ${JSON.stringify(lit)} lowers by context or into two characters in ` +
        'JavaScript (sigma, dotted I, or outside the BMP); SQL cannot compare it the same way',
    )
  }
  lowerSources ??= inverse((c) => c.toLowerCase())
  return `${mapped(text, lower, lowerSources, params)} = ${params.text(lower)}`
}

const dashClass = `[${[...dashChars].map((c) => `\\x{${c.charCodeAt(0).toString(16)}}`).join('')}]`

/** `^...$` in RE2 for a pattern, with `(?s)` so that `?` and `*` take line breaks too. */
function globSource(parts: readonly Part[]): string {
  const body = parts
    .map((p) => {
      if (p.k === 'lit') return re2Literal(p.s)
      if (p.k === 'star') return '.*'
      if (p.k === 'one') return '.'
      return dashClass
    })
    .join('')
  return `(?s)^${body}$`
}

function re2Literal(s: string): string {
  let out = ''
  for (const ch of s) {
    const code = ch.codePointAt(0)!
    if (/[A-Za-z0-9_]/.test(ch) || code >= 0x80) out += ch
    else if (code < 0x20 || code === 0x7f) out += `\\x{${code.toString(16)}}`
    else out += `\\${ch}`
  }
  return out
}

/** SQL for `re` on a text: the stream's regular expression, rewritten for RE2. */
function regexTest(
  key: string,
  source: string,
  mods: readonly string[],
  text: string,
  params: SqlParams,
): string {
  const re = compileRegex(key, source, mods)
  const re2 = re2Source(re.source, re.flags)
  if (typeof re2 !== 'string') {
    throw new SqlUnsupportedError(`"${key}": ${JSON.stringify(source)}: ${re2.refused}`)
  }
  return `match(${re2Haystack(text, re.flags.includes('i'), params)}, ${params.text(re2)})`
}

/** The text a rewritten pattern runs on (see `re2-source.ts` for why). */
function re2Haystack(text: string, ignoreCase: boolean, params: SqlParams): string {
  const replacement = params.text('\uFFFD\uFFFD')
  const outsideBmp = params.text('[\\x{10000}-\\x{10FFFF}]')
  const astral = `replaceRegexpAll(${text}, ${outsideBmp}, ${replacement})`
  if (!ignoreCase) return astral
  return `translateUTF8(${astral}, ${params.text('\u212A\u017F')}, ${params.text('\uFFFD\uFFFD')})`
}

/** SQL for `cidr` on a text: the stream's address reading (`readIp`) and range test. */
function cidrTest(key: string, range: string, text: string, params: SqlParams): string {
  const net = readCidr(range)
  if (typeof net === 'string') {
    throw new RuleCompileError(`"${key}": ${JSON.stringify(range)} is not a CIDR range: ${net}`)
  }
  // The stream ignores a `%zone`, and reads IPv4 only when the text has no colon at all.
  const address = `splitByChar('%', ${text})[1]`
  const v4Shape = params.text('^[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}$')
  const v4 =
    `if(position(${text}, ':') = 0 AND match(${address}, ${v4Shape}), ` +
    `toIPv4OrNull(${address}), NULL)`
  const v6 = `if(position(${text}, ':') > 0, toIPv6OrNull(${address}), NULL)`
  const inRange = (ip: string, cidr: string): string =>
    `ifNull(isIPAddressInRange(${ip}, ${params.text(cidr)}), 0)`
  if (net.bytes.length === 16) return inRange(`IPv6NumToString(${v6})`, cidrText(net))
  // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4 address.
  const mappedNet: Network = {
    bytes: [...Array(10).fill(0), 0xff, 0xff, ...net.bytes],
    prefix: 96 + net.prefix,
  }
  return (
    `(${inRange(`IPv4NumToString(${v4})`, cidrText(net))} OR ` +
    `${inRange(`IPv6NumToString(${v6})`, cidrText(mappedNet))})`
  )
}

function cidrText(net: Network): string {
  if (net.bytes.length === 4) return `${net.bytes.join('.')}/${net.prefix}`
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2)
    groups.push(((net.bytes[i]! << 8) | net.bytes[i + 1]!).toString(16))
  return `${groups.join(':')}/${net.prefix}`
}

function compileFieldref(
  key: string,
  mods: string[],
  values: unknown[],
  fieldRaw: string,
  all: boolean,
  ctx: SqlValueContext,
): string {
  if (!mods.includes('cased')) {
    throw new SqlUnsupportedError(
      `"${key}": fieldref without cased compares JavaScript toLowerCase forms of two event ` +
        'values, which SQL has no equal of for non-ASCII text; add cased, or hunt in the stream',
    )
  }
  const how = mods.includes('contains')
    ? 'position'
    : mods.includes('startswith')
      ? 'startsWith'
      : mods.includes('endswith')
        ? 'endsWith'
        : 'equals'
  // The stream compares the whole values' texts: a list is no text, and compares false.
  const textOf = (raw: string): string => {
    const r = `ifNull(${raw}, '')`
    return `if(${hasText(r)}, ${elementText(r)}, NULL)`
  }
  const a = textOf(fieldRaw)
  const tests = values.map((v) => {
    if (typeof v !== 'string') throw new RuleCompileError(`"${key}": fieldref needs a field name`)
    const b = textOf(ctx.resolve(v))
    const compare = how === 'position' ? `position(${a}, ${b}) > 0` : `${how}(${a}, ${b})`
    return `ifNull(${compare}, 0)`
  })
  return join(tests, all ? 'AND' : 'OR')
}

/**
 * Keyword search (`compileKeywords` in the stream): every value is `contains` unless it says
 * otherwise, tested on each leaf the stream reads (`isSearched` in field-cache.ts): of a
 * Windows event its `winlog` block and `message`, of any other event every field but `id` and
 * `@timestamp`.
 */
function compileSqlKeywords(
  key: string,
  mods: string[],
  values: unknown[],
  ctx: SqlValueContext,
): string {
  const { params } = ctx
  const effective = keywordModifiers(mods)
  const tests: string[] = []
  for (const value of values) {
    checkKeywordValue(key, value)
    if (effective.includes('re')) tests.push(regexTest(key, String(value), effective, '_l', params))
    else {
      const patterns = stringAlternatives(key, effective, String(value), ctx.options)
      tests.push(
        join(
          patterns.map((p) => patternTest(p, '_l', params)),
          'OR',
        ),
      )
    }
  }
  const leaves = ctx.columns
    ? ctx.columns.column(`leaves:${ctx.column}`, () => keywordLeaves(ctx.column, params))
    : keywordLeaves(ctx.column, params)
  if (mods.includes('all')) {
    return join(
      tests.map((t) => `arrayExists(_l -> ${t}, ${leaves})`),
      'AND',
    )
  }
  return `arrayExists(_l -> ${join(tests, 'OR')}, ${leaves})`
}

/**
 * SQL: the texts of every string, number and boolean a keyword search reads. JSON text as
 * Palisade stores it (`JSON.stringify`, no white space) is cut into tokens: a string (a key
 * when a colon follows), a number, true or false; the keys are dropped and the strings
 * decoded. Numbers are kept as written, which is JavaScript's `String(number)`.
 */
function keywordLeaves(column: string, params: SqlParams): string {
  const token = params.text('"(?:[^"\\\\]|\\\\.)*":?|-?[0-9][0-9.eE+-]*|true|false')
  const tokens = (raw: string): string =>
    `arrayMap(_t -> if(startsWith(_t, '"'), JSONExtractString(_t), _t), ` +
    `arrayFilter(_t -> NOT endsWith(_t, ':'), extractAll(${raw}, ${token})))`
  const windows =
    `arrayConcat(${tokens(`JSONExtractRaw(${column}, 'winlog')`)}, ` +
    `${tokens(`JSONExtractRaw(${column}, 'message')`)})`
  const other =
    `arrayFlatten(arrayMap(_kv -> ${tokens('_kv.2')}, arrayFilter(_kv -> _kv.1 NOT IN ` +
    `('id', '@timestamp'), JSONExtractKeysAndValuesRaw(${column}))))`
  return `if(JSONHas(${column}, 'winlog'), ${windows}, ${other})`
}
