import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

import { PalisadeError } from '../platform/errors.ts'

const VERSION = 'v1'

/**
 * Seals small secrets (TOTP seeds) with AES-256-GCM under a key-encryption key that lives in
 * configuration, never beside the data. `context` is bound as additional data (NIST SP
 * 800-38D §7.1), so a sealed value copied to another user's row fails to open.
 */
export class SecretBox {
  readonly #key: Buffer

  constructor(key: Buffer) {
    if (key.length !== 32) {
      throw new PalisadeError(
        'PAL_KEK_INVALID',
        `expected a key-encryption key of 32 bytes (base64 of 32 random bytes), got ${key.length}`,
      )
    }
    this.#key = key
  }

  /** Reads a base64 key from the environment variable `name`. */
  static fromEnv(name: string, env: NodeJS.ProcessEnv = process.env): SecretBox | undefined {
    const text = env[name]
    if (!text) return undefined
    return new SecretBox(Buffer.from(text, 'base64'))
  }

  /** `v1.<iv>.<tag>.<ciphertext>`, each part base64url; a fresh 96-bit IV each time. */
  seal(plain: Uint8Array, context: string): string {
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv)
    cipher.setAAD(Buffer.from(context))
    const body = Buffer.concat([cipher.update(plain), cipher.final()])
    const parts = [iv, cipher.getAuthTag(), body].map((b) => b.toString('base64url'))
    return [VERSION, ...parts].join('.')
  }

  /** @throws {PalisadeError} `PAL_SECRET_UNREADABLE` for another key, context or a change. */
  open(sealed: string, context: string): Buffer {
    const [version, iv, tag, body] = sealed.split('.')
    try {
      if (version !== VERSION || !iv || !tag || body === undefined) throw new Error('format')
      const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64url'))
      decipher.setAAD(Buffer.from(context))
      decipher.setAuthTag(Buffer.from(tag, 'base64url'))
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()])
    } catch (error) {
      throw new PalisadeError(
        'PAL_SECRET_UNREADABLE',
        'a sealed secret did not open: another key-encryption key, or the value was changed',
        { cause: error },
      )
    }
  }
}
