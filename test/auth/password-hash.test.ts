import { describe, expect, it } from 'vitest'

import { hashPassword, verifyPassword } from '../../auth/password-hash.ts'

describe('password hashes', () => {
  it('verifies the password hashed, as Argon2id, and refuses another', async () => {
    const phc = await hashPassword('correct horse battery staple')
    expect(phc).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
    expect(await verifyPassword(phc, 'correct horse battery staple')).toBe(true)
    expect(await verifyPassword(phc, 'correct horse battery stapler')).toBe(false)
  })

  it('takes a password typed with a combining accent as the precomposed one (NFKC)', async () => {
    const phc = await hashPassword('caf\u00e9-password-xyz')
    expect(await verifyPassword(phc, 'cafe\u0301-password-xyz')).toBe(true)
  })

  it('answers false, not an error, for a malformed hash', async () => {
    expect(await verifyPassword('$argon2id$nonsense', 'anything')).toBe(false)
  })
})
