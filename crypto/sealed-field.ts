import {
  concatBytes,
  fromBase64Url,
  fromUtf8,
  isBase64Url,
  lengthPrefixed,
  toBase64Url,
  u16,
  utf8,
} from './bytes.ts'
import { suiteName } from './cipher-suite.ts'
import type { SuiteIds } from './cipher-suite.ts'
import { CryptoError } from './crypto-error.ts'
import { hpkeOpen, hpkeSeal } from './hpke-seal.ts'
import type { SealingKeyPair, SealingPublicKey } from './sealing-key-pair.ts'

/** The envelope version this code writes and reads. */
export const SEALED_FIELD_VERSION = 1

/**
 * One sealed field of an event, as it travels in the event's `sealed` array and is stored:
 * JSON, every binary value base64url without padding.
 */
export interface SealedField {
  /** The envelope version: 1. */
  v: number
  /** The field's path in the event, dotted as ECS names it (`user.email`). */
  field: string
  /** The HPKE suite by its RFC 9180 identifiers. */
  suite: SuiteIds
  /** The recipient's key id (`sealingKeyId`). */
  kid: string
  /** The HPKE encapsulated key (RFC 9180 §4, `enc`). */
  enc: string
  /** The AEAD ciphertext with its tag. */
  ct: string
  /** A blind index of the value for equality search (`blindIndex`); optional. */
  bi?: string
}

/**
 * The HPKE `info` of every sealed field (RFC 9180 §5.1: the application context). It fixes
 * the purpose, so a ciphertext made for another protocol with the same key never opens here.
 */
const INFO = utf8('palisade sealed field v1')

/** Longest field path accepted: ECS paths are short, and the path is repeated per event. */
export const MAX_FIELD_PATH_LENGTH = 256

/**
 * The associated data of a sealed field (RFC 9180 §5.2 `aad`): the envelope version, the
 * suite, the key id, the event id and the field path, each length-prefixed. The AEAD
 * authenticates it, so an envelope copied to another event or field, or whose key id or suite
 * was edited, does not open. The event id is lowercased, as ingest stores it (UUIDs compare
 * case-insensitively, RFC 9562 §4).
 */
export function sealedFieldAad(
  header: Pick<SealedField, 'v' | 'suite' | 'kid' | 'field'>,
  eventId: string,
): Uint8Array {
  return concatBytes(
    u16(header.v),
    u16(header.suite.kem),
    u16(header.suite.kdf),
    u16(header.suite.aead),
    lengthPrefixed(utf8(header.kid)),
    lengthPrefixed(utf8(eventId.toLowerCase())),
    lengthPrefixed(utf8(header.field)),
  )
}

/** What `sealField` needs. */
export interface SealFieldInput {
  /** The data owner's public key. */
  recipient: SealingPublicKey
  /** The id the event is sent with; it must be sent with that id, or nobody can open it. */
  eventId: string
  /** The field's dotted path in the event (`message`, `user.email`). */
  field: string
  /** Any JSON value; it is sealed as its JSON text, so it opens with its type. */
  value: unknown
  /** A blind index to carry beside the ciphertext (`blindIndex`). */
  blindIndex?: string
  /** Only for known-answer tests: see `HpkeSealInput.ephemeralKeyMaterial`. */
  ephemeralKeyMaterial?: Uint8Array
}

/**
 * Seals one field's value to the data owner's public key with HPKE base mode (RFC 9180 §6.1),
 * bound to the event id and the field path.
 *
 * @throws {CryptoError} `PAL_CRYPTO_INVALID_ARGUMENT` for an empty event id or field path, or
 *   a value JSON cannot write; `PAL_CRYPTO_SUITE_UNSUPPORTED`; `PAL_CRYPTO_KEY_INVALID`.
 * @example
 *   const sealed = await sealField({ recipient: publicHalf(owner), eventId: id,
 *     field: 'user.email', value: 'alice@example.com' })
 *   send({ id, '@timestamp': now, sealed: [sealed] })
 */
export async function sealField(input: SealFieldInput): Promise<SealedField> {
  checkEventId(input.eventId)

  checkFieldPath(input.field, 'field')

  const text = JSON.stringify(input.value)
  if (text === undefined) {
    throw new CryptoError(
      'PAL_CRYPTO_INVALID_ARGUMENT',
      `expected a JSON value to seal at ${input.field}, got ${typeof input.value}`,
      { context: { field: input.field } },
    )
  }

  const header = {
    v: SEALED_FIELD_VERSION,
    field: input.field,
    suite: { ...input.recipient.suite },
    kid: input.recipient.kid,
  }
  const { enc, ct } = await hpkeSeal({
    suite: header.suite,
    recipientPublicKey: input.recipient.publicKey,
    plaintext: utf8(text),
    info: INFO,
    aad: sealedFieldAad(header, input.eventId),
    ...(input.ephemeralKeyMaterial ? { ephemeralKeyMaterial: input.ephemeralKeyMaterial } : {}),
  })
  const sealed: SealedField = { ...header, enc: toBase64Url(enc), ct: toBase64Url(ct) }
  if (input.blindIndex !== undefined) sealed.bi = input.blindIndex
  return sealed
}

/**
 * Opens a sealed field of the event `eventId` with the owner's key pair (the one whose key id
 * the envelope names; keep old pairs after a rotation to open old events).
 *
 * @returns the value as it was sealed.
 * @throws {CryptoError} `PAL_CRYPTO_ENVELOPE_INVALID` (with the path of what is wrong),
 *   `PAL_CRYPTO_KEY_MISMATCH` when the envelope names another key, `PAL_CRYPTO_OPEN_FAILED`
 *   when any byte of it, its key id, the event id or the field path differ from the sealing.
 */
export async function openSealedField(
  envelope: unknown,
  eventId: string,
  key: SealingKeyPair,
): Promise<unknown> {
  const sealed = parseSealedField(envelope)

  if (sealed.kid !== key.kid) {
    throw new CryptoError(
      'PAL_CRYPTO_KEY_MISMATCH',
      `expected a field sealed to key ${key.kid}, got one sealed to key ${sealed.kid}`,
      { context: { field: sealed.field, kid: sealed.kid } },
    )
  }

  const plaintext = await hpkeOpen({
    suite: sealed.suite,
    recipientPrivateKey: key.privateKey,
    enc: fromBase64Url(sealed.enc),
    ct: fromBase64Url(sealed.ct),
    info: INFO,
    aad: sealedFieldAad(sealed, eventId),
  }).catch((error: unknown) => {
    if (error instanceof CryptoError) {
      error.context.field = sealed.field
      error.context.kid = sealed.kid
      error.context.event_id = eventId
    }
    throw error
  })
  // A value that opened was sealed by `sealField`, so it is JSON text; were it not, the
  // sealer was not Palisade's and the message says so.
  try {
    return JSON.parse(fromUtf8(plaintext))
  } catch (cause) {
    throw new CryptoError(
      'PAL_CRYPTO_ENVELOPE_INVALID',
      `expected the opened value of ${sealed.field} to be UTF-8 JSON text, got other bytes`,
      { context: { field: sealed.field }, cause },
    )
  }
}

/**
 * Checks that `value` has the shape of a sealed field (version 1), without opening it: what
 * the server does with every envelope it stores.
 *
 * @throws {CryptoError} `PAL_CRYPTO_ENVELOPE_INVALID`, whose `context.path` names the member at
 *   fault and whose message says what was expected there and what came.
 */
export function parseSealedField(value: unknown): SealedField {
  if (!isRecord(value)) throw invalid('', 'an object', value)

  if (value.v !== SEALED_FIELD_VERSION) {
    throw invalid('v', `version ${SEALED_FIELD_VERSION}`, value.v)
  }

  checkFieldPath(value.field, 'field', true)

  const suite = value.suite
  if (!isRecord(suite)) throw invalid('suite', 'an object {kem, kdf, aead}', suite)
  for (const part of ['kem', 'kdf', 'aead'] as const) {
    const id = suite[part]
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 0xffff) {
      throw invalid(`suite.${part}`, 'an RFC 9180 identifier (0 to 65535)', id)
    }
  }

  for (const name of ['kid', 'enc', 'ct'] as const) {
    const text = value[name]
    if (typeof text !== 'string' || text.length === 0 || !isBase64Url(text)) {
      throw invalid(name, 'a non-empty unpadded base64url string', text)
    }
  }

  if (value.bi !== undefined && (typeof value.bi !== 'string' || !isBase64Url(value.bi))) {
    throw invalid('bi', 'an unpadded base64url string', value.bi)
  }

  const known = new Set(['v', 'field', 'suite', 'kid', 'enc', 'ct', 'bi'])
  const extra = Object.keys(value).find((k) => !known.has(k))
  if (extra !== undefined) {
    throw invalid(extra, 'no member besides v, field, suite, kid, enc, ct and bi', value[extra])
  }

  const s = suite as { kem: number; kdf: number; aead: number }
  const parsed: SealedField = {
    v: SEALED_FIELD_VERSION,
    field: value.field as string,
    suite: { kem: s.kem, kdf: s.kdf, aead: s.aead },
    kid: value.kid as string,
    enc: value.enc as string,
    ct: value.ct as string,
  }
  if (typeof value.bi === 'string') parsed.bi = value.bi
  return parsed
}

/** A short, readable name of a sealed field's suite (`0x0020-0x0001-0x0002`). */
export function sealedFieldSuite(sealed: SealedField): string {
  return suiteName(sealed.suite)
}

function checkEventId(eventId: unknown): void {
  if (typeof eventId !== 'string' || eventId.length === 0) {
    throw new CryptoError(
      'PAL_CRYPTO_INVALID_ARGUMENT',
      `expected the event id the event is sent with, got ${describe(eventId)}`,
    )
  }
}

function checkFieldPath(field: unknown, path: string, envelope = false): void {
  const fail = (expected: string) =>
    envelope
      ? invalid(path, expected, field)
      : new CryptoError(
          'PAL_CRYPTO_INVALID_ARGUMENT',
          `expected ${expected}, got ${describe(field)}`,
        )
  if (typeof field !== 'string' || field.length === 0 || field.length > MAX_FIELD_PATH_LENGTH) {
    throw fail(`a field path of 1 to ${MAX_FIELD_PATH_LENGTH} characters`)
  }
  if (field.split('.').some((segment) => segment.length === 0)) {
    throw fail('a dotted field path with no empty segment (like user.email)')
  }
}

function invalid(path: string, expected: string, got: unknown): CryptoError {
  const where = path === '' ? 'a sealed field' : `sealed field member \`${path}\``
  return new CryptoError(
    'PAL_CRYPTO_ENVELOPE_INVALID',
    `${where}: expected ${expected}, got ${describe(got)}`,
    { context: { path } },
  )
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** A short account of a value for an error message: its type, and a string's first chars. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing'
  if (value === null) return 'null'
  if (Array.isArray(value)) return `an array of ${value.length}`
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value
    return `${JSON.stringify(shown)} (${value.length} chars)`
  }
  if (typeof value === 'object') return 'an object'
  return `${typeof value} ${String(value)}`
}
