import { createHash, randomInt } from 'node:crypto'

/** Ten codes, as most services issue; each works once. */
export const RECOVERY_CODE_COUNT = 10

/** Crockford's base32 without look-alikes (no I, L, O, U), grouped for reading aloud. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

/**
 * A code of 16 symbols of 5 bits (80 bits), written `XXXX-XXXX-XXXX-XXXX`. With that much
 * entropy a fast hash suffices (SP 800-63B §5.1.2.1 lets look-up secrets of 112 bits or less
 * be hashed with a salt; these are rate-limited like every factor, and the store holds only
 * the hash).
 */
export function newRecoveryCode(): string {
  let code = ''
  for (let i = 0; i < 16; i++) {
    if (i > 0 && i % 4 === 0) code += '-'
    code += ALPHABET[randomInt(ALPHABET.length)]
  }
  return code
}

/** A code as typed: case, spaces and dashes do not matter. */
export function normaliseRecoveryCode(typed: string): string {
  return typed.toUpperCase().replace(/[\s-]/g, '')
}

/** The stored form: SHA-256 over the user id and the normalised code, hex. */
export function hashRecoveryCode(userId: string, typed: string): string {
  return createHash('sha256')
    .update(`palisade-recovery\u0000${userId}\u0000${normaliseRecoveryCode(typed)}`)
    .digest('hex')
}
