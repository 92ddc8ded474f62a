import { CryptoError } from './crypto-error.ts'
import { openSealedField, parseSealedField } from './sealed-field.ts'
import type { SealingKeyPair } from './sealing-key-pair.ts'

/** A sealed field that stayed sealed, and why. */
export interface UnopenedField {
  field: string
  kid: string
  code: string
  message: string
}

/** An event with what could be opened put back in place. */
export interface OpenedEvent {
  /** The event with each opened value at its path, and only unopened envelopes in `sealed`. */
  event: Record<string, unknown>
  opened: string[]
  unopened: UnopenedField[]
}

/**
 * Opens every sealed field of a stored event that one of `keys` can open (keep every key an
 * owner rotated through: old events stay sealed to old keys), and puts each value back at its
 * field path. A field that cannot be opened stays sealed and is reported with its reason; the
 * event is never half-changed at a path (a path whose parent is not an object is reported).
 *
 * @throws {CryptoError} `PAL_CRYPTO_ENVELOPE_INVALID` when the event has no string `id` or its
 *   `sealed` member is not an array.
 * @example
 *   const { event, unopened } = await openSealedEvent(stored, [currentKey, previousKey])
 */
export async function openSealedEvent(
  stored: Record<string, unknown>,
  keys: readonly SealingKeyPair[],
): Promise<OpenedEvent> {
  const id = stored.id
  if (typeof id !== 'string') {
    throw new CryptoError('PAL_CRYPTO_ENVELOPE_INVALID', 'expected an event with a string `id`')
  }
  const sealed = stored.sealed ?? []
  if (!Array.isArray(sealed)) {
    throw new CryptoError(
      'PAL_CRYPTO_ENVELOPE_INVALID',
      `event ${id}: expected \`sealed\` to be an array of sealed fields`,
    )
  }

  const event: Record<string, unknown> = structuredClone(stored)
  const opened: string[] = []
  const unopened: UnopenedField[] = []
  const kept: unknown[] = []
  for (const envelope of sealed) {
    let field = '?'
    let kid = '?'
    try {
      const parsed = parseSealedField(envelope)
      field = parsed.field
      kid = parsed.kid
      const key = keys.find((k) => k.kid === parsed.kid)
      if (!key) {
        throw new CryptoError(
          'PAL_CRYPTO_KEY_MISMATCH',
          `sealed to key ${parsed.kid}, which none of the ${keys.length} keys given is`,
        )
      }
      const value = await openSealedField(parsed, id, key)
      placeAt(event, parsed.field, value)
      opened.push(parsed.field)
    } catch (error) {
      if (!(error instanceof CryptoError)) throw error
      unopened.push({ field, kid, code: error.code, message: error.message })
      kept.push(envelope)
    }
  }
  if (kept.length > 0) event.sealed = kept
  else delete event.sealed
  return { event, opened, unopened }
}

/** Sets `value` at a dotted path, making objects on the way; refuses to overwrite a value. */
function placeAt(event: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.')
  let at = event
  for (const key of keys.slice(0, -1)) {
    const next = Object.hasOwn(at, key) ? at[key] : (at[key] = {})
    if (next === null || typeof next !== 'object' || Array.isArray(next)) {
      throw new CryptoError(
        'PAL_CRYPTO_ENVELOPE_INVALID',
        `cannot put ${path} back: ${key} in the event is not an object`,
      )
    }
    at = next as Record<string, unknown>
  }
  const last = keys[keys.length - 1]!
  if (Object.hasOwn(at, last)) {
    throw new CryptoError(
      'PAL_CRYPTO_ENVELOPE_INVALID',
      `cannot put ${path} back: the event already holds a value there`,
    )
  }
  at[last] = value
}
