import type { z } from 'zod'

import { describeValue } from '../platform/errors.ts'
import { canonicalJson, contentEventId } from '../platform/event-id.ts'
import { incomingEvent, type PalisadeEvent } from '../platform/event-model.ts'
import type { ParsedRecord } from './parsed-record.ts'
import { wellFormed } from '../platform/well-formed.ts'

/** Why a record did not become an event; `path` names the field (empty for the whole record). */
export interface NormaliseFailure {
  code: string
  message: string
  path: string
}

/**
 * A stored event, or why there is none. `timestampDefaulted` says the record came without an
 * `@timestamp` and the event's time is when it arrived (the event is also tagged
 * `timestamp_defaulted`), so a pipeline can treat its time as a guess.
 */
export type NormaliseResult =
  | { ok: true; event: PalisadeEvent; timestampDefaulted: boolean }
  | { ok: false; reason: NormaliseFailure }

/** How many schema problems one reason lists before it says "and N more". */
const MAX_ISSUES = 3

/** Tag on events whose `@timestamp` was missing and was set to the time they arrived. */
export const TIMESTAMP_DEFAULTED_TAG = 'timestamp_defaulted'

/**
 * Deepest nesting an event may have, counting the event object as level 1. ECS events nest
 * four or five levels; 64 leaves room for any real payload and stays far below where the
 * recursive steps after this check (`canonicalJson`, storage's `JSON.stringify`) would
 * overflow the stack, which they do near 2,000 levels and which would fail the whole batch.
 */
export const MAX_EVENT_DEPTH = 64

/**
 * Field names that reach `Object.prototype` machinery. JSON.parse keeps them as own keys, but
 * zod's copy (and any `{ ...spread }` or assignment later) drops or misreads them, so the event
 * would be stored without a field the emitter sent. Failing the record says so.
 */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype'])

/**
 * The nil and max UUIDs (RFC 9562 §5.9, §5.10) are placeholders an emitter sends when it has no
 * id, so two unrelated events would share one. We treat them as no id at all, rather than
 * rejecting the record: the event is still worth keeping, and it gets a content id.
 */
const PLACEHOLDER_IDS: ReadonlySet<string> = new Set([
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
])

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
          : issue.format === 'regex'
            ? issue.message // a pattern's own description: "unpadded base64url"
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

/** A reason safe to store: no lone surrogate in its message or path. */
function failure(code: string, message: string, path: string): NormaliseResult {
  return {
    ok: false,
    reason: { code, message: wellFormed(message), path: wellFormed(path) },
  }
}

/** An object or array met while walking an event, with the way back to its parent. */
interface WalkNode {
  value: object
  depth: number
  key: string | number
  parent: WalkNode | undefined
}

function pathTo(node: WalkNode, key: string | number): string {
  const keys: (string | number)[] = [key]
  for (let n: WalkNode | undefined = node; n?.parent; n = n.parent) keys.push(n.key)
  return pathOf(keys.reverse())
}

/**
 * Walks the event once, with an explicit stack (it may be too deep to recurse into), before
 * anything that recurses sees it. Fails an event nested deeper than `MAX_EVENT_DEPTH`, one
 * holding a number JSON.parse could only read as ±Infinity (`1e999999`), which storage would
 * write as null, and one with a field named `__proto__`, `constructor` or `prototype`, which
 * would be dropped: better a dead letter that says so than an event quietly changed.
 */
function checkStructure(event: Record<string, unknown>): NormaliseResult | undefined {
  const stack: WalkNode[] = [{ value: event, depth: 1, key: '', parent: undefined }]
  for (let node = stack.pop(); node; node = stack.pop()) {
    const container = node.value
    if (Array.isArray(container)) {
      for (let i = 0; i < container.length; i++) {
        const unfit = checkChild(node, i, container[i], stack)
        if (unfit) return unfit
      }
    } else {
      const object = container as Record<string, unknown>
      for (const key in object) {
        const unfit = checkChild(node, key, object[key], stack)
        if (unfit) return unfit
      }
    }
  }
  return undefined
}

function checkChild(
  node: WalkNode,
  key: string | number,
  child: unknown,
  stack: WalkNode[],
): NormaliseResult | undefined {
  if (typeof key === 'string' && FORBIDDEN_KEYS.has(key)) {
    const path = pathTo(node, key)
    const message = `\`${path}\`: expected a field name other than __proto__, constructor or prototype`
    return failure('PAL_FORBIDDEN_KEY', message, path)
  }

  if (typeof child === 'number' && !Number.isFinite(child)) {
    const path = pathTo(node, key)
    const message =
      `\`${path}\`: expected a number of magnitude at most 1.8e308 (a 64-bit float), ` +
      `got one beyond it (JSON.parse reads it as ${child})`
    return failure('PAL_NUMBER_OUT_OF_RANGE', message, path)
  }
  if (child === null || typeof child !== 'object') return undefined

  if (node.depth >= MAX_EVENT_DEPTH) {
    const path = pathTo(node, key)
    const message =
      `\`${path}\`: expected an event nested at most ${MAX_EVENT_DEPTH} levels deep, ` +
      `got ${Array.isArray(child) ? 'an array' : 'an object'} at level ${node.depth + 1}`
    return failure('PAL_TOO_DEEP', message, path)
  }
  stack.push({ value: child, depth: node.depth + 1, key, parent: node })
  return undefined
}

/**
 * Turns a parsed record into a stored event, or says precisely why it cannot be one. Every
 * reason's message and path are well-formed UTF-16, so storing it cannot fail.
 *
 * - The record's event is validated against the event model (`incomingEvent`); the reason
 *   lists the first few problems as "`path`: expected X, got Y".
 * - An emitter's id (any valid UUID; UUIDv7 is the norm) is kept, in lowercase: UUIDs compare
 *   case-insensitively (RFC 9562 §4), and dedupe, detection and correlation compare strings.
 *   A record without one, or with the nil or max UUID (placeholders, not identities), gets
 *   `contentEventId(canonicalJson(event))` of the event as it came without its `id`, before
 *   any default below, so a resent record keeps its id.
 * - An event nested deeper than `MAX_EVENT_DEPTH` fails with `PAL_TOO_DEEP`, one with a number
 *   too large for a double (`1e999999`) with `PAL_NUMBER_OUT_OF_RANGE`, and one with a field
 *   named `__proto__`, `constructor` or `prototype` with `PAL_FORBIDDEN_KEY`, at its path;
 *   all are checked first, without recursion.
 * - A missing `@timestamp` defaults to `receivedAt`, the event is tagged
 *   `timestamp_defaulted` and the result says `timestampDefaulted: true`, so an analyst and
 *   the pipeline can tell arrival time from event time.
 * - `@timestamp` is rewritten in UTC with milliseconds (`2026-01-02T08:04:05.000Z`); finer
 *   digits are truncated.
 * - `event.ingested` is set to `receivedAt`, replacing any value the emitter sent.
 * - An event claiming a reserved dataset (`palisade` or `palisade.*`, Palisade's own sign-ins
 *   and factor changes, which the built-in rules raise critical alerts on) fails with
 *   `PAL_RESERVED_DATASET` at `event.dataset` unless `ctx.internal` says Palisade emitted it:
 *   anyone who may ingest could otherwise forge a cloned authenticator or a brute force.
 *
 * @example normaliseRecord(parseNdjson(body, ctx)[0], { receivedAt: new Date() })
 */
export function normaliseRecord(
  record: ParsedRecord,
  ctx: { receivedAt: Date; internal?: boolean },
): NormaliseResult {
  if (record.error) {
    return failure(record.error.code, record.error.message, record.error.path ?? '')
  }

  const input = record.event
  if (!isObject(input)) {
    const message = `expected an event object, got ${describeValue(input)}`
    return failure('PAL_INVALID_EVENT', message, '')
  }

  const unfit = checkStructure(input)
  if (unfit) return unfit

  const placeholder = typeof input.id === 'string' && PLACEHOLDER_IDS.has(input.id.toLowerCase())
  const identity = placeholder ? withoutId(input) : input

  const received = ctx.receivedAt.toISOString()
  const defaulted = identity['@timestamp'] === undefined
  const candidate = defaulted ? { ...identity, '@timestamp': received } : identity
  const parsed = incomingEvent.safeParse(candidate, { reportInput: true })
  if (!parsed.success) {
    const issues = parsed.error.issues
    const listed = issues.slice(0, MAX_ISSUES).map(describeIssue)
    if (issues.length > MAX_ISSUES) listed.push(`and ${issues.length - MAX_ISSUES} more`)
    const path = pathOf(issues[0]?.path ?? [])
    return failure('PAL_INVALID_EVENT', listed.join('; '), path)
  }

  const data = parsed.data
  const dataset = data.event?.dataset
  if (dataset !== undefined && !ctx.internal && isReservedDataset(dataset)) {
    const message =
      `\`event.dataset\`: expected a dataset outside palisade.*, got ${JSON.stringify(dataset)}: ` +
      `event.dataset ${dataset} is reserved for Palisade's own events`
    return failure('PAL_RESERVED_DATASET', message, 'event.dataset')
  }

  const unsealable = data.sealed ? checkSealed(data.sealed, data, placeholder) : undefined
  if (unsealable) return unsealable

  const event = {
    ...data,
    id: data.id?.toLowerCase() ?? contentEventId(canonicalJson(identity)),
    '@timestamp': new Date(data['@timestamp']).toISOString(),
    event: { ...data.event, ingested: received },
  } satisfies PalisadeEvent
  if (defaulted) event.tags = [...(data.tags ?? []), TIMESTAMP_DEFAULTED_TAG]
  return { ok: true, event, timestampDefaulted: defaulted }
}

/**
 * Fields a sealed field may not name: what identifies, times and routes the event, `event`
 * itself (Palisade adds `event.ingested` in the clear) and `dlp` (Palisade's own, added after
 * this check): a value opened there would have nowhere to go back to.
 */
const UNSEALABLE = /^((id|@timestamp|sealed|dlp|event\.(ingested|dataset))(\.|$)|event$)/

/** A segment that, set as a property on the client that opens the field, is not a field. */
const PROTOTYPE_SEGMENT = /(^|\.)__proto__(\.|$)/

/**
 * Checks what the event model cannot about sealed fields: each is bound to the event's id, so
 * the emitter must send one (an id derived here, after sealing, would make them unopenable);
 * a path is sealed once, is not also sent in the clear, and is not a field Palisade needs.
 */
function checkSealed(
  sealed: readonly { field: string }[],
  event: Record<string, unknown>,
  placeholder: boolean,
): NormaliseResult | undefined {
  if (event.id === undefined || placeholder) {
    const message =
      '`id`: expected the UUID the sealed fields were bound to when sealed, got ' +
      `${placeholder ? 'a placeholder id' : 'nothing'}: an event with sealed fields must carry ` +
      'its own id, or no one could open them'
    return failure('PAL_SEALED_WITHOUT_ID', message, 'id')
  }

  const seen = new Set<string>()
  for (const [i, { field }] of sealed.entries()) {
    const path = `sealed[${i}].field`
    if (seen.has(field)) {
      const message = `\`${path}\`: expected each field sealed once, got ${field} again`
      return failure('PAL_SEALED_DUPLICATE_FIELD', message, path)
    }
    seen.add(field)

    // One inside another could not both be put back when opened (user and user.email).
    const other = [...seen].find((f) => f.startsWith(`${field}.`) || field.startsWith(`${f}.`))
    if (other !== undefined) {
      const message =
        `\`${path}\`: expected no sealed field inside another, got ${field} beside ${other}; ` +
        'seal the outer field alone'
      return failure('PAL_SEALED_DUPLICATE_FIELD', message, path)
    }

    if (UNSEALABLE.test(field)) {
      const message =
        `\`${path}\`: expected a field other than id, @timestamp, event (and event.ingested, ` +
        `event.dataset), sealed and dlp, got ${field}: Palisade needs it in the clear`
      return failure('PAL_SEALED_FIELD_RESERVED', message, path)
    }

    if (PROTOTYPE_SEGMENT.test(field)) {
      const message =
        `\`${path}\`: expected a field path without a __proto__ segment, got ${field}: ` +
        'opened, it would set an object prototype rather than a field'
      return failure('PAL_INVALID_EVENT', message, path)
    }

    if (valueAt(event, field) !== undefined) {
      const message =
        `\`${field}\`: expected it only sealed (sealed[${i}]), got it in the clear as well; ` +
        'the event is refused rather than stored with the value it was meant to hide'
      return failure('PAL_SEALED_FIELD_IN_CLEAR', message, field)
    }
  }
  return undefined
}

/** The value at a dotted path, or undefined. */
function valueAt(event: Record<string, unknown>, path: string): unknown {
  let at: unknown = event
  for (const key of path.split('.')) {
    if (!isObject(at) || !Object.hasOwn(at, key)) return undefined
    at = at[key]
  }
  return at
}

/** Palisade's own datasets (`palisade.auth` today), matched exactly as the routes match them. */
export function isReservedDataset(dataset: string): boolean {
  return dataset === 'palisade' || dataset.startsWith('palisade.')
}

function withoutId(event: Record<string, unknown>): Record<string, unknown> {
  const rest = { ...event }
  delete rest.id
  return rest
}
