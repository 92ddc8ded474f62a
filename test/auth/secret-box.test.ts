import { randomBytes } from 'node:crypto'

import { describe, expect, it } from 'vitest'

import { SecretBox } from '../../auth/secret-box.ts'

describe('sealing TOTP secrets under the key-encryption key', () => {
  const box = new SecretBox(randomBytes(32))
  const secret = Buffer.from('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP')

  it('opens what it sealed, and seals the same secret differently each time', () => {
    const a = box.seal(secret, 'totp:alice')
    const b = box.seal(secret, 'totp:alice')
    expect(a).not.toBe(b)
    expect(a).not.toContain(secret.toString())
    expect(box.open(a, 'totp:alice')).toEqual(secret)
  })

  it('refuses another user\u2019s row, another key and a changed byte', () => {
    const sealed = box.seal(secret, 'totp:alice')
    expect(() => box.open(sealed, 'totp:mallory')).toThrow(/did not open/)
    expect(() => new SecretBox(randomBytes(32)).open(sealed, 'totp:alice')).toThrow(/did not open/)
    const parts = sealed.split('.')
    const body = Buffer.from(parts[3]!, 'base64url')
    body[0]! ^= 1
    parts[3] = body.toString('base64url')
    expect(() => box.open(parts.join('.'), 'totp:alice')).toThrow(/did not open/)
    expect(() => box.open('v1.garbage', 'totp:alice')).toThrow(/did not open/)
  })

  it('takes only a 32-byte key, from the environment variable it is named by', () => {
    expect(() => new SecretBox(randomBytes(16))).toThrow(/32 bytes/)
    expect(SecretBox.fromEnv('PALISADE_KEK', {})).toBeUndefined()
    const key = randomBytes(32).toString('base64')
    const fromEnv = SecretBox.fromEnv('PALISADE_KEK', { PALISADE_KEK: key })!
    expect(fromEnv.open(new SecretBox(Buffer.from(key, 'base64')).seal(secret, 'c'), 'c')).toEqual(
      secret,
    )
  })
})
