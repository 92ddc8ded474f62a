import { combine, split } from 'shamir-secret-sharing'

import { fromBase64Url, randomBytes, toBase64Url, utf8 } from './bytes.ts'
import type { SuiteIds } from './cipher-suite.ts'
import { CryptoError } from './crypto-error.ts'
import { hpkeOpen, hpkeSeal } from './hpke-seal.ts'
import type { SealingKeyPair } from './sealing-key-pair.ts'

/** One custodian's share of a private key, as JSON to hand over. */
export interface KeyShare {
  format: 'palisade-key-share'
  v: 1
  kid: string
  suite: SuiteIds
  /** The key's public half, so a restore can prove it got the right private key back. */
  public_key: string
  /** How many shares restore the key. */
  threshold: number
  /** The Shamir share (shamir-secret-sharing's encoding), base64url. */
  share: string
}

/**
 * Splits a private key into `shares` shares of which any `threshold` restore it (Shamir's
 * scheme over GF(2^8), by the audited shamir-secret-sharing). Fewer than `threshold` shares
 * say nothing about the key.
 *
 * @throws {CryptoError} `PAL_CRYPTO_INVALID_ARGUMENT` unless 2 <= threshold <= shares <= 255.
 * @example const shares = await splitPrivateKey(owner, 5, 3) // any 3 of 5 custodians
 */
export async function splitPrivateKey(
  pair: SealingKeyPair,
  shares: number,
  threshold: number,
): Promise<KeyShare[]> {
  if (!Number.isInteger(shares) || shares < 2 || shares > 255) {
    throw new CryptoError(
      'PAL_CRYPTO_INVALID_ARGUMENT',
      `expected a share count from 2 to 255, got ${String(shares)}`,
    )
  }

  if (!Number.isInteger(threshold) || threshold < 2 || threshold > shares) {
    throw new CryptoError(
      'PAL_CRYPTO_INVALID_ARGUMENT',
      `expected a threshold from 2 to the share count ${shares}, got ${String(threshold)}`,
    )
  }

  const parts = await split(pair.privateKey, shares, threshold)
  return parts.map((part) => ({
    format: 'palisade-key-share',
    v: 1,
    kid: pair.kid,
    suite: { ...pair.suite },
    public_key: toBase64Url(pair.publicKey),
    threshold,
    share: toBase64Url(part),
  }))
}

/**
 * Restores a private key from shares made by `splitPrivateKey`, and proves it is the key:
 * a random probe sealed to the shares' public key must open with the restored private key.
 * Combining fewer shares than the threshold gives unrelated bytes, which the probe refuses.
 *
 * @throws {CryptoError} `PAL_CRYPTO_SHARES_INSUFFICIENT` for fewer shares than their
 *   threshold, shares of different keys or splits, or shares that do not restore the key.
 */
export async function restorePrivateKey(shares: readonly KeyShare[]): Promise<SealingKeyPair> {
  const first = shares[0]
  if (!first || shares.length < 2) {
    throw insufficient(`expected at least 2 key shares, got ${shares.length}`)
  }

  const kids = new Set(shares.map((s) => `${s.kid}/${s.threshold}/${s.public_key}`))
  if (kids.size > 1) {
    throw insufficient('expected shares of one split of one key, got shares of several')
  }

  if (shares.length < first.threshold) {
    throw insufficient(
      `expected at least ${first.threshold} shares of key ${first.kid}, got ${shares.length}`,
    )
  }

  const publicKey = fromBase64Url(first.public_key)
  let privateKey: Uint8Array
  try {
    privateKey = await combine(shares.map((s) => fromBase64Url(s.share)))
  } catch (cause) {
    throw insufficient(`the shares of key ${first.kid} do not combine`, cause)
  }

  const probe = randomBytes(16)
  const info = utf8('palisade key restore probe')
  const aad = new Uint8Array(0)
  const { enc, ct } = await hpkeSeal({
    suite: first.suite,
    recipientPublicKey: publicKey,
    plaintext: probe,
    info,
    aad,
  })
  try {
    await hpkeOpen({ suite: first.suite, recipientPrivateKey: privateKey, enc, ct, info, aad })
  } catch (cause) {
    throw insufficient(
      `the ${shares.length} shares do not restore key ${first.kid}: too few of one split, ` +
        'or one was changed',
      cause,
    )
  }
  return { suite: { ...first.suite }, kid: first.kid, publicKey, privateKey }
}

function insufficient(message: string, cause?: unknown): CryptoError {
  return new CryptoError('PAL_CRYPTO_SHARES_INSUFFICIENT', message, { cause })
}
