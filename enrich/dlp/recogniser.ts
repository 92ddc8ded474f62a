import type { DlpType } from './finding.ts'

/**
 * One candidate a recogniser accepts: where it sits in the text and how sure the recogniser
 * is before context words are weighed. Recognisers never hand the matched value onwards.
 */
export interface Candidate {
  start: number
  end: number
  confidence: number
}

/**
 * A recogniser finds one type of sensitive value. `pattern` proposes candidates (it must be
 * global or sticky-free with the `g` flag), `accept` validates one (a checksum, a range, a
 * parser) and returns its span and base confidence, or `undefined` to drop it.
 *
 * `hint` is a cheap test run before the pattern: text without it cannot hold a match, so the
 * regular expression never runs over it. It must never be stricter than the pattern.
 */
export interface Recogniser {
  name: string
  type: DlpType
  pattern: RegExp
  hint?: (text: string) => boolean
  /**
   * `digits`: every match lies inside a run of digits and phone punctuation (`0-9 ( ) . -`
   * and spaces) of at least seven characters, give or take two characters before and sixteen
   * after, so the scanner runs the pattern over those runs only, found once for all of the
   * family. `secret`: the text holds one of `SECRET_PREFIX` or `SECRET_WORD`.
   */
  family?: 'digits' | 'secret'
  /**
   * For the `digits` family: the fewest digits a match holds, and whether it needs a dot, so
   * a run that cannot hold one is skipped without running the pattern.
   */
  minDigits?: number
  needsDot?: boolean
  /**
   * `needed()` is the base confidence a candidate must reach to be reported once the context
   * words near the match are weighed; a recogniser with a costly check (a phone number
   * library) can call it first and give up early. Spans are relative to `text`.
   */
  accept: (match: RegExpExecArray, text: string, needed: () => number) => Candidate | undefined
  /** Words near the value that make it likelier (`card`, `iban`) or less likely (`order`). */
  context?: ContextWords
}

export interface ContextWords {
  raise: readonly string[]
  lower?: readonly string[]
  /** Added when a raising word is near, subtracted when a lowering one is; both cancel out. */
  weight?: number
}

const RAISED = 1
const LOWERED = 2

interface WordSets {
  /** RAISED or LOWERED per word of up to SHORT_WORD units, keyed by `wordKey`. */
  short: Map<number, number>
  /** The same for longer words, keyed by the lower-case word. */
  long: Map<string, number>
  /** The longest word, and which lower-case first units (`| 0x20` of ASCII) words start with. */
  maxLength: number
  firsts: Uint8Array
}

/** Words this long or shorter are looked up by a number, so no string is made per word. */
const SHORT_WORD = 10

/**
 * A number naming the lower-case ASCII letters and digits of `text` from `from` to `to`: each
 * unit is one base-37 digit (1 to 36, so `0a` and `a` differ), exact up to SHORT_WORD units
 * (37 ** 10 is below 2 ** 53). `| 0x20` lower-cases a letter and leaves a digit as it is.
 */
function wordKey(text: string, from: number, to: number): number {
  let key = 0
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i) | 0x20
    key = key * 37 + (c <= 57 ? c - 47 : c - 86)
  }
  return key
}

const setsOf = new WeakMap<ContextWords, WordSets>()

/** The context's words as lookup tables, made once per recogniser. */
function wordSets(context: ContextWords): WordSets {
  let sets = setsOf.get(context)
  if (!sets) {
    const all = [...context.raise, ...(context.lower ?? [])]
    const firsts = new Uint8Array(128)
    for (const word of all) firsts[word.charCodeAt(0) | 0x20] = 1
    const short = new Map<number, number>()
    const long = new Map<string, number>()
    // A word on both lists lowers: lowering words are listed second, so they overwrite.
    const kinds = [
      ...context.raise.map((word) => [word, RAISED] as const),
      ...(context.lower ?? []).map((word) => [word, LOWERED] as const),
    ]
    for (const [word, kind] of kinds) {
      if (word.length <= SHORT_WORD) short.set(wordKey(word, 0, word.length), kind)
      else long.set(word, kind)
    }
    sets = { short, long, maxLength: Math.max(...all.map((w) => w.length)), firsts }
    setsOf.set(context, sets)
  }
  return sets
}

/** How far before and after a value context words are looked for, in UTF-16 units. */
const BEFORE = 48
const AFTER = 24

/**
 * What context words add to a confidence: a lowering word in the window subtracts the weight (an
 * order id that passes Luhn is still an order id), a raising one adds it, and both together
 * cancel. Words are compared whole and lower-cased, so `card` does not match `discard`.
 *
 * The window is the value's own line (up to 48 units before and 24 after), or the line above
 * when nothing but punctuation precedes the value on its line (a label above its value): in
 * multi-line text a word on another line belongs to another field, and an address line
 * above a phone number says nothing about it. `fieldName` (the last segment of the field
 * path, `order_id`) counts too, since a JSON number carries no words of its own.
 */
export function contextDelta(
  text: string,
  start: number,
  end: number,
  context: ContextWords | undefined,
  fieldName = '',
): number {
  if (!context) return 0
  const sets = wordSets(context)
  const from = beforeStart(text, start)
  // Searched within the window only: a search to the text's end (or start) for each match
  // made a long line quadratic to scan.
  const limit = Math.min(end + AFTER, text.length)
  let to = end
  while (to < limit && text.charCodeAt(to) !== 10) to++
  const found =
    wordsIn(fieldName, 0, fieldName.length, sets) |
    wordsIn(text, from, start, sets) |
    wordsIn(text, end, to, sets)
  const weight = context.weight ?? 0.35
  return (found & RAISED ? weight : 0) - (found & LOWERED ? weight : 0)
}

/** Which kinds of context word lie in `text` between `from` and `to`, as RAISED | LOWERED. */
function wordsIn(text: string, from: number, to: number, sets: WordSets): number {
  let found = 0
  let i = from
  while (i < to) {
    if (!isWordUnit(text.charCodeAt(i))) {
      i++
      continue
    }
    const start = i
    while (i < to && isWordUnit(text.charCodeAt(i))) i++
    // Only a word of a context word's length and first letter is lower-cased and looked up.
    const first = text.charCodeAt(start) | 0x20
    if (i - start > sets.maxLength || (first < 128 && !sets.firsts[first])) continue
    const kind =
      i - start <= SHORT_WORD
        ? sets.short.get(wordKey(text, start, i))
        : sets.long.get(text.slice(start, i).toLowerCase())
    if (kind !== undefined) found |= kind
  }
  return found
}

function isWordUnit(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
}

/**
 * Where the context before `start` begins: up to BEFORE units back on its line, or on the line
 * above when its own line holds no letter or digit before the value.
 */
function beforeStart(text: string, start: number): number {
  const from = Math.max(0, start - BEFORE)
  const lineStart = lastNewline(text, from, start) + 1
  if (lineStart <= from) return from
  for (let i = lineStart; i < start; i++) {
    const c = text.charCodeAt(i) | 0x20
    if ((c >= 48 && c <= 57) || (c >= 97 && c <= 122)) return lineStart
  }
  return Math.max(from, lastNewline(text, from, lineStart - 1) + 1)
}

/** The index of the last line feed in `text` from `from` up to `before` (excluded), or -1. */
function lastNewline(text: string, from: number, before: number): number {
  for (let i = before - 1; i >= from; i--) if (text.charCodeAt(i) === 10) return i
  return -1
}
