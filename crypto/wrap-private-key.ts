import { scryptAsync } from '@noble/hashes/scrypt.js'

import {
  fromBase64Url,
  isBase64Url,
  lengthPrefixed,
  randomBytes,
  toBase64Url,
  utf8,
  type WebCryptoKey,
} from './bytes.ts'
import { CryptoError } from './crypto-error.ts'
import type { SuiteIds } from './cipher-suite.ts'
import type { SealingKeyPair } from './sealing-key-pair.ts'
import { sealingKeyId } from './sealing-key-pair.ts'

/** The `format` of a wrapped key file. */
export const KEY_FILE_FORMAT = 'palisade-sealing-key'

/**
 * scrypt costs (RFC 7914 §2). N = 2^17, r = 8, p = 1 is OWASP's scrypt recommendation for
 * password storage: 128 MiB and about a second per guess on a laptop, which is what makes a
 * stolen key file expensive to guess at. Web Crypto has no memory-hard function, hence
 * @noble/hashes.
 */
export const DEFAULT_SCRYPT = Object.freeze({ N: 2 ** 17, r: 8, p: 1 })

/** Bounds on the costs a key file may name: below, guessing is cheap; above, opening stalls. */
const MIN_LOG_N = 10
const MAX_LOG_N = 22

/**
 * A private key wrapped under a passphrase, as JSON a client keeps at rest. Everything but
 * `wrapped` is public and bound to it as AES-GCM associated data, so no member can be edited
 * without the unwrap failing.
 */
export interface WrappedKeyFile {
  format: typeof KEY_FILE_FORMAT
  v: 1
  suite: SuiteIds
  kid: string
  public_key: string
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string }
  /** AES-256-GCM nonce, 12 bytes (NIST SP 800-38D §8.2.2: random, never reused per key). */
  iv: string
  /** The serialised private key under AES-256-GCM, with its tag. */
  wrapped: string
}

/**
 * Wraps a sealing key pair's private key under a passphrase: scrypt derives a 256-bit key from
 * the passphrase (NFKC-normalised, so the same words typed on two keyboards agree) and a fresh
 * 16-byte salt; AES-256-GCM (Web Crypto) seals the private key under it.
 *
 * @param options.scrypt costs to use instead of `DEFAULT_SCRYPT` (tests use cheaper ones).
 * @throws {CryptoError} `PAL_CRYPTO_INVALID_ARGUMENT` for an empty passphrase or costs out of
 *   bounds.
 * @example
 *   const file = await wrapPrivateKey(owner, 'correct horse battery staple')
 *   await writeFile('owner.key.json', JSON.stringify(file))
 */
export async function wrapPrivateKey(
  pair: SealingKeyPair,
  passphrase: string,
  options: { scrypt?: { N: number; r: number; p: number } } = {},
): Promise<WrappedKeyFile> {
  if (typeof passphrase !== 'string' || passphrase.length === 0) {
    throw new CryptoError('PAL_CRYPTO_INVALID_ARGUMENT', 'expected a non-empty passphrase')
  }
  const costs = options.scrypt ?? DEFAULT_SCRYPT
  checkCosts(costs, 'options.scrypt')

  const salt = randomBytes(16)
  const iv = randomBytes(12)
  const header: Omit<WrappedKeyFile, 'iv' | 'wrapped'> = {
    format: KEY_FILE_FORMAT,
    v: 1,
    suite: { ...pair.suite },
    kid: pair.kid,
    public_key: toBase64Url(pair.publicKey),
    kdf: { name: 'scrypt', N: costs.N, r: costs.r, p: costs.p, salt: toBase64Url(salt) },
  }
  const key = await passphraseKey(passphrase, salt, costs)
  const wrapped = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: headerAad(header) },
    key,
    pair.privateKey as Uint8Array<ArrayBuffer>,
  )
  return { ...header, iv: toBase64Url(iv), wrapped: toBase64Url(new Uint8Array(wrapped)) }
}

/**
 * Unwraps a key file made by `wrapPrivateKey`.
 *
 * @throws {CryptoError} `PAL_CRYPTO_KEY_INVALID` for a file of another shape (with the member
 *   at fault), `PAL_CRYPTO_WRONG_PASSPHRASE` when the passphrase does not open it or any member
 *   was changed.
 */
export async function unwrapPrivateKey(file: unknown, passphrase: string): Promise<SealingKeyPair> {
  const parsed = parseKeyFile(file)
  const salt = fromBase64Url(parsed.kdf.salt)
  const key = await passphraseKey(passphrase, salt, parsed.kdf)
  let privateKey: Uint8Array
  try {
    const { iv, wrapped, ...header } = parsed
    const plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: fromBase64Url(iv), additionalData: headerAad(header) },
      key,
      fromBase64Url(wrapped),
    )
    privateKey = new Uint8Array(plain)
  } catch (cause) {
    throw new CryptoError(
      'PAL_CRYPTO_WRONG_PASSPHRASE',
      `the passphrase does not unwrap key ${parsed.kid}, or the key file was changed`,
      { context: { kid: parsed.kid }, cause },
    )
  }
  return {
    suite: parsed.suite,
    kid: parsed.kid,
    publicKey: fromBase64Url(parsed.public_key),
    privateKey,
  }
}

/** Reads a key file's public members without the passphrase: its key id, suite and key. */
export function parseKeyFile(file: unknown): WrappedKeyFile {
  const bad = (path: string, expected: string) =>
    new CryptoError('PAL_CRYPTO_KEY_INVALID', `key file \`${path}\`: expected ${expected}`, {
      context: { path },
    })
  if (file === null || typeof file !== 'object') throw bad('(root)', 'a JSON object')
  const f = file as Record<string, unknown>

  if (f.format !== KEY_FILE_FORMAT) throw bad('format', `"${KEY_FILE_FORMAT}"`)

  if (f.v !== 1) throw bad('v', '1')

  const suite = f.suite as Record<string, unknown> | null
  if (!suite || typeof suite !== 'object') throw bad('suite', 'an object {kem, kdf, aead}')
  for (const part of ['kem', 'kdf', 'aead']) {
    if (!Number.isInteger(suite[part])) throw bad(`suite.${part}`, 'an integer')
  }

  for (const name of ['kid', 'public_key', 'iv', 'wrapped']) {
    const v = f[name]
    if (typeof v !== 'string' || v === '' || !isBase64Url(v)) throw bad(name, 'base64url')
  }

  const kdf = f.kdf as Record<string, unknown> | null
  if (!kdf || typeof kdf !== 'object' || kdf.name !== 'scrypt') {
    throw bad('kdf', 'an object {name: "scrypt", N, r, p, salt}')
  }
  if (typeof kdf.salt !== 'string' || !isBase64Url(kdf.salt)) throw bad('kdf.salt', 'base64url')
  checkCosts(kdf as { N: number; r: number; p: number }, 'kdf')

  return file as WrappedKeyFile
}

/** Whether `file`'s key id is the one its public key and suite give (a copy-paste check). */
export async function keyFileMatchesKid(file: WrappedKeyFile): Promise<boolean> {
  return (await sealingKeyId(file.suite, fromBase64Url(file.public_key))) === file.kid
}

async function passphraseKey(
  passphrase: string,
  salt: Uint8Array,
  costs: { N: number; r: number; p: number },
): Promise<WebCryptoKey> {
  const bytes = await scryptAsync(utf8(passphrase.normalize('NFKC')), salt, {
    N: costs.N,
    r: costs.r,
    p: costs.p,
    dkLen: 32,
  })
  return crypto.subtle.importKey('raw', bytes as Uint8Array<ArrayBuffer>, 'AES-GCM', false, [
    'encrypt',
    'decrypt',
  ])
}

/** Every public member of the file, in a fixed order, length-prefixed as one byte string. */
function headerAad(header: Omit<WrappedKeyFile, 'iv' | 'wrapped'>): Uint8Array<ArrayBuffer> {
  const members = [
    header.format,
    header.v,
    header.suite.kem,
    header.suite.kdf,
    header.suite.aead,
    header.kid,
    header.public_key,
    header.kdf.name,
    header.kdf.N,
    header.kdf.r,
    header.kdf.p,
    header.kdf.salt,
  ]
  return lengthPrefixed(utf8(JSON.stringify(members)))
}

function checkCosts(costs: { N: unknown; r: unknown; p: unknown }, path: string): void {
  const { N, r, p } = costs
  const logN = typeof N === 'number' ? Math.log2(N) : NaN
  if (!Number.isInteger(logN) || logN < MIN_LOG_N || logN > MAX_LOG_N) {
    throw new CryptoError(
      'PAL_CRYPTO_INVALID_ARGUMENT',
      `${path}.N: expected a power of two from 2^${MIN_LOG_N} to 2^${MAX_LOG_N}, got ${String(N)}`,
    )
  }
  for (const [name, value] of [
    ['r', r],
    ['p', p],
  ] as const) {
    if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 16) {
      throw new CryptoError(
        'PAL_CRYPTO_INVALID_ARGUMENT',
        `${path}.${name}: expected an integer from 1 to 16, got ${String(value)}`,
      )
    }
  }
}
