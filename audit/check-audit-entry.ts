import { isIP } from 'node:net'

import { describeValue, ValidationError } from '../platform/errors.ts'
import type { AuditEntryInput } from './audit-log.ts'

const ACTOR_KINDS = new Set(['token', 'user', 'system'])
const OUTCOMES = new Set(['success', 'failure', 'denied'])
const ENTRY_FIELDS = new Set(['actor', 'action', 'target', 'outcome', 'source', 'details'])
const ACTION = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/
const MAX_ID = 256
const MAX_DETAILS = 32
const MAX_DETAIL_STRING = 1024

/** Words that name a secret; a detail key made of any of them is refused. */
const SECRET_WORDS = new Set([
  'token',
  'tokens',
  'password',
  'passwords',
  'passwd',
  'passphrase',
  'secret',
  'secrets',
  'pin',
  'key',
  'keys',
  'apikey',
  'credential',
  'credentials',
  'cookie',
])

/** The shape of a Palisade API token (`pal_` and 32 random bytes in base64url). */
const PALISADE_TOKEN = /pal_[A-Za-z0-9_-]{43}/

/**
 * Checks an audit entry before it is stored, one field at a time, and refuses what looks like
 * a secret. The entry is stored forever and handed to auditors, so a secret in it could never
 * be taken back.
 *
 * @throws {ValidationError} `PAL_AUDIT_ENTRY_INVALID` naming the field and what arrived, or
 *   `PAL_AUDIT_SECRET_REFUSED` naming the field (never its value).
 */
export function checkAuditEntry(entry: AuditEntryInput): void {
  if (typeof entry !== 'object' || entry === null) invalid('', 'an object', entry)

  for (const field of Object.keys(entry)) {
    if (!ENTRY_FIELDS.has(field)) invalid('', `only ${[...ENTRY_FIELDS].join(', ')}`, field)
  }

  const { actor } = entry
  if (typeof actor !== 'object' || actor === null) invalid('actor', 'an object', actor)
  if (!ACTOR_KINDS.has(actor.kind)) invalid('actor.kind', 'token, user or system', actor.kind)
  checkText('actor.id', actor.id, MAX_ID)
  if (actor.name !== undefined) checkText('actor.name', actor.name, MAX_ID)

  if (typeof entry.action !== 'string' || !ACTION.test(entry.action) || entry.action.length > 100) {
    invalid('action', 'noun.verb in lower case, e.g. token.create', entry.action)
  }

  if (entry.target !== undefined) {
    const { target } = entry
    if (typeof target !== 'object' || target === null) invalid('target', 'an object', target)
    checkText('target.kind', target.kind, MAX_ID)
    checkText('target.id', target.id, MAX_ID)
  }

  if (!OUTCOMES.has(entry.outcome)) {
    invalid('outcome', 'success, failure or denied', entry.outcome)
  }

  if (entry.source !== undefined) {
    const { source } = entry
    if (typeof source !== 'object' || source === null) invalid('source', 'an object', source)
    if (source.ip !== undefined && (typeof source.ip !== 'string' || isIP(source.ip) === 0)) {
      invalid('source.ip', 'an IPv4 or IPv6 address', source.ip)
    }
  }

  if (entry.details !== undefined) checkDetails(entry.details)

  // Last, over every string the entry holds, so no field can carry a token in by mistake.
  for (const [path, text] of strings(entry, '')) {
    if (PALISADE_TOKEN.test(text)) refuse(path, 'its value looks like a Palisade API token')
  }
}

function checkDetails(details: Record<string, unknown>): void {
  if (typeof details !== 'object' || details === null || Array.isArray(details)) {
    invalid('details', 'an object of strings, numbers and booleans', details)
  }

  const keys = Object.keys(details)
  if (keys.length > MAX_DETAILS) invalid('details', `at most ${MAX_DETAILS} keys`, keys.length)

  for (const key of keys) {
    if (looksSecret(key)) refuse(`details.${key}`, 'its name says it holds a secret')
  }

  for (const [key, value] of Object.entries(details)) {
    const path = `details.${key}`
    if (typeof value === 'string') checkText(path, value, MAX_DETAIL_STRING, true)
    else if (typeof value === 'number' && !Number.isFinite(value)) {
      invalid(path, 'a finite number', value)
    } else if (typeof value !== 'number' && typeof value !== 'boolean') {
      invalid(path, 'a string, number or boolean', value)
    }
  }
}

/** `apiToken`, `api_token`, `API-KEY`, `pin`, `db.password`: split into words, then looked up. */
function looksSecret(key: string): boolean {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
  return words.some((w) => SECRET_WORDS.has(w)) || /password|passwd|secret/i.test(key)
}

function checkText(path: string, value: unknown, max: number, emptyOk = false): void {
  if (typeof value !== 'string' || (!emptyOk && value.length === 0) || value.length > max) {
    invalid(path, `a string of ${emptyOk ? 0 : 1} to ${max} characters`, value)
  }
}

function* strings(value: unknown, path: string): Generator<[string, string]> {
  if (typeof value === 'string') yield [path || '(entry)', value]
  else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) yield* strings(v, path ? `${path}.${k}` : k)
  }
}

function invalid(path: string, expected: string, got: unknown): never {
  throw new ValidationError(
    `audit entry${path ? `.${path}` : ''}: expected ${expected}, got ${describeValue(got)}`,
    { field: path },
    'PAL_AUDIT_ENTRY_INVALID',
  )
}

function refuse(path: string, why: string): never {
  // The value is never echoed: it may be the very secret being kept out.
  throw new ValidationError(
    `audit entry.${path}: refused, ${why}; audit entries never hold secrets, name the thing ` +
      'by its id in target instead',
    { field: path },
    'PAL_AUDIT_SECRET_REFUSED',
  )
}
