/**
 * Stable codes of `CryptoError`. A code is never reused once retired, so a client may branch
 * on it. Messages say what was expected and what arrived, but never hold key bytes, plaintext
 * or a passphrase.
 */
export type CryptoErrorCode =
  /** The envelope is not a sealed field of a version and shape this code reads. */
  | 'PAL_CRYPTO_ENVELOPE_INVALID'
  /** The suite's KEM, KDF or AEAD is not one @hpke/core implements. */
  | 'PAL_CRYPTO_SUITE_UNSUPPORTED'
  /** The envelope names a key other than the one given to open it. */
  | 'PAL_CRYPTO_KEY_MISMATCH'
  /**
   * The AEAD refused the ciphertext: a byte of the envelope, its key id, its event id or its
   * field path differs from what was sealed, or the key is not the recipient's.
   */
  | 'PAL_CRYPTO_OPEN_FAILED'
  /** A key, share, signature or key file is not well-formed. */
  | 'PAL_CRYPTO_KEY_INVALID'
  /** The passphrase does not unwrap the key file (or the file was changed). */
  | 'PAL_CRYPTO_WRONG_PASSPHRASE'
  /** Too few shares, shares of different splits, or shares that do not restore the key. */
  | 'PAL_CRYPTO_SHARES_INSUFFICIENT'
  /** A signature over a key registration does not verify. */
  | 'PAL_CRYPTO_SIGNATURE_INVALID'
  /** An argument outside what the function takes (a threshold above the share count...). */
  | 'PAL_CRYPTO_INVALID_ARGUMENT'

/**
 * The one error `crypto/` throws. It stands alone rather than extending `PalisadeError`
 * because `platform/errors.ts` reaches `node:crypto` through its imports, and `crypto/` must
 * run unchanged in a browser. The API maps it to a 400 by its code.
 *
 * @example
 *   try { await openSealedField(...) } catch (e) {
 *     if (e instanceof CryptoError && e.code === 'PAL_CRYPTO_OPEN_FAILED') ...
 *   }
 */
export class CryptoError extends Error {
  readonly code: CryptoErrorCode
  /** What is needed to act on it: a field path, a key id, counts. Never secret material. */
  readonly context: Record<string, unknown>

  constructor(
    code: CryptoErrorCode,
    message: string,
    options: { context?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause })
    this.name = 'CryptoError'
    this.code = code
    this.context = options.context ?? {}
  }
}
