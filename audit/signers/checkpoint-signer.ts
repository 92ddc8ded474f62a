/** The signature algorithms a checkpoint may carry. ECDSA signatures are raw r‖s (IEEE P1363). */
export type SignatureAlgorithm = 'ecdsa-p256-sha256' | 'ed25519'

/**
 * Signs audit checkpoints. Two adapters: `Pkcs11Signer` (a key generated in, and never leaving,
 * an HSM) and `SoftwareSigner` (a node:crypto key, for development only). A checkpoint records
 * `kind`, so one signed by a software key says so wherever it goes.
 *
 * Neither adapter accepts another signer, and both are frozen: one signer object is one key,
 * so when the HSM fails its checkpoints wait; nothing signs in the HSM key's place.
 */
export interface CheckpointSigner {
  /**
   * Where the key lives, for operators: an RFC 7512 PKCS#11 URI (`pkcs11:token=…;object=…`)
   * or `software:NAME`. Which key it is, cryptographically, is the `fingerprint()`.
   */
  readonly keyId: string
  readonly algorithm: SignatureAlgorithm
  readonly kind: 'hsm' | 'software'

  /** The public key as SPKI PEM, what a verifier needs. */
  publicKeyPem(): string

  /** SHA-256 of the public key's SPKI DER, lower-case hex: the key's identity in a checkpoint. */
  fingerprint(): string

  /**
   * Signs a message (the checkpoint's bytes, not a digest): ECDSA P-256 over its SHA-256, as
   * 64 bytes r‖s, or Ed25519 (RFC 8032, pure), 64 bytes.
   *
   * @throws {HsmError} from an HSM signer when it cannot sign now (see `HsmErrorCode`).
   */
  sign(message: Uint8Array): Promise<Uint8Array>

  /** Releases the key's session (HSM) or nothing (software); later `sign` calls fail. */
  close(): Promise<void>
}
