import {
  concatBytes,
  fromBase64Url,
  lengthPrefixed,
  toBase64Url,
  u16,
  utf8,
  type WebCryptoKey,
} from './bytes.ts'
import type { SuiteIds } from './cipher-suite.ts'
import { CryptoError } from './crypto-error.ts'

/**
 * An owner's signing key pair (Ed25519, RFC 8032, through Web Crypto): it proves to the
 * server that whoever registers a sealing key speaks for the owner. The public key is raw
 * (32 bytes), the private key PKCS#8, both base64url.
 */
export interface OwnerSigningKey {
  publicKey: string
  privateKey: string
}

/** What an owner signs to register a sealing key: everything the server will store. */
export interface KeyRegistration {
  /** The owner's name, as the server lists keys under it. */
  owner: string
  /** The server's challenge, base64url, fresh and used once. */
  challenge: string
  kid: string
  suite: SuiteIds
  /** The sealing public key, base64url. */
  publicKey: string
  /** The key id this one replaces (rotation), if any. */
  replaces?: string
}

/**
 * Makes an owner signing key on the client.
 *
 * @example const signer = await generateOwnerSigningKey()
 */
export async function generateOwnerSigningKey(): Promise<OwnerSigningKey> {
  const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as {
    publicKey: WebCryptoKey
    privateKey: WebCryptoKey
  }
  const publicKey = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey))
  const privateKey = new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey))
  return { publicKey: toBase64Url(publicKey), privateKey: toBase64Url(privateKey) }
}

/**
 * The bytes signed for a registration: a label, then each member length-prefixed, so no
 * signature over one registration verifies for another (a different owner, key, challenge or
 * replaced key).
 */
export function keyRegistrationMessage(registration: KeyRegistration): Uint8Array {
  return concatBytes(
    utf8('palisade key registration v1'),
    lengthPrefixed(utf8(registration.owner)),
    lengthPrefixed(utf8(registration.challenge)),
    lengthPrefixed(utf8(registration.kid)),
    u16(registration.suite.kem),
    u16(registration.suite.kdf),
    u16(registration.suite.aead),
    lengthPrefixed(utf8(registration.publicKey)),
    lengthPrefixed(utf8(registration.replaces ?? '')),
  )
}

/**
 * Signs a registration with the owner's signing key: the proof of possession the server asks
 * for before it stores a sealing key.
 *
 * @returns the Ed25519 signature, base64url.
 */
export async function signKeyRegistration(
  signer: Pick<OwnerSigningKey, 'privateKey'>,
  registration: KeyRegistration,
): Promise<string> {
  let key: WebCryptoKey
  try {
    key = await crypto.subtle.importKey(
      'pkcs8',
      fromBase64Url(signer.privateKey),
      { name: 'Ed25519' },
      false,
      ['sign'],
    )
  } catch (cause) {
    throw new CryptoError(
      'PAL_CRYPTO_KEY_INVALID',
      'expected an Ed25519 private key in PKCS#8, base64url',
      { cause },
    )
  }
  const message = keyRegistrationMessage(registration) as Uint8Array<ArrayBuffer>
  return toBase64Url(new Uint8Array(await crypto.subtle.sign('Ed25519', key, message)))
}

/**
 * Verifies a registration's signature under the owner's signing public key.
 *
 * @throws {CryptoError} `PAL_CRYPTO_KEY_INVALID` for a public key that is not 32 bytes of
 *   base64url Ed25519; `PAL_CRYPTO_SIGNATURE_INVALID` when the signature does not verify.
 */
export async function verifyKeyRegistration(
  signingPublicKey: string,
  registration: KeyRegistration,
  signature: string,
): Promise<void> {
  let key: WebCryptoKey
  try {
    key = await crypto.subtle.importKey(
      'raw',
      fromBase64Url(signingPublicKey),
      { name: 'Ed25519' },
      false,
      ['verify'],
    )
  } catch (cause) {
    throw new CryptoError(
      'PAL_CRYPTO_KEY_INVALID',
      'expected an Ed25519 public key of 32 bytes, base64url',
      { cause },
    )
  }
  let valid: boolean
  try {
    const message = keyRegistrationMessage(registration) as Uint8Array<ArrayBuffer>
    valid = await crypto.subtle.verify('Ed25519', key, fromBase64Url(signature), message)
  } catch {
    valid = false
  }
  if (!valid) {
    throw new CryptoError(
      'PAL_CRYPTO_SIGNATURE_INVALID',
      `the signature over the registration of key ${registration.kid} for owner ` +
        `${registration.owner} does not verify under the owner's signing key`,
      { context: { kid: registration.kid, owner: registration.owner } },
    )
  }
}
