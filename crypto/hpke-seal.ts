import { cipherSuite } from './cipher-suite.ts'
import type { SuiteIds } from './cipher-suite.ts'
import { CryptoError } from './crypto-error.ts'

/** What one single-shot HPKE seal needs (RFC 9180 §6.1, base mode). */
export interface HpkeSealInput {
  suite: SuiteIds
  /** The recipient's serialised public key (`SerializePublicKey`, RFC 9180 §7.1.1). */
  recipientPublicKey: Uint8Array
  plaintext: Uint8Array
  /** Application context mixed into the key schedule (RFC 9180 §5.1). */
  info: Uint8Array
  /** Bound to the ciphertext by the AEAD and carried apart from it (RFC 9180 §5.2). */
  aad: Uint8Array
  /**
   * Input keying material for the ephemeral key pair (`DeriveKeyPair(ikmE)`, RFC 9180 §7.1.3),
   * only to reproduce a known answer: a fixed one in use would reuse the ephemeral key and
   * defeat the scheme. Absent, a fresh pair comes from Web Crypto's random source.
   */
  ephemeralKeyMaterial?: Uint8Array
}

/** The encapsulated key and the ciphertext with its tag. */
export interface HpkeSealed {
  enc: Uint8Array
  ct: Uint8Array
}

/**
 * Seals `plaintext` to a recipient with HPKE in base mode (RFC 9180 §6.1, `SealBase`).
 *
 * @throws {CryptoError} `PAL_CRYPTO_SUITE_UNSUPPORTED`, or `PAL_CRYPTO_KEY_INVALID` when the
 *   public key is not one of the suite's KEM.
 * @example
 *   const { enc, ct } = await hpkeSeal({ suite: DEFAULT_SUITE, recipientPublicKey, plaintext,
 *     info: utf8('app'), aad: new Uint8Array() })
 */
export async function hpkeSeal(input: HpkeSealInput): Promise<HpkeSealed> {
  const suite = cipherSuite(input.suite)
  let recipientPublicKey: Awaited<ReturnType<typeof suite.kem.deserializePublicKey>>
  try {
    recipientPublicKey = await suite.kem.deserializePublicKey(input.recipientPublicKey)
  } catch (cause) {
    throw new CryptoError(
      'PAL_CRYPTO_KEY_INVALID',
      `expected a public key of KEM ${input.suite.kem} (${suite.kem.publicKeySize} bytes), ` +
        `got ${input.recipientPublicKey.length} bytes that do not decode as one`,
      { cause },
    )
  }
  const sealed = await suite.seal(
    {
      recipientPublicKey,
      info: input.info,
      ...(input.ephemeralKeyMaterial ? { ekm: input.ephemeralKeyMaterial } : {}),
    },
    input.plaintext,
    input.aad,
  )
  return { enc: new Uint8Array(sealed.enc), ct: new Uint8Array(sealed.ct) }
}

/** What one single-shot HPKE open needs (RFC 9180 §6.1, `OpenBase`). */
export interface HpkeOpenInput {
  suite: SuiteIds
  /** The recipient's serialised private key (`SerializePrivateKey`, RFC 9180 §7.1.2). */
  recipientPrivateKey: Uint8Array
  enc: Uint8Array
  ct: Uint8Array
  info: Uint8Array
  aad: Uint8Array
}

/**
 * Opens what `hpkeSeal` sealed.
 *
 * @throws {CryptoError} `PAL_CRYPTO_OPEN_FAILED` when the AEAD refuses: any changed byte of
 *   `enc`, `ct`, `info` or `aad`, or another recipient's key; `PAL_CRYPTO_KEY_INVALID` for a
 *   private key that is not one of the suite's KEM.
 */
export async function hpkeOpen(input: HpkeOpenInput): Promise<Uint8Array> {
  const suite = cipherSuite(input.suite)
  let recipientKey: Awaited<ReturnType<typeof suite.kem.deserializePrivateKey>>
  try {
    recipientKey = await suite.kem.deserializePrivateKey(input.recipientPrivateKey)
  } catch (cause) {
    throw new CryptoError(
      'PAL_CRYPTO_KEY_INVALID',
      `expected a private key of KEM ${input.suite.kem} (${suite.kem.privateKeySize} bytes), ` +
        `got ${input.recipientPrivateKey.length} bytes that do not decode as one`,
      { cause },
    )
  }
  try {
    const plaintext = await suite.open(
      { recipientKey, enc: input.enc, info: input.info },
      input.ct,
      input.aad,
    )
    return new Uint8Array(plaintext)
  } catch (cause) {
    // The AEAD says only that the tag did not match (RFC 9180 §5.2 `Open` fails with
    // OpenError); which input differs is by design not knowable.
    throw new CryptoError(
      'PAL_CRYPTO_OPEN_FAILED',
      'the sealed value did not open: its ciphertext, encapsulated key or associated data ' +
        'differ from what was sealed, or the key is not its recipient’s',
      { cause },
    )
  }
}
