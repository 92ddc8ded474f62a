import { createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto'
import type { KeyObject } from 'node:crypto'

import { ValidationError } from '../../platform/errors.ts'
import type { CheckpointSigner, SignatureAlgorithm } from './checkpoint-signer.ts'
import { algorithmOf, spkiFingerprint } from './public-key.ts'

/**
 * A checkpoint signer with a node:crypto key in this process's memory: for development and
 * tests only. It says `kind: 'software'`, and every checkpoint it signs carries that.
 *
 * It takes no other signer and is frozen, so it can never stand in for an HSM key inside an
 * HSM signer object, nor be wrapped by one.
 *
 * @example const signer = SoftwareSigner.generate('ed25519', 'dev')
 */
export class SoftwareSigner implements CheckpointSigner {
  readonly kind = 'software' as const
  readonly keyId: string
  readonly algorithm: SignatureAlgorithm
  readonly #privateKey: KeyObject
  readonly #publicKey: KeyObject
  readonly #fingerprint: string
  #closed = false

  private constructor(name: string, algorithm: SignatureAlgorithm, privateKey: KeyObject) {
    this.keyId = `software:${name}`
    this.algorithm = algorithm
    this.#privateKey = privateKey
    this.#publicKey = createPublicKey(privateKey)
    this.#fingerprint = spkiFingerprint(this.#publicKey)
    Object.freeze(this)
  }

  /** A fresh key, gone when the process ends. */
  static generate(algorithm: SignatureAlgorithm, name: string): SoftwareSigner {
    const { privateKey } =
      algorithm === 'ed25519'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('ec', { namedCurve: 'P-256' })
    return new SoftwareSigner(name, algorithm, privateKey)
  }

  /**
   * A key kept in a PEM file (PKCS#8); its type says the algorithm.
   *
   * @throws {ValidationError} PAL_SIGNER_KEY_UNSUPPORTED for a key other than P-256 or Ed25519.
   */
  static fromPrivateKeyPem(pem: string, name: string): SoftwareSigner {
    const privateKey = createPrivateKey(pem)
    const algorithm = algorithmOf(privateKey)
    if (!algorithm) {
      const type = privateKey.asymmetricKeyType ?? 'unknown'
      const curve = privateKey.asymmetricKeyDetails?.namedCurve
      throw new ValidationError(
        `expected an ECDSA P-256 or Ed25519 private key, got ${type}${curve ? ` ${curve}` : ''}`,
        { name },
        'PAL_SIGNER_KEY_UNSUPPORTED',
      )
    }
    return new SoftwareSigner(name, algorithm, privateKey)
  }

  publicKeyPem(): string {
    return this.#publicKey.export({ type: 'spki', format: 'pem' }).toString()
  }

  fingerprint(): string {
    return this.#fingerprint
  }

  async sign(message: Uint8Array): Promise<Uint8Array> {
    if (this.#closed) throw new Error(`software signer ${this.keyId} is closed`)
    if (this.algorithm === 'ed25519') return sign(null, message, this.#privateKey)
    return sign('sha256', message, { key: this.#privateKey, dsaEncoding: 'ieee-p1363' })
  }

  async close(): Promise<void> {
    this.#closed = true
  }
}

Object.freeze(SoftwareSigner.prototype)
