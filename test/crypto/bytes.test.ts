import { describe, expect, it } from 'vitest'

import { fromBase64Url, isBase64Url, toBase64Url } from '../../crypto/bytes.ts'

describe('base64url without Buffer', () => {
  it('writes what Node’s base64url writes, for every length across three block phases', () => {
    const bytes = crypto.getRandomValues(new Uint8Array(200))
    for (let n = 0; n <= bytes.length; n++) {
      const part = bytes.subarray(0, n)
      expect(toBase64Url(part)).toBe(Buffer.from(part).toString('base64url'))
      expect(fromBase64Url(toBase64Url(part))).toEqual(new Uint8Array(part))
    }
  })

  it('refuses padding, the standard alphabet and a length no bytes encode to', () => {
    for (const text of ['AA==', 'a+b/', 'abcde']) {
      expect(isBase64Url(text)).toBe(false)
      expect(() => fromBase64Url(text)).toThrow('expected unpadded base64url')
    }
  })
})
