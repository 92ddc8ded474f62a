import { v5 as uuidv5, v7 as uuidv7, validate, version } from 'uuid'

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

/** Canonical JSON: object keys sorted, so the same record always hashes the same. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    }
    return v
  })
}
