import type { PalisadeEvent } from '../../platform/event-model.ts'
import {
  compilePattern,
  dashChars,
  mergePlainTests,
  probeOf,
  setProbe,
  type Part,
  type PatternTest,
} from './compile-pattern.ts'
import { FieldSlot, FieldValue, isSearched, type FieldCache } from './field-cache.ts'
import { foldCase, isAscii } from './fold-case.ts'
import { requiredLiteral, shortestMatch } from './regex-literal.ts'
import { keywordLeaves, withNeed, type Probe } from './rule-needs.ts'

/**
 * Compiles one `field|modifier|...: value(s)` entry of a Sigma detection into a predicate
 * (Sigma rules specification, "Value Modifiers"; modifiers appendix v2.1.0). Everything that
 * can be decided at load time is: patterns become string tests (`compile-pattern.ts`),
 * encodings are applied to the rule's values once, never to events.
 */

export type EventPredicate = (event: PalisadeEvent) => boolean
export type FieldGetter = (event: PalisadeEvent) => unknown
/** Turns a Sigma field name into a getter over events (the route's field mapping). */
export type FieldResolver = (field: string) => FieldGetter

export interface ValueOptions {
  /** Values for `%name%` placeholders under the `expand` modifier. */
  placeholders?: Readonly<Record<string, readonly string[]>>
  /**
   * Where field values and their case-folded forms are kept for the event being evaluated,
   * shared by every entry compiled with it. The owner calls `next()` before each event; without
   * a cache, every test reads its field afresh.
   */
  cache?: FieldCache
}

/** A rule that cannot be compiled; the message says which part and why. */
export class RuleCompileError extends Error {
  /** Where in the detection block: identifier, list index, field key (outermost first). */
  path: (string | number)[] = []
  /** The line of `path` in the rule's file, when the loader recorded it. */
  line: number | undefined = undefined

  constructor(message: string) {
    super(message)
    this.name = 'RuleCompileError'
  }
}

type Value = { k: 'pat'; parts: Part[]; cased: boolean } | { k: 'bytes'; b: Buffer }
type StringTest = (s: string) => boolean
/** A test of one rule value against a field's value (or one element of an array value). */
type ValueTest = (f: FieldValue) => boolean

const STAR: Part = { k: 'star' }
const ONE: Part = { k: 'one' }
const DASH: Part = { k: 'dash' }
export const numericOps = ['gt', 'gte', 'lt', 'lte'] as const
export const timeParts = ['minute', 'hour', 'day', 'week', 'month', 'year'] as const
const transforms = new Set([
  'contains',
  'startswith',
  'endswith',
  'windash',
  'base64',
  'base64offset',
  'utf16le',
  'utf16be',
  'utf16',
  'wide',
])
const known = new Set<string>([
  ...transforms,
  'all',
  'cased',
  'neq',
  'expand',
  're',
  'i',
  'm',
  's',
  'cidr',
  'exists',
  'fieldref',
  ...numericOps,
  ...timeParts,
])

/**
 * Compiles a field entry. `field` is undefined for keyword search (a list or a `'|all'` key
 * without a field name), which looks at every string and number value of the event.
 *
 * @throws RuleCompileError for unknown modifiers, bad regular expressions, bad CIDR ranges,
 *   placeholders without a value, and values a modifier cannot take.
 */
export function compileFieldEntry(
  key: string,
  raw: unknown,
  resolve: FieldResolver,
  options: ValueOptions = {},
): EventPredicate {
  const [fieldName, ...mods] = key.split('|')
  const field = fieldName === '' ? undefined : fieldName
  checkModifiers(key, mods)
  const has = (m: string): boolean => mods.includes(m)
  const values = Array.isArray(raw) ? raw : [raw]
  if (values.length === 0) throw new RuleCompileError(`"${key}" has an empty list of values`)
  const all = has('all')
  // Modifiers appendix, "all": "Single item values are not allowed to have an all modifier".
  if (all && values.length < 2) {
    throw new RuleCompileError(`"${key}": all needs a list of two or more values, got one value`)
  }

  if (has('exists')) return compileExists(key, field, values, resolve)
  if (field === undefined) return compileKeywords(key, mods, values, options)

  const get = resolve(field)
  const slot = options.cache ? options.cache.slot(get) : new FieldSlot(get)
  let test: (f: FieldValue, e: PalisadeEvent) => boolean
  let need: Probe[] | undefined

  if (has('fieldref')) {
    test = compileFieldref(key, mods, values, resolve, all, options)
  } else {
    const tests: ValueTest[] = []
    let nullTest = false
    for (const value of values) {
      if (value === null) {
        nullTest = true
        continue
      }
      tests.push(...compileValue(key, mods, value, options))
    }
    if (nullTest && tests.length > 0) {
      throw new RuleCompileError(`"${key}": null cannot be part of a list of values`)
    }
    if (nullTest) test = (f) => f.value === undefined || f.value === null
    else {
      test = combine(tests, all)
      need = needOfTests(get, tests, all)
    }
  }

  if (has('neq')) return (e) => !test(slot.read(e), e)
  return withNeed((e) => test(slot.read(e), e), need)
}

/**
 * The type modifiers (rules specification, "Modifier Types") decide how a value is read, and
 * each takes only the modifiers that make sense for that reading; any other would be silently
 * ignored, so it is refused. `expand` is left to placeholder handling.
 */
const typeModifiers: Record<string, readonly string[]> = {
  re: ['re', 'i', 'm', 's', 'cased', 'neq', 'all'],
  cidr: ['cidr', 'neq', 'all'],
  // Appendix: fieldref "can be combined with the neq modifier"; the string positions and
  // cased apply to the referenced value as they would to a written one.
  fieldref: ['fieldref', 'neq', 'all', 'cased', 'contains', 'startswith', 'endswith'],
  exists: ['exists'],
}
const numberModifiers: readonly string[] = [...numericOps, ...timeParts, 'neq', 'all']

/** Rejects unknown modifiers and combinations in which one modifier would do nothing. */
export function checkModifiers(key: string, mods: readonly string[]): void {
  for (const mod of mods) {
    if (known.has(mod)) continue
    const near = [...known].find((k) => k.length > 2 && editDistance(k, mod) <= 2)
    const hint = near ? ` (did you mean ${near}?)` : ''
    throw new RuleCompileError(`unknown modifier "${mod}" in "${key}"${hint}`)
  }

  // Appendix, "Regular Expression": i, m and s are sub-modifiers of re.
  for (const sub of ['i', 'm', 's']) {
    if (mods.includes(sub) && !mods.includes('re')) {
      throw new RuleCompileError(`"${key}": ${sub} is a sub-modifier of re and needs it`)
    }
  }

  const kind = Object.keys(typeModifiers).find((m) => mods.includes(m))
  const numeric = mods.find((m) => numberModifiers.includes(m) && m !== 'neq' && m !== 'all')
  const allowed = kind ? typeModifiers[kind]! : numeric ? numberModifiers : undefined
  const name = kind ?? numeric
  for (const mod of allowed ? mods : []) {
    if (mod !== 'expand' && !allowed!.includes(mod)) {
      throw new RuleCompileError(`"${key}": ${name} cannot be combined with ${mod}`)
    }
  }

  if (mods.filter((m) => (numericOps as readonly string[]).includes(m)).length > 1) {
    throw new RuleCompileError(`"${key}": only one of ${numericOps.join(', ')} can apply`)
  }
  if (mods.filter((m) => (timeParts as readonly string[]).includes(m)).length > 1) {
    throw new RuleCompileError(`"${key}": only one of ${timeParts.join(', ')} can apply`)
  }
}

/** Levenshtein distance, for suggesting the modifier a misspelt one was meant to be. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const next = [i]
    for (let j = 1; j <= b.length; j++) {
      const swap = row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)
      next.push(Math.min(swap, row[j]! + 1, next[j - 1]! + 1))
    }
    row = next
  }
  return row[b.length]!
}

/** Probes one of which holds when the value tests pass (any one test's under `all`). */
function needOfTests(get: FieldGetter, tests: ValueTest[], all: boolean): Probe[] | undefined {
  const need: Probe[] = []
  for (const t of tests) {
    const probe = probeOf(t)
    if (probe && all) return [{ get, ...probe }]
    if (!probe && !all) return undefined
    if (probe) need.push({ get, ...probe })
  }
  return all ? undefined : need
}

/** OR (or AND under `all`) over value tests; an event array matches when an element does. */
function combine(values: ValueTest[], all: boolean): ValueTest {
  const tests = all ? values : mergePlainTests(values)
  let one: ValueTest
  if (tests.length === 1) one = tests[0]!
  else if (all) {
    one = (f) => {
      for (let i = 0; i < tests.length; i++) if (!tests[i]!(f)) return false
      return true
    }
  } else {
    one = (f) => {
      for (let i = 0; i < tests.length; i++) if (tests[i]!(f)) return true
      return false
    }
  }
  // Array elements are tested one at a time through this value, refilled for each.
  const element = new FieldValue()
  return (f) => {
    const v = f.value
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) if (one(element.set(v[i]))) return true
      return false
    }
    return one(f)
  }
}

/** Tests for one rule value; a value may expand into several alternatives (OR). */
function compileValue(
  key: string,
  mods: string[],
  value: unknown,
  options: ValueOptions,
): ValueTest[] {
  const has = (m: string): boolean => mods.includes(m)

  const timePart = timeParts.find(has)
  const op = numericOps.find(has)
  if (timePart || op) {
    const n = typeof value === 'number' ? value : Number(value)
    if (typeof value === 'boolean' || !Number.isFinite(n)) {
      throw new RuleCompileError(`"${key}" needs a number, got ${JSON.stringify(value)}`)
    }
    const cmp = numberComparison(op, n)
    if (!timePart) return [(f) => cmp(toNumber(f.value))]
    return [(f) => cmp(datePart(f.value, timePart))]
  }

  if (typeof value === 'object' && value !== null) {
    throw new RuleCompileError(
      `"${key}" values must be strings, numbers or null, got a map or list`,
    )
  }
  const text = String(value)

  if (has('re')) {
    const re = compileRegex(key, text, mods)
    // A text shorter than any match is not worth the engine's time (regex-literal.ts).
    const shortest = shortestMatch(re.source)
    const test: ValueTest =
      shortest > 1
        ? (f) => f.text !== undefined && f.text.length >= shortest && re.test(f.text)
        : (f) => f.text !== undefined && re.test(f.text)
    // Every match holds the pattern's required literal, so the rule can wait for it.
    const literal = requiredLiteral(re.source)
    const needle = literal === undefined ? undefined : foldCase(literal)
    if (needle !== undefined && isAscii(needle)) {
      setProbe(test, { kind: 'substring', value: needle })
    }
    return [test]
  }
  if (has('cidr')) {
    const net = readCidr(text)
    if (typeof net === 'string') {
      throw new RuleCompileError(`"${key}": ${JSON.stringify(text)} is not a CIDR range: ${net}`)
    }
    return [(f) => f.text !== undefined && inNetwork(f.text, net)]
  }

  return buildStringTests(key, mods, text, options)
}

/** Applies string transformations in the order written, then compiles each alternative. */
function buildStringTests(
  key: string,
  mods: string[],
  text: string,
  options: ValueOptions,
): PatternTest[] {
  return stringAlternatives(key, mods, text, options).map((p) => compilePattern(p.parts, p.cased))
}

/** A string value after placeholders and transformations: the patterns it stands for (OR). */
export interface StringPattern {
  parts: Part[]
  cased: boolean
}

/**
 * The patterns one string value stands for once `expand`, the positions (`contains`,
 * `startswith`, `endswith`), `windash` and the encodings are applied in the order written.
 * Both back ends match these, so an encoding means the same in the stream and in SQL.
 */
export function stringAlternatives(
  key: string,
  mods: readonly string[],
  text: string,
  options: ValueOptions,
): StringPattern[] {
  const cased = mods.includes('cased')
  const sources = mods.includes('expand') ? expandPlaceholders(key, text, options) : [text]
  let values: Value[] = sources.map((s) => ({ k: 'pat', parts: parsePattern(s), cased }))

  for (const mod of mods) {
    if (!transforms.has(mod)) continue
    values = values.flatMap((v) => applyTransform(key, mod, v))
  }
  return values.map((v) => (v.k === 'pat' ? v : bytesToPattern(v.b, cased)))
}

/** A keyword's modifiers as applied: `contains` unless one saying where to match is given. */
export function keywordModifiers(mods: string[]): string[] {
  const positional = ['contains', 'startswith', 'endswith', 're', 'cidr']
  return mods.some((m) => positional.includes(m)) ? mods : ['contains', ...mods]
}

/** Throws unless a keyword value is a scalar (a string or number); `key` names the list. */
export function checkKeywordValue(key: string, value: unknown): void {
  if (value !== null && typeof value !== 'object') return
  const got = value === null ? 'null' : 'a map or list'
  const where = key === '' ? 'keywords' : `"${key}": keywords`
  throw new RuleCompileError(`${where} must be strings or numbers, got ${got}`)
}

/** Same treatment for keywords: implicit `contains`, tested on every value of the event. */
function compileKeywords(
  key: string,
  mods: string[],
  values: unknown[],
  options: ValueOptions,
): EventPredicate {
  const effective = keywordModifiers(mods)
  const tests: PatternTest[] = []
  for (const value of values) {
    checkKeywordValue(key, value)
    if (effective.includes('re')) {
      const re = compileRegex(key, String(value), effective)
      const shortest = shortestMatch(re.source)
      tests.push((f) => f.text!.length >= shortest && re.test(f.text!))
    } else tests.push(...buildStringTests(key, effective, String(value), options))
  }
  const cache = options.cache
  if (cache) {
    const need = needOfTests(keywordLeaves, tests, mods.includes('all'))?.filter(
      (p) => p.kind === 'substring',
    )
    if (mods.includes('all')) {
      return withNeed(
        (e) => {
          for (let i = 0; i < tests.length; i++) if (!cache.someLeaf(e, tests[i]!)) return false
          return true
        },
        need?.length === 1 ? need : undefined,
      )
    }
    // A keyword list is mostly plain `contains` values: one merged test per leaf, not one each.
    const merged = mergePlainTests(tests)
    const any =
      merged.length === 1
        ? merged[0]!
        : (leaf: FieldValue) => {
            for (let i = 0; i < merged.length; i++) if (merged[i]!(leaf)) return true
            return false
          }
    // Every value is `contains` here, so its probe (if any) is a substring of some leaf.
    const gated = need !== undefined && need.length === tests.length ? need : undefined
    return withNeed((e) => cache.someLeaf(e, any), gated)
  }
  // Without a rule set's cache, each leaf is tested through one value, refilled for each.
  const leaf = new FieldValue()
  if (mods.includes('all')) {
    const each = tests.map(
      (t): StringTest =>
        (s) =>
          t(leaf.set(s)),
    )
    return (e) => each.every((t) => anyLeaf(e, t))
  }
  const any: StringTest = (s) => {
    leaf.set(s)
    for (let i = 0; i < tests.length; i++) if (tests[i]!(leaf)) return true
    return false
  }
  return (e) => anyLeaf(e, any)
}

/** Whether any string or number value a keyword search reads (`isSearched`) passes. */
function anyLeaf(node: unknown, test: StringTest, top = true): boolean {
  if (typeof node === 'string') return test(node)
  if (typeof node === 'number' || typeof node === 'boolean') return test(String(node))
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) if (anyLeaf(node[i], test, false)) return true
    return false
  }
  if (node && typeof node === 'object') {
    for (const k in node) {
      if (top && !isSearched(node, k)) continue
      if (anyLeaf((node as Record<string, unknown>)[k], test, false)) return true
    }
  }
  return false
}

function compileExists(
  key: string,
  field: string | undefined,
  values: unknown[],
  resolve: FieldResolver,
): EventPredicate {
  if (field === undefined) throw new RuleCompileError(`"${key}": exists needs a field name`)
  if (values.length !== 1 || typeof values[0] !== 'boolean') {
    const got = values.length === 1 ? JSON.stringify(values[0]) : 'a list'
    throw new RuleCompileError(`"${key}": exists takes true or false, got ${got}`)
  }
  const want = values[0]
  const get = resolve(field)
  // Spec: presence only, "be it empty or null".
  return (e) => (get(e) !== undefined) === want
}

function compileFieldref(
  key: string,
  mods: string[],
  values: unknown[],
  resolve: FieldResolver,
  all: boolean,
  options: ValueOptions,
): (f: FieldValue, e: PalisadeEvent) => boolean {
  const cased = mods.includes('cased')
  const how = mods.includes('contains')
    ? 'contains'
    : mods.includes('startswith')
      ? 'startswith'
      : mods.includes('endswith')
        ? 'endswith'
        : 'equals'
  // The referenced fields are read through the shared cache too, so their text and lower
  // case are computed once per event, however many rules compare with them.
  const slots = values.map((v) => {
    if (typeof v !== 'string') throw new RuleCompileError(`"${key}": fieldref needs a field name`)
    const get = resolve(v)
    return options.cache ? options.cache.slot(get) : new FieldSlot(get)
  })
  const compare = (a: FieldValue, b: FieldValue): boolean => {
    if (a.text === undefined || b.text === undefined) return false
    const x = cased ? a.text : a.lower()
    const y = cased ? b.text : b.lower()
    if (how === 'contains') return x.includes(y)
    if (how === 'startswith') return x.startsWith(y)
    if (how === 'endswith') return x.endsWith(y)
    return x === y
  }
  return (f, e) => {
    for (let i = 0; i < slots.length; i++) {
      const same = compare(f, slots[i]!.read(e))
      if (same !== all) return same
    }
    return all
  }
}

/** Encodings need the literal text, so a windash value is first spelled out in full. */
const encodings = new Set(['utf16le', 'wide', 'utf16be', 'utf16', 'base64', 'base64offset'])
/** Five dashes give 3,125 spellings; beyond that a rule is better written another way. */
const maxDashPermutations = 5 ** 5

function applyTransform(key: string, mod: string, v: Value): Value[] {
  if (encodings.has(mod) && v.k === 'pat' && v.parts.some((p) => p.k === 'dash')) {
    return dashPermutations(key, v).flatMap((p) => applyTransform(key, mod, p))
  }
  switch (mod) {
    case 'contains':
    case 'startswith':
    case 'endswith': {
      const p = v.k === 'pat' ? v : bytesToPattern(v.b, true)
      const parts = [...p.parts]
      if (mod !== 'startswith' && parts[0]?.k !== 'star') parts.unshift(STAR)
      if (mod !== 'endswith' && parts.at(-1)?.k !== 'star') parts.push(STAR)
      return [{ ...p, parts }]
    }
    case 'windash': {
      if (v.k !== 'pat') throw new RuleCompileError(`"${key}": windash applies to text`)
      // Spec: every -, /, en dash, em dash and horizontal bar may be any of the others.
      const parts: Part[] = []
      for (const part of v.parts) {
        if (part.k !== 'lit') parts.push(part)
        else {
          let run = ''
          for (const ch of part.s) {
            if (dashChars.includes(ch)) {
              if (run) parts.push({ k: 'lit', s: run })
              run = ''
              parts.push(DASH)
            } else run += ch
          }
          if (run) parts.push({ k: 'lit', s: run })
        }
      }
      return [{ ...v, parts }]
    }
    case 'utf16le':
    case 'wide':
    case 'utf16be':
    case 'utf16': {
      const text = literalText(key, mod, v)
      const le = Buffer.from(text, 'utf16le')
      if (mod === 'utf16le' || mod === 'wide') return [{ k: 'bytes', b: le }]
      const be = Buffer.from(le).swap16()
      if (mod === 'utf16be') return [{ k: 'bytes', b: be }]
      return [{ k: 'bytes', b: Buffer.concat([Buffer.from([0xff, 0xfe]), le]) }]
    }
    case 'base64': {
      const b = v.k === 'bytes' ? v.b : Buffer.from(literalText(key, mod, v), 'utf8')
      return [literal(b.toString('base64'))]
    }
    case 'base64offset': {
      const b = v.k === 'bytes' ? v.b : Buffer.from(literalText(key, mod, v), 'utf8')
      // The value can sit at any of three byte offsets in the encoded text; drop the first
      // and last characters that depend on neighbouring bytes (same scheme as pySigma).
      const start = [0, 2, 3]
      const end = [0, -3, -2]
      const out: Value[] = []
      for (let i = 0; i < 3; i++) {
        const enc = Buffer.concat([Buffer.alloc(i, 0x20), b]).toString('base64')
        const e = end[(b.length + i) % 3]!
        out.push(literal(enc.slice(start[i], e === 0 ? undefined : e)))
      }
      return out
    }
  }
  return [v]
}

/**
 * Appendix, "windash": it "uses all possible permutation of strings", which matching does
 * with a dash position (`compile-pattern.ts`); an encoding that follows needs each spelling.
 */
function dashPermutations(key: string, v: Value & { k: 'pat' }): Value[] {
  let out: Part[][] = [[]]
  for (const part of v.parts) {
    if (part.k !== 'dash') out = out.map((parts) => [...parts, part])
    else {
      out = out.flatMap((parts) => [...dashChars].map((s): Part[] => [...parts, { k: 'lit', s }]))
    }
    if (out.length > maxDashPermutations) {
      throw new RuleCompileError(
        `"${key}": windash before an encoding spells out more than ` +
          `${maxDashPermutations} permutations; use fewer dashes in one value`,
      )
    }
  }
  return out.map((parts) => ({ ...v, parts: joinLiterals(parts) }))
}

function joinLiterals(parts: readonly Part[]): Part[] {
  const out: Part[] = []
  for (const p of parts) {
    const last = out.at(-1)
    if (p.k === 'lit' && last?.k === 'lit') out[out.length - 1] = { k: 'lit', s: last.s + p.s }
    else out.push(p)
  }
  return out
}

/** Encoded values are compared case-sensitively: the encoding makes case meaningful. */
function literal(s: string): Value {
  return { k: 'pat', parts: [{ k: 'lit', s }], cased: true }
}

function literalText(key: string, mod: string, v: Value): string {
  if (v.k === 'bytes') return v.b.toString('latin1')
  if (v.parts.some((p) => p.k !== 'lit')) {
    throw new RuleCompileError(`"${key}": ${mod} cannot encode a value with wildcards`)
  }
  return v.parts.map((p) => (p as { s: string }).s).join('')
}

function bytesToPattern(b: Buffer, cased: boolean): Value & { k: 'pat' } {
  return { k: 'pat', parts: [{ k: 'lit', s: b.toString('latin1') }], cased }
}

/**
 * Sigma wildcards and escapes (rules specification, "Escape Character"): `*` and `?` are
 * wildcards, `\` escapes a wildcard or a backslash, and a backslash before anything else is
 * a plain backslash.
 */
export function parsePattern(text: string): Part[] {
  const parts: Part[] = []
  let run = ''
  const flush = (): void => {
    if (run) parts.push({ k: 'lit', s: run })
    run = ''
  }
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!
    if (ch === '\\') {
      const next = text[i + 1]
      if (next === '*' || next === '?' || next === '\\') {
        run += next
        i++
      } else run += ch
    } else if (ch === '*') {
      flush()
      if (parts.at(-1)?.k !== 'star') parts.push(STAR)
    } else if (ch === '?') {
      flush()
      parts.push(ONE)
    } else run += ch
  }
  flush()
  return parts
}

/**
 * `re` (modifiers appendix, "Regular Expression"): PCRE subset, case-sensitive unless `i`;
 * `m` and `s` sub-modifiers. PCRE's leading inline flags `(?i)` and the anchors `\A`, `\Z`
 * have no JavaScript equivalent and are translated.
 */
export function compileRegex(key: string, source: string, mods: readonly string[]): RegExp {
  let flags = ''
  let src = source
  const inline = /^\(\?([ims]+)\)/.exec(src)
  if (inline) {
    flags += inline[1]
    src = src.slice(inline[0].length)
  }
  for (const f of ['i', 'm', 's']) if (mods.includes(f) && !flags.includes(f)) flags += f
  src = src.replace(/\\A/g, '^').replace(/\\[zZ]/g, '$')
  try {
    return new RegExp(src, [...new Set(flags)].join(''))
  } catch (err) {
    throw new RuleCompileError(`"${key}": invalid regular expression: ${(err as Error).message}`)
  }
}

function expandPlaceholders(key: string, text: string, options: ValueOptions): string[] {
  // Spec: `%name%` is a placeholder under `expand`; `\%` is a plain percent sign.
  const segments: (string | { name: string })[] = []
  let run = ''
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!
    if (ch === '\\' && text[i + 1] === '%') {
      run += '%'
      i++
    } else if (ch === '%') {
      const end = text.indexOf('%', i + 1)
      if (end < 0) {
        run += ch
        continue
      }
      if (run) segments.push(run)
      run = ''
      segments.push({ name: text.slice(i + 1, end) })
      i = end
    } else run += ch
  }
  if (run) segments.push(run)

  let out = ['']
  for (const seg of segments) {
    if (typeof seg === 'string') {
      out = out.map((o) => o + seg)
      continue
    }
    const values = options.placeholders?.[seg.name]
    if (!values || values.length === 0) {
      throw new RuleCompileError(`"${key}": placeholder %${seg.name}% has no value`)
    }
    out = out.flatMap((o) => values.map((v) => o + v))
  }
  return out
}

function numberComparison(
  op: (typeof numericOps)[number] | undefined,
  n: number,
): (x: number | undefined) => boolean {
  switch (op) {
    case 'gt':
      return (x) => x !== undefined && x > n
    case 'gte':
      return (x) => x !== undefined && x >= n
    case 'lt':
      return (x) => x !== undefined && x < n
    case 'lte':
      return (x) => x !== undefined && x <= n
    default:
      return (x) => x === n
  }
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v)
    return Number.isFinite(n) ? n : undefined
  }
  return undefined
}

/**
 * Appendix, "Time Modifiers": a time part is "extracted" from a date and the modifiers are
 * "not designed to handle timezone or format conversions". So the parts are read as written
 * in an ISO 8601 date or date-time (`2025-01-01T03:15:00+02:00` is hour 3; Sysmon's zoneless
 * `2025-01-01 03:15:00.123` is hour 3 on any machine), without building a Date per event.
 * A number is a time in milliseconds since the epoch, read in UTC.
 */
function datePart(v: unknown, part: (typeof timeParts)[number]): number | undefined {
  if (typeof v === 'number') return epochPart(v, part)
  if (typeof v !== 'string') return undefined
  const year = digitsAt(v, 0, 4)
  const month = digitsAt(v, 5, 2)
  const day = digitsAt(v, 8, 2)
  // digitsAt gives -1 for a year that is not four ASCII digits (`２025` once read as year -1).
  if (year < 0 || v[4] !== '-' || v[7] !== '-' || month < 1 || month > 12) return undefined
  if (day < 1 || day > daysInMonth(year, month)) return undefined
  switch (part) {
    case 'year':
      return year
    case 'month':
      return month
    case 'day':
      return day
    case 'week':
      return isoWeek(year, month, day)
  }
  const sep = v[10]
  if (sep !== 'T' && sep !== 't' && sep !== ' ') return undefined
  const hour = digitsAt(v, 11, 2)
  const minute = digitsAt(v, 14, 2)
  if (v[13] !== ':' || hour > 23 || minute > 59) return undefined
  return part === 'hour' ? hour : minute
}

/** The number written with `length` digits at `at`, or -1. */
function digitsAt(s: string, at: number, length: number): number {
  if (s.length < at + length) return -1
  let n = 0
  for (let i = at; i < at + length; i++) {
    const d = s.charCodeAt(i) - 48
    if (d < 0 || d > 9) return -1
    n = n * 10 + d
  }
  return n
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31
}

/** ISO 8601 week number: the week (Monday first) holding the date's Thursday. */
function isoWeek(year: number, month: number, day: number): number {
  const days = daysFromCivil(year, month, day)
  // 1970-01-01, day 0, was a Thursday: weekday 1 (Monday) to 7 (Sunday).
  const weekday = ((((days + 3) % 7) + 7) % 7) + 1
  const thursday = days - weekday + 4
  let weekYear = year
  if (thursday < daysFromCivil(year, 1, 1)) weekYear--
  else if (thursday >= daysFromCivil(year + 1, 1, 1)) weekYear++
  return Math.floor((thursday - daysFromCivil(weekYear, 1, 1)) / 7) + 1
}

/**
 * Days from 1970-01-01 to a proleptic Gregorian date, by arithmetic on 400-year eras (Date.UTC
 * would read the years 0 to 99 as 1900 to 1999, so `0050-06-15` had the week of 1950).
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yearOfEra = y - era * 400
  const dayOfYear = Math.floor((153 * ((month + 9) % 12) + 2) / 5) + day - 1
  const dayOfEra =
    yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear
  return era * 146097 + dayOfEra - 719468
}

function epochPart(ms: number, part: (typeof timeParts)[number]): number | undefined {
  const d = new Date(ms)
  if (Number.isNaN(d.getTime())) return undefined
  switch (part) {
    case 'minute':
      return d.getUTCMinutes()
    case 'hour':
      return d.getUTCHours()
    case 'day':
      return d.getUTCDate()
    case 'month':
      return d.getUTCMonth() + 1
    case 'year':
      return d.getUTCFullYear()
    case 'week':
      return isoWeek(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate())
  }
}

export interface Network {
  bytes: number[]
  prefix: number
}

/** Parses `a.b.c.d/n` or an IPv6 range; a bare address is a full-length prefix. */
export function parseCidr(text: string): Network | undefined {
  const net = readCidr(text)
  return typeof net === 'string' ? undefined : net
}

/** A CIDR range, or what is wrong with the text. */
export function readCidr(text: string): Network | string {
  const [addr = '', bits, extra] = text.trim().split('/')
  if (extra !== undefined) return 'more than one "/"'

  const bytes = parseIp(addr)
  if (!bytes) return `${JSON.stringify(addr)} is not an IPv4 or IPv6 address`

  const size = bytes.length * 8
  if (bits !== undefined && !/^\d{1,3}$/.test(bits)) {
    return `expected a prefix length after "/", got ${JSON.stringify(bits)}`
  }
  const prefix = bits === undefined ? size : Number(bits)
  if (prefix > size) {
    const family = bytes.length === 4 ? 'IPv4' : 'IPv6'
    return `prefix length ${prefix} is longer than an ${family} address (${size} bits)`
  }
  return { bytes, prefix }
}

/** Where an event's address is read into: one buffer, so matching allocates nothing. */
const scratch = new Uint8Array(16)

function inNetwork(text: string, net: Network): boolean {
  let length = readIp(text, scratch)
  if (length === 0) return false
  let at = 0
  // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4 address.
  if (length === 16 && net.bytes.length === 4 && isV4Mapped(scratch)) {
    at = 12
    length = 4
  }
  if (length !== net.bytes.length) return false
  let bits = net.prefix
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff
    if ((scratch[at + i]! & mask) !== (net.bytes[i]! & mask)) return false
  }
  return true
}

function isV4Mapped(ip: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (ip[i] !== 0) return false
  return ip[10] === 0xff && ip[11] === 0xff
}

function parseIp(text: string): number[] | undefined {
  const out = new Uint8Array(16)
  const length = readIp(text, out)
  return length === 0 ? undefined : [...out.subarray(0, length)]
}

/**
 * Reads an IPv4 address (dotted decimal) or an IPv6 address (RFC 4291 section 2.2: hex
 * groups, one `::`, an IPv4 tail; a `%zone` is ignored) into `out`, without allocating.
 * Returns 4 or 16, the bytes written, or 0 when the text is not an address.
 */
function readIp(text: string, out: Uint8Array): 0 | 4 | 16 {
  const zone = text.indexOf('%')
  const end = zone >= 0 ? zone : text.length
  if (text.indexOf(':') < 0) return readIpv4(text, 0, end, out, 0) ? 4 : 0

  // Groups go to out as 16-bit words; those after `::` are moved to the end afterwards.
  let count = 0
  let gap = -1
  let i = 0
  if (text.startsWith('::')) {
    gap = 0
    i = 2
  }
  while (i < end) {
    const start = i
    let word = 0
    while (i < end && i - start < 5) {
      const d = hexDigit(text.charCodeAt(i))
      if (d < 0) break
      word = word * 16 + d
      i++
    }
    if (i < end && text.charCodeAt(i) === 46 /* . */) {
      if (count > 6 || !readIpv4(text, start, end, out, count * 2)) return 0
      count += 2
      break
    }
    if (i === start || i - start > 4 || count === 8) return 0
    out[count * 2] = word >> 8
    out[count * 2 + 1] = word & 0xff
    count++
    if (i === end) break
    if (text.charCodeAt(i) !== 58 /* : */) return 0
    if (text.charCodeAt(i + 1) === 58) {
      if (gap >= 0) return 0
      gap = count
      i += 2
    } else {
      i++
      if (i === end) return 0
    }
  }
  if (gap < 0) return count === 8 ? 16 : 0
  if (count > 7) return 0
  const tail = (count - gap) * 2
  out.copyWithin(16 - tail, gap * 2, count * 2)
  out.fill(0, gap * 2, 16 - tail)
  return 16
}

/** Reads `a.b.c.d` from `text[from, end)` into `out` at `at`; false when it is not one. */
function readIpv4(text: string, from: number, end: number, out: Uint8Array, at: number): boolean {
  let i = from
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (text.charCodeAt(i) !== 46 /* . */) return false
      i++
    }
    const start = i
    let n = 0
    while (i < end && i - start < 4) {
      const d = text.charCodeAt(i) - 48
      if (d < 0 || d > 9) break
      n = n * 10 + d
      i++
    }
    if (i === start || i - start > 3 || n > 255) return false
    out[at + part] = n
  }
  return i === end
}

function hexDigit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48
  const lower = code | 0x20
  if (lower >= 97 && lower <= 102) return lower - 87
  return -1
}
