import { describeValue, ValidationError } from '../../platform/errors.ts'
import type { ParsedRecord, Parser } from '../parsed-record.ts'
import { skipSpace, splitJsonArray, type JsonSpan } from './split-json.ts'
import { wellFormed } from '../../platform/well-formed.ts'

/**
 * Parsers for JSON event bodies from emitters (`application/json`, `application/x-ndjson`).
 * Each record's `event` is the emitter's object as it came; validation against the event
 * model happens later, in `normaliseRecord`, so every record gets a precise reason.
 */

/** Turns one framed JSON text into a record: an object, or a per-record error. */
function jsonRecord(index: number, raw: string, where: string): ParsedRecord {
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch (err) {
    // V8 quotes the text around the error, and may cut a surrogate pair doing it.
    const detail = wellFormed(err instanceof Error ? err.message : String(err))
    return {
      index,
      raw,
      error: { code: 'PAL_BAD_JSON', message: `${where}: invalid JSON: ${detail}` },
    }
  }

  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const message = `${where}: expected a JSON object, got ${describeValue(value)}`
    return { index, raw, error: { code: 'PAL_NOT_AN_OBJECT', message } }
  }
  return { index, raw, event: value as Record<string, unknown> }
}

function spanRecord(text: string, span: JsonSpan, index: number): ParsedRecord {
  const raw = text.slice(span.start, span.end)
  if (span.error) {
    const message = `element ${index}: cannot frame the rest of the body: ${span.error}`
    return { index, raw, error: { code: 'PAL_UNFRAMEABLE', message } }
  }
  return jsonRecord(index, raw, `element ${index} (offset ${span.start})`)
}

/**
 * Parses a JSON array of event objects. A lone top-level object is accepted as a batch of one,
 * so a webhook can post a single event without wrapping it.
 *
 * Each element keeps its exact text as `raw`. An element that is not an object, or not valid
 * JSON, fails alone; if the array's structure breaks, the rest of the body becomes one failed
 * record, and the elements before it are kept.
 *
 * @throws ValidationError `PAL_UNFRAMEABLE` when the body is neither an array nor an object.
 * @example parseJsonArray('[{"@timestamp":"2026-01-01T00:00:00Z","message":"hi"}]', ctx)
 */
export const parseJsonArray: Parser = (body) => {
  const spans = splitJsonArray(body)
  if (spans) return spans.map((span, index) => spanRecord(body, span, index))

  const start = skipSpace(body, 0)
  if (body.charCodeAt(start) === 0x7b) return [jsonRecord(0, body.slice(start).trimEnd(), 'body')]

  throw new ValidationError(
    `expected a JSON array of event objects (or one object), got ${describeValue(body.slice(start, start + 40))}`,
    { received: describeValue(body.slice(start, start + 40)) },
    'PAL_UNFRAMEABLE',
  )
}

/**
 * Parses newline-delimited JSON: one object per line. Lines are split on `\n` and a trailing
 * `\r` is dropped; blank lines are skipped. A record's `index` is its 0-based line number in
 * the body (blank lines included), so positions stay stable whatever the content.
 *
 * @example parseNdjson('{"message":"a"}\n\n{"message":"b"}\n', ctx) // indexes 0 and 2
 */
export const parseNdjson: Parser = (body) => {
  const records: ParsedRecord[] = []
  const lines = body.split('\n')
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!
    if (line.endsWith('\r')) line = line.slice(0, -1)
    if (i === 0 && line.charCodeAt(0) === 0xfeff) line = line.slice(1)
    if (line.trim() === '') continue
    records.push(jsonRecord(i, line, `line ${i + 1}`))
  }
  return records
}
