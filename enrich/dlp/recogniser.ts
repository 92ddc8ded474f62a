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
  accept: (match: RegExpExecArray, text: string) => Candidate | undefined
  /** Words near the value that make it likelier (`card`, `iban`) or less likely (`order`). */
  context?: ContextWords
}

export interface ContextWords {
  raise: readonly string[]
  lower?: readonly string[]
  /** Added when a raising word is near, subtracted when a lowering one is; both cancel out. */
  weight?: number
}

/** How far before and after a value context words are looked for, in UTF-16 units. */
const BEFORE = 48
const AFTER = 24

/**
 * The confidence after context words: a lowering word in the window subtracts the weight (an
 * order id that passes Luhn is still an order id), a raising one adds it, and both together
 * cancel. Words are compared whole and lower-cased, so `card` does not match `discard`.
 *
 * The window is the value's own line (up to 48 units before and 24 after), or the line above
 * when nothing but punctuation precedes the value on its line (a label above its value): in
 * multi-line text a word on another line belongs to another field, and an address line
 * above a phone number says nothing about it. `fieldName` (the last segment of the field
 * path, `order_id`) counts too, since a JSON number carries no words of its own.
 */
export function weighContext(
  text: string,
  start: number,
  end: number,
  confidence: number,
  context: ContextWords | undefined,
  fieldName = '',
): number {
  if (!context) return confidence
  const window = `${fieldName} ${linesBefore(text, start)} ${lineAfter(text, end)}`
  const words = window.toLowerCase().split(/[^a-z0-9]+/)
  const weight = context.weight ?? 0.35
  let lowered = false
  let raised = false
  for (const word of words) {
    if (word.length === 0) continue
    if (context.lower?.includes(word)) lowered = true
    else if (context.raise.includes(word)) raised = true
  }
  const weighed = confidence + (raised ? weight : 0) - (lowered ? weight : 0)
  return Math.min(1, Math.max(0, weighed))
}

/** True when `text` holds a decimal digit; most numeric recognisers need one to match. */
export function hasDigit(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c >= 48 && c <= 57) return true
  }
  return false
}

/** Up to BEFORE units before `start` on its line, or on the line above if none are words. */
function linesBefore(text: string, start: number): string {
  const from = Math.max(0, start - BEFORE)
  const lineStart = text.lastIndexOf('\n', start - 1) + 1
  const own = text.slice(Math.max(from, lineStart), start)
  if (lineStart <= from || /[A-Za-z0-9]/.test(own)) return own
  const above = text.lastIndexOf('\n', lineStart - 2) + 1
  return text.slice(Math.max(from, above), start)
}

/** Up to AFTER units after `end`, on its line. */
function lineAfter(text: string, end: number): string {
  const lineEnd = text.indexOf('\n', end)
  return text.slice(end, Math.min(end + AFTER, lineEnd < 0 ? text.length : lineEnd))
}
