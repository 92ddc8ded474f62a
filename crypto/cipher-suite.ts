import {
  Aes128Gcm,
  Aes256Gcm,
  CipherSuite,
  DhkemP256HkdfSha256,
  DhkemP384HkdfSha384,
  DhkemP521HkdfSha512,
  DhkemX25519HkdfSha256,
  DhkemX448HkdfSha512,
  HkdfSha256,
  HkdfSha384,
  HkdfSha512,
} from '@hpke/core'
import type { AeadInterface, KdfInterface, KemInterface } from '@hpke/core'

import { CryptoError } from './crypto-error.ts'

/**
 * An HPKE cipher suite by its RFC 9180 identifiers (§7.1 KEM, §7.2 KDF, §7.3 AEAD), as an
 * envelope carries it.
 */
export interface SuiteIds {
  kem: number
  kdf: number
  aead: number
}

/**
 * Palisade's default suite: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM. X25519 for
 * its small keys and constant-time implementations; AES-256-GCM because Web Crypto has it in
 * every browser, where ChaCha20-Poly1305 would need code of our own.
 */
export const DEFAULT_SUITE: Readonly<SuiteIds> = Object.freeze({ kem: 0x20, kdf: 0x1, aead: 0x2 })

const kems: Record<number, () => KemInterface> = {
  0x10: () => new DhkemP256HkdfSha256(),
  0x11: () => new DhkemP384HkdfSha384(),
  0x12: () => new DhkemP521HkdfSha512(),
  0x20: () => new DhkemX25519HkdfSha256(),
  0x21: () => new DhkemX448HkdfSha512(),
}
const kdfs: Record<number, () => KdfInterface> = {
  0x1: () => new HkdfSha256(),
  0x2: () => new HkdfSha384(),
  0x3: () => new HkdfSha512(),
}
const aeads: Record<number, () => AeadInterface> = {
  0x1: () => new Aes128Gcm(),
  0x2: () => new Aes256Gcm(),
}

/**
 * The RFC 9180 identifiers `cipherSuite` accepts, for checks that must not load a suite: ingest
 * refuses an envelope naming any other, since no client could open it.
 */
export const SUPPORTED_SUITE_IDS: Readonly<Record<keyof SuiteIds, readonly number[]>> = {
  kem: Object.keys(kems).map(Number),
  kdf: Object.keys(kdfs).map(Number),
  aead: Object.keys(aeads).map(Number),
}

const cache = new Map<string, CipherSuite>()

/**
 * The @hpke/core suite for RFC 9180 identifiers. Every KEM, KDF and AEAD of RFC 9180 §7 is
 * accepted but ChaCha20-Poly1305 (AEAD 0x0003), which @hpke/core leaves to a separate package
 * that Palisade does not install.
 *
 * @throws {CryptoError} `PAL_CRYPTO_SUITE_UNSUPPORTED` naming the identifier it does not know.
 */
export function cipherSuite(ids: SuiteIds): CipherSuite {
  const name = suiteName(ids)
  const known = cache.get(name)
  if (known) return known

  const kem = kems[ids.kem]
  if (!kem) throw unsupported('KEM', ids.kem, Object.keys(kems))

  const kdf = kdfs[ids.kdf]
  if (!kdf) throw unsupported('KDF', ids.kdf, Object.keys(kdfs))

  const aead = aeads[ids.aead]
  if (!aead) throw unsupported('AEAD', ids.aead, Object.keys(aeads))

  const suite = new CipherSuite({ kem: kem(), kdf: kdf(), aead: aead() })
  cache.set(name, suite)
  return suite
}

/** `kem-kdf-aead` in hex, as RFC 9180 §7 lists the identifiers: `0x0020-0x0001-0x0002`. */
export function suiteName(ids: SuiteIds): string {
  const hex = (n: number) => `0x${n.toString(16).padStart(4, '0')}`
  return `${hex(ids.kem)}-${hex(ids.kdf)}-${hex(ids.aead)}`
}

function unsupported(part: string, id: number, known: string[]): CryptoError {
  const ids = known.map((k) => `0x${Number(k).toString(16).padStart(4, '0')}`).join(', ')
  return new CryptoError(
    'PAL_CRYPTO_SUITE_UNSUPPORTED',
    `expected an HPKE ${part} identifier among ${ids} (RFC 9180 §7), got ${String(id)}`,
    { context: { [part.toLowerCase()]: id } },
  )
}
