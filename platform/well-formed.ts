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

/** JSON text of `value` with no lone surrogate in any string value. */
export function wellFormedJson(value: unknown): string {
  const text = JSON.stringify(value)
  if (!LONE_SURROGATE_ESCAPE.test(text)) return text
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' ? wellFormed(v) : v))
}
