import { randomUUID } from 'node:crypto'

/**
 * ClickHouse refuses a row whose text holds a lone UTF-16 surrogate, escaped or not ("missing
 * second part of surrogate pair"), and one such value would sink its whole batch. JavaScript
 * strings may hold them: a JSON `\ud800` escape, a string cut in the wrong place, or V8's own
 * `JSON.parse` message, which quotes the text around an error cut at a fixed width. So every
 * reason a parser gives and everything we store passes through here: lone surrogates become
 * U+FFFD, everything else is untouched.
 */

interface WellFormedString {
  isWellFormed(): boolean
  toWellFormed(): string
}

/** `value` with any lone surrogate replaced by U+FFFD (Node 20 has the ES2024 methods). */
export function wellFormed(value: string): string {
  const s = value as unknown as WellFormedString
  return s.isWellFormed() ? value : s.toWellFormed()
}

// JSON.stringify writes a lone surrogate as a `\udXXX` escape and a valid pair as the
// characters themselves, so the escape marks the rare case that needs the slow path.
const LONE_SURROGATE_ESCAPE = /\\ud[89a-f]/i

/**
 * JSON text of `value` that ClickHouse stores: no lone surrogate in any string value, and no
 * integer written out beyond 64 bits.
 *
 * JSON.stringify writes an integer below 1e21 in full (2^64 as 18446744073709552000), and
 * ClickHouse (simdjson) refuses a document holding one above UInt64's greatest or below
 * Int64's least: the events table's `doc` column, `CAST(event, 'JSON')`, failed the insert,
 * so such an event became a dead letter after the stream had seen it, and no hunt found it.
 * Such numbers are written in exponent form instead (1.8446744073709552e+19): the same double
 * JavaScript holds, so the stored event means what the stream read.
 */
export function wellFormedJson(value: unknown): string {
  const text = JSON.stringify(value)
  const surrogates = LONE_SURROGATE_ESCAPE.test(text)
  // Nineteen digits in a row is the least an integer beyond 64 bits is written with; a string
  // holding them only takes the slow path for nothing.
  const numbers = LONG_DIGITS.test(text)
  if (!surrogates && !numbers) return text

  // A number past 64 bits is first written as a string no event can hold (a NUL and a fresh
  // UUID), which is then swapped for its exponent form: JSON.stringify has no way to write a
  // number in a form of our choosing.
  const big: string[] = []
  const nonce = randomUUID()
  const written = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'string') return surrogates ? wellFormed(v) : v
    if (typeof v === 'number' && Number.isInteger(v) && (v >= 2 ** 64 || v <= -(2 ** 63))) {
      return `\u0000${nonce}:${big.push(v.toExponential()) - 1}`
    }
    return v
  })
  if (big.length === 0) return written
  const placeholder = new RegExp(`"\\\\u0000${nonce}:(\\d+)"`, 'g')
  return written.replaceAll(placeholder, (_match, i: string) => big[Number(i)]!)
}

const LONG_DIGITS = /[0-9]{19}/
