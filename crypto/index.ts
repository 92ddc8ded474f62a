/**
 * Palisade's client-side end-to-end encryption: the public edge of `crypto/`. Isomorphic: it
 * uses Web Crypto, @hpke/core, @noble/hashes and shamir-secret-sharing, and nothing of Node,
 * so the same code seals in a browser and opens in a terminal.
 */
export { blindIndex, generateBlindIndexKey } from './blind-index.ts'
export { fromBase64Url, toBase64Url } from './bytes.ts'
export { cipherSuite, DEFAULT_SUITE, suiteName } from './cipher-suite.ts'
export type { SuiteIds } from './cipher-suite.ts'
export { CryptoError } from './crypto-error.ts'
export type { CryptoErrorCode } from './crypto-error.ts'
export { hpkeOpen, hpkeSeal } from './hpke-seal.ts'
export { openSealedEvent } from './open-sealed-event.ts'
export type { OpenedEvent, UnopenedField } from './open-sealed-event.ts'
export type { HpkeOpenInput, HpkeSealed, HpkeSealInput } from './hpke-seal.ts'
export {
  generateOwnerSigningKey,
  keyRegistrationMessage,
  signKeyRegistration,
  verifyKeyRegistration,
} from './key-registration.ts'
export type { KeyRegistration, OwnerSigningKey } from './key-registration.ts'
export { sealEventFields } from './seal-event-fields.ts'
export type { SealedEvent, SealEventFieldsInput } from './seal-event-fields.ts'
export {
  MAX_FIELD_PATH_LENGTH,
  openSealedField,
  parseSealedField,
  SEALED_FIELD_VERSION,
  sealedFieldAad,
  sealField,
} from './sealed-field.ts'
export type { SealedField, SealFieldInput } from './sealed-field.ts'
export { generateSealingKeyPair, publicHalf, sealingKeyId } from './sealing-key-pair.ts'
export type { SealingKeyPair, SealingPublicKey } from './sealing-key-pair.ts'
export { restorePrivateKey, splitPrivateKey } from './split-private-key.ts'
export type { KeyShare } from './split-private-key.ts'
export {
  DEFAULT_SCRYPT,
  keyFileMatchesKid,
  parseKeyFile,
  unwrapPrivateKey,
  wrapPrivateKey,
} from './wrap-private-key.ts'
export type { WrappedKeyFile } from './wrap-private-key.ts'
