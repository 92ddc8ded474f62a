import { concatBytes, toBase64Url, u16, utf8 } from './bytes.ts'
import { cipherSuite, DEFAULT_SUITE } from './cipher-suite.ts'
import type { SuiteIds } from './cipher-suite.ts'

/**
 * A data owner's HPKE key pair, serialised as RFC 9180 §7.1.1 and §7.1.2 define for its KEM.
 * It is made on the owner's machine; only `publicKey` and `kid` ever leave it.
 */
export interface SealingKeyPair {
  suite: SuiteIds
  /** The key id: see `sealingKeyId`. */
  kid: string
  publicKey: Uint8Array
  privateKey: Uint8Array
}

/** The public half of a sealing key, as emitters and the server hold it. */
export interface SealingPublicKey {
  suite: SuiteIds
  kid: string
  publicKey: Uint8Array
}

/**
 * Makes a fresh sealing key pair with the suite's KEM (`GenerateKeyPair`, RFC 9180 §4), from
 * Web Crypto's random source.
 *
 * @example const owner = await generateSealingKeyPair() // X25519, AES-256-GCM
 */
export async function generateSealingKeyPair(
  suite: SuiteIds = DEFAULT_SUITE,
): Promise<SealingKeyPair> {
  const hpke = cipherSuite(suite)
  const pair = await hpke.kem.generateKeyPair()
  const publicKey = new Uint8Array(await hpke.kem.serializePublicKey(pair.publicKey))
  const privateKey = new Uint8Array(await hpke.kem.serializePrivateKey(pair.privateKey))
  return { suite: { ...suite }, kid: await sealingKeyId(suite, publicKey), publicKey, privateKey }
}

/**
 * The key id of a sealing public key: base64url of SHA-256 over a label, the suite's three
 * identifiers and the serialised public key. It is derived, not chosen, so a key id cannot be
 * claimed for another key, and the same key gets the same id on every client. The suite is
 * in it because the same bytes under another AEAD are another key in use.
 */
export async function sealingKeyId(suite: SuiteIds, publicKey: Uint8Array): Promise<string> {
  const input = concatBytes(
    utf8('palisade-sealing-key-v1'),
    u16(suite.kem),
    u16(suite.kdf),
    u16(suite.aead),
    publicKey,
  )
  return toBase64Url(new Uint8Array(await crypto.subtle.digest('SHA-256', input)))
}

/** The public half of `pair`, to publish or register. */
export function publicHalf(pair: SealingKeyPair): SealingPublicKey {
  return { suite: { ...pair.suite }, kid: pair.kid, publicKey: pair.publicKey.slice() }
}
