/**
 * Failure messages quote what arrived, and what arrived can hold a lone UTF-16 surrogate: a
 * JSON `\ud83d` escape, or V8's own `JSON.parse` message, which quotes the text around the
 * error cut at a fixed width, through the middle of an emoji if need be. ClickHouse refuses a
 * row holding one ("missing second part of surrogate pair"), and with it the whole batch, so
 * every reason a parser or normalisation gives passes through here.
 */

interface WellFormedString {
  isWellFormed(): boolean
  toWellFormed(): string
}

/** `text` with each lone surrogate replaced by U+FFFD (Node 20 has these ES2024 methods). */
export function wellFormedText(text: string): string {
  const s = text as unknown as WellFormedString
  return s.isWellFormed() ? text : s.toWellFormed()
}
