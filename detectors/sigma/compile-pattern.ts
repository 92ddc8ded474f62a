import type { FieldValue } from './field-cache.ts'
import { foldCase, isAscii } from './fold-case.ts'
import { NeedleScanner } from './needle-scanner.ts'
import type { Probe } from './rule-needs.ts'

/**
 * Compiles a Sigma string value, already split into literals and wildcards, into a test over a
 * field's value. No regular expression is involved: a value with at most one literal between
 * its wildcards is `===`, `startsWith`, `endsWith` or `includes`; anything else runs a small
 * matcher over the literal segments. Case-insensitive values compare folded text (see
 * `fold-case.ts`), which the field's cache computes once per event, against needles folded
 * here once.
 */

/** One piece of a pattern: literal text, `*`, `?`, or a windash position. */
export type Part = { k: 'lit'; s: string } | { k: 'star' } | { k: 'one' } | { k: 'dash' }

/** Whether a field value passes; the value's text forms are computed and kept by the value. */
export type PatternTest = (field: FieldValue) => boolean

/** The characters the `windash` modifier makes interchangeable (modifiers appendix). */
export const dashChars = '-/\u2013\u2014\u2015'

/** `?` and windash positions, inside a segment: one code unit each. */
const ONE = 0
const DASH = 1

/** A run of parts between `*`s: literal strings and one-unit positions, of fixed length. */
interface Segment {
  atoms: (string | typeof ONE | typeof DASH)[]
  length: number
  /** The first literal and where it sits, to find candidate positions with `indexOf`. */
  anchor: string
  anchorAt: number
}

/**
 * @param parts the value's pieces, as `parsePattern` and the modifiers leave them
 * @param cased whether case matters (the `cased` modifier, or an encoded value)
 */
export function compilePattern(parts: readonly Part[], cased: boolean): PatternTest {
  const test = compileTest(parts, cased)
  const only = parts.length === 1 ? parts[0] : undefined
  const last = parts[1]
  // What the test needs (see rule-needs.ts). The fold maps no other character onto a
  // backslash, so a folded `endswith '\x.exe'` needs the folded text after the last one to be
  // `x.exe`; an exact value (cased or not) needs equal `toLowerCase` forms.
  if (only?.k === 'lit') probes.set(test, { kind: 'lower', value: only.s.toLowerCase() })
  else if (parts.length === 2 && parts[0]!.k === 'star' && last?.k === 'lit') {
    const at = last.s.lastIndexOf('\\')
    if (at >= 0) probes.set(test, { kind: 'basename', value: foldCase(last.s.slice(at + 1)) })
  }
  if (!probes.has(test)) {
    // Any other match contains each literal part, and so its folded text the folded part
    // (the fold is one code unit for one: fold-case.ts). The longest is the rarest, roughly.
    const needle = longestLiteral(parts)
    if (needle !== undefined) probes.set(test, { kind: 'substring', value: needle })
    else if (parts.some((p) => p.k === 'lit' && !isAscii(p.s))) {
      // Only non-ASCII literals (an emoji, a lookalike letter): the text must hold non-ASCII.
      probes.set(test, { kind: 'nonascii', value: '' })
    }
  }
  return test
}

const probes = new WeakMap<PatternTest, Omit<Probe, 'get'>>()

/** The longest literal part, folded, when it is ASCII (what the needle scanner takes). */
function longestLiteral(parts: readonly Part[]): string | undefined {
  let best: string | undefined
  for (const p of parts) {
    if (p.k !== 'lit' || (best !== undefined && p.s.length <= best.length)) continue
    const folded = foldCase(p.s)
    if (folded.length > 0 && isAscii(folded)) best = folded
  }
  return best
}

/** Records what a test compiled elsewhere (a regular expression) needs of its field. */
export function setProbe(test: PatternTest, probe: Omit<Probe, 'get'>): void {
  probes.set(test, probe)
}

/** What a compiled pattern needs of its field, when that is one probe. */
export function probeOf(test: PatternTest): Omit<Probe, 'get'> | undefined {
  return probes.get(test)
}

function compileTest(parts: readonly Part[], cased: boolean): PatternTest {
  const shape = parts.map((p) => (p.k === 'lit' ? 'L' : p.k === 'star' ? '*' : '?')).join('')
  const lit = parts.find((p) => p.k === 'lit')?.s ?? ''

  if (shape === '') return (f) => f.text === ''
  if (shape === '*') return (f) => f.text !== undefined
  if (shape === 'L' && cased) return (f) => f.text === lit
  if (shape === 'L') {
    // Exact values have always compared `toLowerCase` forms of equal-length text; kept so.
    const lower = lit.toLowerCase()
    const length = lit.length
    return (f) => f.text !== undefined && f.text.length === length && f.lower() === lower
  }

  const on = cased ? textTest : foldedTest
  const needle = cased ? lit : foldCase(lit)
  const how = shape === '*L' ? 'endsWith' : shape === 'L*' ? 'startsWith' : 'includes'
  if (shape === '*L' || shape === 'L*' || shape === '*L*') {
    const test = on(anyNeedle(how, [needle]))
    plain.set(test, { how, needle, cased })
    return test
  }
  const folded = cased
    ? parts
    : parts.map((p) => (p.k === 'lit' ? { k: p.k, s: foldCase(p.s) } : p))
  const glob = globMatcher(folded)
  if (!parts.some((p) => p.k === 'one')) return on(glob)
  // Spec ("String Wildcard"): `?` is "a single mandatory character". The glob matcher counts
  // UTF-16 code units, which are characters in ASCII text (the field's value knows, once per
  // event); other text may hold a character of two units, so it goes through a regular
  // expression over code points, compiled here once.
  const wide = codePointMatcher(folded)
  return (f) => {
    if (f.text === undefined) return false
    const s = cased ? f.text : f.folded()
    return f.isAscii() ? glob(s) : wide(s)
  }
}

/** `^...$` over code points (`u`), `.` under `s` for `?`, a class of the dashes for windash. */
function codePointMatcher(parts: readonly Part[]): (s: string) => boolean {
  const escape = (s: string): string => s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&')
  const dash = `[${[...dashChars].map(escape).join('').replace('-', '\\-')}]`
  const source = parts
    .map((p) => (p.k === 'lit' ? escape(p.s) : p.k === 'star' ? '.*' : p.k === 'one' ? '.' : dash))
    .join('')
  const re = new RegExp(`^${source}$`, 'su')
  return (s) => re.test(s)
}

/** A test that is one `includes`, `startsWith` or `endsWith`, with its needle. */
interface Plain {
  how: 'includes' | 'startsWith' | 'endsWith'
  needle: string
  cased: boolean
}

const plain = new WeakMap<PatternTest, Plain>()

/**
 * The same tests, ORed, with the plain ones of a kind merged into one loop over their needles:
 * a list of 40 `contains` values is one test, not 40 calls.
 */
export function mergePlainTests(tests: readonly PatternTest[]): PatternTest[] {
  const groups = new Map<string, Plain[]>()
  const out: PatternTest[] = []
  for (const t of tests) {
    const p = plain.get(t)
    if (!p) {
      out.push(t)
      continue
    }
    const key = `${p.how} ${p.cased}`
    const group = groups.get(key) ?? []
    group.push(p)
    groups.set(key, group)
  }
  for (const group of groups.values()) {
    const { how, cased } = group[0]!
    const needles = group.map((p) => p.needle)
    if (how === 'includes' && needles.length >= SCANNER_FROM && needles.every(isAscii)) {
      // Case-insensitive needles are folded already; the scanner reads the text as folded.
      const scanner = new NeedleScanner(needles, !cased)
      out.push((f) => f.text !== undefined && scanner.has(f.text))
      continue
    }
    if (how === 'endsWith' && !cased) {
      // `\\name.exe` ends the text exactly when the text's last name is `name.exe`: one lookup
      // of the field's last name (FieldValue.basename) instead of an endsWith per program.
      const names = needles.filter(isProgramSuffix)
      if (names.length >= NAMES_FROM) {
        const set = new Set(names.map((n) => n.slice(1)))
        // A text without a backslash is its own last name, and ends with no `\\name`.
        out.push((f) => {
          if (f.text === undefined) return false
          const name = f.basename()
          return set.has(name) && name.length < f.folded().length
        })
        if (names.length === needles.length) continue
        needles.splice(0, needles.length, ...needles.filter((n) => !isProgramSuffix(n)))
      }
    }
    // Text with only ASCII characters cannot hold a needle with others (an emoji list, say).
    const ascii = needles.filter(isAscii)
    const all = anyNeedle(how, needles)
    const some = ascii.length === needles.length ? all : anyNeedle(how, ascii)
    if (cased) out.push((f) => f.text !== undefined && (f.isAscii() ? some : all)(f.text))
    else out.push((f) => f.text !== undefined && (f.isAscii() ? some : all)(f.folded()))
  }
  return out
}

/** A backslash and a last name: what `Image|endswith` lists of programs are made of. */
function isProgramSuffix(needle: string): boolean {
  return needle.lastIndexOf('\\') === 0
}

/**
 * From this many `\\name` needles on, an `endswith` list looks the field's last name up in a
 * set rather than testing each. Measured here (2026-12-04) on process images: the lookup of the
 * cached last name 6-7 ns, 4 to 12 `endsWith` 40-90 ns; the last name is sliced once per field
 * and event, and gates slice it for most images anyway. SigmaHQ's System File Execution
 * Location Anomaly (80 names) went from 580 to 360 ns per run in the full rule set.
 */
const NAMES_FROM = 4

/**
 * From this many ASCII `contains` needles on, one pass of a needle scanner over the text beats
 * an `includes` per needle on the folded text. Measured on the regression data's command
 * lines: 8 needles 420 ns against 240 ns, 12 needles 290 ns against 345 ns, 20 needles
 * 260 ns against 480 ns.
 */
const SCANNER_FROM = 12

/** Whether `s` has any of the needles, as `how` says; one loop, no call per needle. */
function anyNeedle(how: Plain['how'], needles: readonly string[]): (s: string) => boolean {
  if (needles.length === 0) return () => false
  if (needles.length === 1) {
    const needle = needles[0]!
    if (how === 'includes') return (s) => s.includes(needle)
    if (how === 'startsWith') return (s) => s.startsWith(needle)
    return (s) => s.endsWith(needle)
  }
  if (how === 'includes') {
    return (s) => {
      for (let i = 0; i < needles.length; i++) if (s.includes(needles[i]!)) return true
      return false
    }
  }
  if (how === 'startsWith') {
    return (s) => {
      for (let i = 0; i < needles.length; i++) if (s.startsWith(needles[i]!)) return true
      return false
    }
  }
  return (s) => {
    for (let i = 0; i < needles.length; i++) if (s.endsWith(needles[i]!)) return true
    return false
  }
}

function textTest(test: (s: string) => boolean): PatternTest {
  return (f) => f.text !== undefined && test(f.text)
}

function foldedTest(test: (s: string) => boolean): PatternTest {
  return (f) => f.text !== undefined && test(f.folded())
}

/**
 * A matcher for any mix of literals, `*`, `?` and windash positions. Between two `*`s the
 * pattern has a fixed length, so the leftmost place a segment fits is always a right choice
 * (a later one leaves less room for the rest): the first segment must sit at the start, the
 * last at the end, and each middle one is searched for after the one before. Same answers as
 * the regular expression `^...$` with `.*` for `*` and `.` (under the `s` flag) for `?`.
 */
export function globMatcher(parts: readonly Part[]): (s: string) => boolean {
  const segments: Segment[] = []
  let current: Part[] = []
  for (const p of parts) {
    if (p.k !== 'star') current.push(p)
    else {
      segments.push(segment(current))
      current = []
    }
  }
  segments.push(segment(current))
  // segments.length - 1 stars; an empty first or last segment is an open end.
  if (segments.length === 1) {
    const only = segments[0]!
    return (s) => s.length === only.length && fitsAt(only, s, 0)
  }
  const first = segments[0]!
  const last = segments.at(-1)!
  const middle = segments.slice(1, -1).filter((g) => g.length > 0)
  const minLength = segments.reduce((n, g) => n + g.length, 0)

  return (s) => {
    if (s.length < minLength) return false
    if (first.length > 0 && !fitsAt(first, s, 0)) return false
    const end = s.length - last.length
    if (last.length > 0 && !fitsAt(last, s, end)) return false
    let from = first.length
    for (let i = 0; i < middle.length; i++) {
      const at = find(middle[i]!, s, from, end)
      if (at < 0) return false
      from = at + middle[i]!.length
    }
    return true
  }
}

function segment(parts: readonly Part[]): Segment {
  const atoms: Segment['atoms'] = []
  let length = 0
  let anchor = ''
  let anchorAt = -1
  for (const p of parts) {
    if (p.k === 'lit') {
      if (anchorAt < 0) {
        anchor = p.s
        anchorAt = length
      }
      atoms.push(p.s)
      length += p.s.length
    } else {
      atoms.push(p.k === 'dash' ? DASH : ONE)
      length++
    }
  }
  return { atoms, length, anchor, anchorAt }
}

/** Whether the segment matches `s` at `at`; the caller has checked that it fits in `s`. */
function fitsAt(g: Segment, s: string, at: number): boolean {
  let j = at
  for (let i = 0; i < g.atoms.length; i++) {
    const a = g.atoms[i]!
    if (a === ONE) j++
    else if (a === DASH) {
      if (!dashChars.includes(s[j]!)) return false
      j++
    } else {
      if (!s.startsWith(a, j)) return false
      j += a.length
    }
  }
  return true
}

/** The leftmost position at or after `from` where the segment matches, ending by `end`. */
function find(g: Segment, s: string, from: number, end: number): number {
  const last = end - g.length
  if (g.anchorAt < 0) {
    for (let at = from; at <= last; at++) if (fitsAt(g, s, at)) return at
    return -1
  }
  let at = from
  while (at <= last) {
    const hit = s.indexOf(g.anchor, at + g.anchorAt)
    if (hit < 0) return -1
    at = hit - g.anchorAt
    if (at > last) return -1
    if (fitsAt(g, s, at)) return at
    at++
  }
  return -1
}
