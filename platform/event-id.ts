import { v5 as uuidv5, v7 as uuidv7, validate, version } from 'uuid'

import { PalisadeError } from './errors.ts'

/**
 * Event ids. An emitter's UUIDv7 is kept as it is. A record without one gets a UUIDv5 derived
 * from its own identity, so a resent batch keeps its ids and storage can drop the duplicate.
 */

// Palisade's UUIDv5 namespace (RFC 9562 §5.5); fixed forever, since ids derive from it.
const NAMESPACE = '6f1a3c2e-9b7d-5e40-8a21-3c5d7e9f0b14'

/** Id for a Windows event: its channel, computer and record id name it uniquely. */
export function windowsEventId(
  channel: string,
  computer: string,
  recordId: string | number,
): string {
  return uuidv5(`winlog\u0000${channel}\u0000${computer}\u0000${recordId}`, NAMESPACE)
}

/**
 * Id for a syslog record: its bytes and its position in the stream. `stream` names the stream
 * (a file, a TCP peer, an HTTP batch's source) so equal lines from two sources stay distinct.
 */
export function syslogEventId(stream: string, position: number, line: string): string {
  return uuidv5(`syslog\u0000${stream}\u0000${position}\u0000${line}`, NAMESPACE)
}

/** Id for a JSON record that came without one: a hash of its canonical content. */
export function contentEventId(canonicalJson: string): string {
  return uuidv5(`json\u0000${canonicalJson}`, NAMESPACE)
}

/** Any derived id from a free identity string (for sources without a helper above). */
export function derivedId(kind: string, identity: string): string {
  return uuidv5(`${kind}\u0000${identity}`, NAMESPACE)
}

/** A fresh time-ordered id for things Palisade itself creates (dead letters, batches). */
export function newId(): string {
  return uuidv7()
}

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && validate(value)
}

export function isUuidV7(value: unknown): boolean {
  return isUuid(value) && version(value) === 7
}

/**
 * Canonical JSON: object keys sorted, so the same record always hashes the same.
 *
 * `JSON.stringify` recurses once per level and overflows the stack somewhere past 2,000
 * levels, so each object's depth is tracked as it is written and a value nested deeper than
 * 256 levels fails before the recursion gets there. Ingest never comes close: normalisation
 * refuses events nested deeper than `MAX_EVENT_DEPTH` first.
 *
 * @throws PalisadeError `PAL_TOO_DEEP` for a value nested more than 256 levels deep.
 */
export function canonicalJson(value: unknown): string {
  const maxDepth = 256
  // Depth of each object or array being written, keyed by the object JSON.stringify walks.
  const depths = new Map<object, number>()
  return JSON.stringify(value, function (this: object, _key: string, v: unknown) {
    if (v === null || typeof v !== 'object') return v
    const depth = (depths.get(this) ?? 0) + 1
    if (depth > maxDepth) {
      throw new PalisadeError(
        'PAL_TOO_DEEP',
        `expected JSON nested at most ${maxDepth} levels deep, got a value nested deeper`,
        { status: 400, context: { maxDepth } },
      )
    }
    const out = Array.isArray(v)
      ? v
      : Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    depths.set(out, depth)
    return out
  })
}
