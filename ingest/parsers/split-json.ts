/**
 * Framing for JSON bodies: finds where each top-level value (or each element of a top-level
 * array) starts and ends, in one pass, without building the values. Parsers then hand each span
 * to `JSON.parse` and keep the span's text as the record's `raw`, byte for byte.
 *
 * The scanner tracks only what framing needs: whether it is inside a string (and whether the
 * previous character was a backslash), and a stack of open brackets. Syntax inside a value is
 * left to `JSON.parse`, so a bad value costs only its own record. A structural error (an
 * unterminated string, a closing bracket that does not match) makes the rest of the body one
 * failed span, because nothing after it can be framed reliably.
 */

/** One framed value: `text.slice(start, end)`; `error` says why it could not be framed. */
export interface JsonSpan {
  start: number
  end: number
  error?: string
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const LBRACE = 0x7b
const RBRACE = 0x7d
const LBRACKET = 0x5b
const RBRACKET = 0x5d
const BOM = 0xfeff

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09
}

function isDelimiter(c: number): boolean {
  return (
    isSpace(c) || c === COMMA || c === LBRACE || c === RBRACE || c === LBRACKET || c === RBRACKET
  )
}

/** Index of the first non-space character at or after `i` (a leading BOM counts as space). */
export function skipSpace(text: string, i: number): number {
  const n = text.length
  if (i === 0 && text.charCodeAt(0) === BOM) i = 1
  while (i < n && isSpace(text.charCodeAt(i))) i++
  return i
}

/**
 * Index just past the closing quote of the string opening at `start`, or -1 if unterminated.
 * `indexOf` finds candidate quotes natively; a quote preceded by an odd run of backslashes is
 * escaped (RFC 8259 §7), so the search goes on after it.
 */
function skipString(text: string, start: number): number {
  let from = start + 1
  for (;;) {
    const q = text.indexOf('"', from)
    if (q < 0) return -1
    let k = q - 1
    while (k > start && text.charCodeAt(k) === BACKSLASH) k--
    if ((q - 1 - k) % 2 === 0) return q + 1
    from = q + 1
  }
}

/** The character at `i`, a whole code point (an emoji is one character, not two halves). */
function describeChar(text: string, i: number): string {
  if (i >= text.length) return 'the end of the body'
  return JSON.stringify(String.fromCodePoint(text.codePointAt(i)!))
}

/** Frames an object or array opening at `start`; brackets must nest and match. */
function scanComposite(text: string, start: number): JsonSpan {
  const n = text.length
  const closers: number[] = []
  let i = start
  while (i < n) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      const end = skipString(text, i)
      if (end < 0) return { start, end: n, error: `unterminated string opening at offset ${i}` }
      i = end
      continue
    }
    if (c === LBRACE) closers.push(RBRACE)
    else if (c === LBRACKET) closers.push(RBRACKET)
    else if (c === RBRACE || c === RBRACKET) {
      const expected = closers.pop()
      if (c !== expected) {
        const want = String.fromCharCode(expected ?? c)
        return {
          start,
          end: n,
          error: `expected "${want}" but got ${describeChar(text, i)} at offset ${i}`,
        }
      }
      if (closers.length === 0) return { start, end: i + 1 }
    }
    i++
  }
  const want = String.fromCharCode(closers[closers.length - 1] ?? RBRACE)
  return { start, end: n, error: `expected "${want}" but got the end of the body` }
}

/** Frames the one value starting at `start` (which must not be a space). */
function scanValue(text: string, start: number): JsonSpan {
  const c = text.charCodeAt(start)
  if (c === LBRACE || c === LBRACKET) return scanComposite(text, start)
  if (c === QUOTE) {
    const end = skipString(text, start)
    if (end < 0) return { start, end: text.length, error: `unterminated string at offset ${start}` }
    return { start, end }
  }
  // A scalar (number, true, false, null) or junk: it runs to the next delimiter.
  let i = start + 1
  while (i < text.length && !isDelimiter(text.charCodeAt(i))) i++
  return { start, end: i }
}

/**
 * Splits concatenated JSON values (`{...}{...}`, or separated by any whitespace, as EVTX
 * exporters and NDJSON-ish dumps write them) in a single pass. A structural error ends the
 * walk with one span covering the rest of the body.
 */
export function* splitConcatenatedJson(text: string): Generator<JsonSpan> {
  let i = skipSpace(text, 0)
  while (i < text.length) {
    const span = scanValue(text, i)
    yield span
    if (span.error) return
    i = skipSpace(text, span.end)
  }
}

/**
 * Splits the elements of a top-level JSON array. Returns `undefined` when the body does not
 * open with `[`, so the caller can decide what else it accepts. A missing comma or text after
 * the closing bracket ends the walk with one failed span covering the rest.
 */
export function splitJsonArray(text: string): JsonSpan[] | undefined {
  const open = skipSpace(text, 0)
  if (text.charCodeAt(open) !== LBRACKET) return undefined
  const spans: JsonSpan[] = []
  const n = text.length
  let i = skipSpace(text, open + 1)
  if (text.charCodeAt(i) === RBRACKET) return trailing(text, i + 1, spans)
  // An array that never closes fails from where it stopped: its "[", or the last ",".
  let from = open
  while (i < n) {
    const span = scanValue(text, i)
    spans.push(span)
    if (span.error) return spans
    i = skipSpace(text, span.end)
    const c = text.charCodeAt(i)
    if (c === RBRACKET) return trailing(text, i + 1, spans)
    if (c !== COMMA) {
      const error = `expected "," or "]" after an array element but got ${describeChar(text, i)} at offset ${i}`
      spans.push({ start: i, end: n, error })
      return spans
    }

    // RFC 8259 §5 allows no comma before "]"; the elements before it are kept, and the
    // comma fails as one record (not as a "]" element and an empty one after it).
    from = i
    i = skipSpace(text, i + 1)
    if (text.charCodeAt(i) === RBRACKET) {
      const error = `trailing comma before "]" at offset ${from} (JSON allows none)`
      spans.push({ start: from, end: n, error })
      return spans
    }
  }
  spans.push({ start: from, end: n, error: 'expected "]" but got the end of the body' })
  return spans
}

function trailing(text: string, i: number, spans: JsonSpan[]): JsonSpan[] {
  const rest = skipSpace(text, i)
  if (rest < text.length) {
    const error = `expected the end of the body after the array but got ${describeChar(text, rest)} at offset ${rest}`
    spans.push({ start: rest, end: text.length, error })
  }
  return spans
}
