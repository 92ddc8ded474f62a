import type { z } from 'zod'

import { describeValue } from '../platform/errors.ts'
import { canonicalJson, contentEventId } from '../platform/event-id.ts'
import { incomingEvent, type PalisadeEvent } from '../platform/event-model.ts'
import type { ParsedRecord } from './parsed-record.ts'

/** Why a record did not become an event; `path` names the field (empty for the whole record). */
export interface NormaliseFailure {
  code: string
  message: string
  path: string
}

export type NormaliseResult =
  { ok: true; event: PalisadeEvent } | { ok: false; reason: NormaliseFailure }

/** How many schema problems one reason lists before it says "and N more". */
const MAX_ISSUES = 3

/** Tag on events whose `@timestamp` was missing and was set to the time they arrived. */
export const TIMESTAMP_DEFAULTED_TAG = 'timestamp_defaulted'

function pathOf(path: readonly PropertyKey[]): string {
  let out = ''
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`
    else out += out === '' ? String(key) : `.${String(key)}`
  }
  return out
}

/** One zod issue as "`path`: expected X, got Y". */
function describeIssue(issue: z.core.$ZodIssue): string {
  const got = 'input' in issue ? describeValue(issue.input) : 'nothing'
  let expected: string
  switch (issue.code) {
    case 'invalid_type':
      expected = issue.expected
      break
    case 'invalid_format':
      expected =
        issue.format === 'datetime'
          ? 'an RFC 3339 date-time with a zone (like 2026-01-02T03:04:05.678Z)'
          : `a ${issue.format === 'uuid' ? 'UUID' : issue.format}`
      break
    case 'invalid_value':
      expected = `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`
      break
    case 'too_big':
      expected = `at most ${String(issue.maximum)}`
      break
    case 'too_small':
      expected = `at least ${String(issue.minimum)}`
      break
    default:
      expected = issue.message
  }
  return `\`${pathOf(issue.path) || '(root)'}\`: expected ${expected}, got ${got}`
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/**
 * Turns a parsed record into a stored event, or says precisely why it cannot be one.
 *
 * - The record's event is validated against the event model (`incomingEvent`); the reason
 *   lists the first few problems as "`path`: expected X, got Y".
 * - An emitter's id (any valid UUID; UUIDv7 is the norm) is kept. A record without one gets
 *   `contentEventId(canonicalJson(event))` of the event as it came, before any default below,
 *   so a resent record keeps its id.
 * - A missing `@timestamp` defaults to `receivedAt`, and the event is tagged
 *   `timestamp_defaulted`, so an analyst can tell arrival time from event time.
 * - `@timestamp` is rewritten in UTC with milliseconds (`2026-01-02T08:04:05.000Z`); finer
 *   digits are truncated.
 * - `event.ingested` is set to `receivedAt`, replacing any value the emitter sent.
 *
 * @example normaliseRecord(parseNdjson(body, ctx)[0], { receivedAt: new Date() })
 */
export function normaliseRecord(record: ParsedRecord, ctx: { receivedAt: Date }): NormaliseResult {
  if (record.error) {
    return { ok: false, reason: { ...record.error, path: record.error.path ?? '' } }
  }

  const input = record.event
  if (!isObject(input)) {
    const message = `expected an event object, got ${describeValue(input)}`
    return { ok: false, reason: { code: 'PAL_INVALID_EVENT', message, path: '' } }
  }

  const received = ctx.receivedAt.toISOString()
  const defaulted = input['@timestamp'] === undefined
  const candidate = defaulted ? { ...input, '@timestamp': received } : input
  const parsed = incomingEvent.safeParse(candidate, { reportInput: true })
  if (!parsed.success) {
    const issues = parsed.error.issues
    const listed = issues.slice(0, MAX_ISSUES).map(describeIssue)
    if (issues.length > MAX_ISSUES) listed.push(`and ${issues.length - MAX_ISSUES} more`)
    const path = pathOf(issues[0]?.path ?? [])
    return { ok: false, reason: { code: 'PAL_INVALID_EVENT', message: listed.join('; '), path } }
  }

  const data = parsed.data
  const event = {
    ...data,
    id: data.id ?? contentEventId(canonicalJson(input)),
    '@timestamp': new Date(data['@timestamp']).toISOString(),
    event: { ...data.event, ingested: received },
  } satisfies PalisadeEvent
  if (defaulted) event.tags = [...(data.tags ?? []), TIMESTAMP_DEFAULTED_TAG]
  return { ok: true, event }
}
