import { describe, expect, it } from 'vitest'

import { blindIndex, generateBlindIndexKey } from '../../crypto/blind-index.ts'

const key = generateBlindIndexKey()

describe('blind indexes for finding equal sealed values', () => {
  it('gives equal values of one field the same index, and different values different ones', async () => {
    const a = await blindIndex(key, 'user.email', 'alice@example.com')
    expect(await blindIndex(key, 'user.email', 'alice@example.com')).toBe(a)
    expect(await blindIndex(key, 'user.email', 'bob@example.com')).not.toBe(a)
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(a).not.toContain('alice')
  })

  it('does not match the same value in another field, or under another key', async () => {
    const a = await blindIndex(key, 'user.email', 'alice@example.com')
    expect(await blindIndex(key, 'user.name', 'alice@example.com')).not.toBe(a)
    expect(await blindIndex(generateBlindIndexKey(), 'user.email', 'alice@example.com')).not.toBe(a)
  })

  it('is exact: a value differing only in case has another index', async () => {
    expect(await blindIndex(key, 'user.email', 'Alice@example.com')).not.toBe(
      await blindIndex(key, 'user.email', 'alice@example.com'),
    )
  })

  it('refuses a key that is not 32 bytes', async () => {
    await expect(blindIndex(new Uint8Array(16), 'f', 'v')).rejects.toThrow(
      'expected a blind index key of 32 bytes, got 16',
    )
  })
})
