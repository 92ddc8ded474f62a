import { concatBytes, lengthPrefixed, randomBytes, toBase64Url, utf8 } from './bytes.ts'
import { CryptoError } from './crypto-error.ts'

/**
 * A blind index key: 32 random bytes that emitters and the analysts who search hold, and the
 * server never does. Keep it as secret as a private key: with it, anyone can test guesses.
 */
export function generateBlindIndexKey(): Uint8Array {
  return randomBytes(32)
}

/**
 * A blind index of a field's value: HMAC-SHA-256 (RFC 2104, through Web Crypto) under the
 * blind index key, over the field path and the value's JSON text, base64url. Equal values of
 * the same field give equal indexes, so the server can group and match them without learning
 * them; the field path is in the input, so the same value in two fields does not match.
 *
 * It is exact: `Alice@example.com` and `alice@example.com` differ. Normalise a value before
 * (lowercase an address) if equal means more than the same bytes.
 *
 * @throws {CryptoError} `PAL_CRYPTO_INVALID_ARGUMENT` for a key that is not 32 bytes.
 * @example
 *   const bi = await blindIndex(key, 'user.email', 'alice@example.com')
 *   const sealed = await sealField({ recipient, eventId, field: 'user.email',
 *     value: 'alice@example.com', blindIndex: bi })
 */
export async function blindIndex(key: Uint8Array, field: string, value: unknown): Promise<string> {
  if (!(key instanceof Uint8Array) || key.length !== 32) {
    throw new CryptoError(
      'PAL_CRYPTO_INVALID_ARGUMENT',
      `expected a blind index key of 32 bytes, got ${key instanceof Uint8Array ? key.length : 0}`,
    )
  }
  const hmacKey = await crypto.subtle.importKey(
    'raw',
    key as Uint8Array<ArrayBuffer>,
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  )
  const input = concatBytes(
    utf8('palisade blind index v1'),
    lengthPrefixed(utf8(field)),
    lengthPrefixed(utf8(JSON.stringify(value) ?? 'undefined')),
  )
  return toBase64Url(new Uint8Array(await crypto.subtle.sign('HMAC', hmacKey, input)))
}
