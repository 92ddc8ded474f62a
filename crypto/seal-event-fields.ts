import { blindIndex } from './blind-index.ts'
import { CryptoError } from './crypto-error.ts'
import { sealField } from './sealed-field.ts'
import type { SealedField } from './sealed-field.ts'
import type { SealingPublicKey } from './sealing-key-pair.ts'

/** What `sealEventFields` needs. */
export interface SealEventFieldsInput {
  /** The data owner's public key, as registered (`GET /v1/sealing-keys/:kid`). */
  recipient: SealingPublicKey
  /**
   * Dotted paths of the fields to seal (`message`, `user.email`). A path the event does not
   * hold is skipped; a path inside an array seals the whole member that holds the array.
   */
  fields: readonly string[]
  /** When given, each sealed field carries a blind index under this key (`blindIndex`). */
  blindIndexKey?: Uint8Array
}

/** An event with its chosen fields moved into `sealed`. */
export interface SealedEvent {
  event: Record<string, unknown>
  /** The paths sealed, in the order of `sealed`. */
  sealed: string[]
}

/** What ingest needs in the clear (it identifies, times and routes the event), or holds it. */
const UNSEALABLE = /^(id|@timestamp|sealed|event|event\.(ingested|dataset)(\..*)?)$/

/**
 * Seals chosen fields of an event before it leaves the emitter: each value is removed from a
 * copy of the event and appended to its `sealed` array, bound to the event's id and the path,
 * so what is sent passes ingest's checks and is stored as sent. The event must carry the id it
 * will be sent with. The given event is left unchanged.
 *
 * @throws {CryptoError} `PAL_CRYPTO_INVALID_ARGUMENT` for an event without a string `id`, or a
 *   path ingest needs in the clear (`id`, `@timestamp`, `event.dataset`, `event.ingested`,
 *   `sealed`) or one that the event already holds sealed; those of `sealField`.
 * @example
 *   const { event } = await sealEventFields(
 *     { id, '@timestamp': now, user: { name: 'alice', email: 'alice@example.com' } },
 *     { recipient, fields: ['user.email'] },
 *   )
 */
export async function sealEventFields(
  event: Record<string, unknown>,
  input: SealEventFieldsInput,
): Promise<SealedEvent> {
  const id = event.id
  if (typeof id !== 'string' || id.length === 0) {
    throw new CryptoError(
      'PAL_CRYPTO_INVALID_ARGUMENT',
      `expected the event to carry the id it is sent with, got ${id === undefined ? 'none' : typeof id}`,
    )
  }

  const existing = Array.isArray(event.sealed) ? (event.sealed as SealedField[]) : []
  const already = new Set(existing.map((s) => s.field))
  const copy: Record<string, unknown> = structuredClone(event)
  const paths = [...new Set(input.fields.map((f) => objectPath(copy, f)))]
  const sealed: SealedField[] = []
  for (const path of paths) {
    if (path === undefined) continue

    if (UNSEALABLE.test(path)) {
      throw new CryptoError(
        'PAL_CRYPTO_INVALID_ARGUMENT',
        `cannot seal ${path}: ingest needs id, @timestamp, event.dataset, event.ingested ` +
          'and sealed in the clear',
        { context: { field: path } },
      )
    }

    if (already.has(path)) {
      throw new CryptoError(
        'PAL_CRYPTO_INVALID_ARGUMENT',
        `cannot seal ${path}: the event already holds it sealed`,
        { context: { field: path } },
      )
    }

    const value = takeAt(copy, path)
    sealed.push(
      await sealField({
        recipient: input.recipient,
        eventId: id,
        field: path,
        value,
        ...(input.blindIndexKey
          ? { blindIndex: await blindIndex(input.blindIndexKey, path, value) }
          : {}),
      }),
    )
  }
  if (sealed.length > 0) copy.sealed = [...existing, ...sealed]
  return { event: copy, sealed: sealed.map((s) => s.field) }
}

/**
 * The path of the object member that holds `field`: `field` itself when every step on the way
 * is an object, else the path up to the first array (a finding in `tags.1` seals `tags`, since
 * an opened value is put back by object paths). Undefined when the event does not hold it.
 */
function objectPath(event: Record<string, unknown>, field: string): string | undefined {
  const keys = field.split('.')
  let at: unknown = event
  for (const [i, key] of keys.entries()) {
    if (at === null || typeof at !== 'object') return undefined
    if (Array.isArray(at)) return keys.slice(0, i).join('.')
    if (!Object.hasOwn(at, key)) return undefined
    at = (at as Record<string, unknown>)[key]
  }
  return field
}

/** Removes and returns the value at an object path known to exist; drops emptied parents. */
function takeAt(event: Record<string, unknown>, path: string): unknown {
  const keys = path.split('.')
  const parents: Record<string, unknown>[] = [event]
  for (const key of keys.slice(0, -1)) parents.push(parents.at(-1)![key] as Record<string, unknown>)
  const last = keys.at(-1)!
  const value = parents.at(-1)![last]
  delete parents.at(-1)![last]
  // An object left empty would be stored as `{}` beside the sealed value; it is removed so the
  // opened event reads as the one sealed.
  for (let i = parents.length - 1; i > 0 && Object.keys(parents[i]!).length === 0; i--) {
    delete parents[i - 1]![keys[i - 1]!]
  }
  return value
}
