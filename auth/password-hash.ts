import { hash, verify } from '@node-rs/argon2'

/**
 * Argon2id at OWASP's first recommended setting (Password Storage Cheat Sheet: m = 19 MiB,
 * t = 2, p = 1), which meets NIST SP 800-63B §5.1.1.2's "memory-hard" advice. The parameters
 * travel in the PHC string, so raising them later still verifies old hashes. `algorithm: 2` is
 * `Algorithm.Argon2id`, which the package declares as a const enum that type-stripping cannot
 * read.
 */
const PARAMETERS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const

/**
 * NIST SP 800-63B §5.1.1.2: a password is normalised (NFKC) before it is hashed, so "café"
 * typed with a precomposed é and with e plus a combining accent is the same password.
 */
function normalised(password: string): string {
  return password.normalize('NFKC')
}

/** A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`) with a fresh random salt. */
export function hashPassword(password: string): Promise<string> {
  return hash(normalised(password), PARAMETERS)
}

/** Whether `password` matches `phc`; false (never an error) for a malformed hash. */
export async function verifyPassword(phc: string, password: string): Promise<boolean> {
  try {
    return await verify(phc, normalised(password))
  } catch {
    return false
  }
}

/**
 * A hash of no password, verified when the user is unknown, so that an unknown name costs
 * as long as a wrong password and timing does not tell which names exist.
 */
let decoy: Promise<string> | undefined
export function decoyHash(): Promise<string> {
  decoy ??= hashPassword('palisade-decoy-password')
  return decoy
}
