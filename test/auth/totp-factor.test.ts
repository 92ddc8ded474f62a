import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import { generate } from 'otplib'
import { describe, expect, it } from 'vitest'

import { checkTotp, newTotpSecret, totpEnrolment } from '../../auth/totp-factor.ts'
import { corpora } from '../helpers/test-engine.ts'

const vectors = join(corpora, 'vectors')

interface HotpVectors {
  secretAscii: string
  digits: 6
  vectors: { counter: number; otp: string }[]
}

interface TotpVectors {
  vectors: {
    unixTime: number
    algorithm: 'SHA1' | 'SHA256' | 'SHA512'
    secretAscii: string
    period: number
    digits: 8
    otp: string
  }[]
}

const hotp = JSON.parse(readFileSync(join(vectors, 'rfc4226-hotp.json'), 'utf8')) as HotpVectors
const totp = JSON.parse(readFileSync(join(vectors, 'rfc6238-totp.json'), 'utf8')) as TotpVectors
const bytes = (ascii: string) => new TextEncoder().encode(ascii)

describe('HOTP and TOTP known answers (RFC 4226 Appendix D, RFC 6238 Appendix B)', () => {
  it.each(hotp.vectors)('HOTP at counter $counter is $otp', async ({ counter, otp }) => {
    const code = await generate({
      strategy: 'hotp',
      secret: bytes(hotp.secretAscii),
      counter,
      digits: hotp.digits,
      algorithm: 'sha1',
    })
    expect(code).toBe(otp)
  })

  // RFC 6238's reference code seeds SHA-256 with 32 bytes and SHA-512 with 64, not the
  // 20-byte SHA-1 seed; the corpus holds each seed as the RFC's errata give it.
  it.each(totp.vectors)('TOTP $algorithm at $unixTime is $otp', async (v) => {
    expect(v.secretAscii.length).toBe({ SHA1: 20, SHA256: 32, SHA512: 64 }[v.algorithm])
    const code = await generate({
      secret: bytes(v.secretAscii),
      epoch: v.unixTime,
      period: v.period,
      digits: v.digits,
      algorithm: v.algorithm.toLowerCase() as 'sha1' | 'sha256' | 'sha512',
    })
    expect(code).toBe(v.otp)
  })

  it('covers all three hashes', () => {
    expect(new Set(totp.vectors.map((v) => v.algorithm))).toEqual(
      new Set(['SHA1', 'SHA256', 'SHA512']),
    )
  })
})

describe('checking a TOTP code', () => {
  const secret = newTotpSecret()
  const at = Date.UTC(2026, 11, 4, 10, 0, 15)
  const codeAt = (ms: number) => generate({ secret, epoch: Math.floor(ms / 1000) })

  it('accepts the current code and says its time step', async () => {
    const result = await checkTotp(secret, await codeAt(at), at, null)
    expect(result).toEqual({ ok: true, step: Math.floor(at / 30_000) })
  })

  it('accepts the codes of one step before and one step after', async () => {
    expect((await checkTotp(secret, await codeAt(at - 30_000), at, null)).ok).toBe(true)
    expect((await checkTotp(secret, await codeAt(at + 30_000), at, null)).ok).toBe(true)
  })

  it('refuses a code two steps away as wrong', async () => {
    expect(await checkTotp(secret, await codeAt(at - 60_000), at, null)).toEqual({
      ok: false,
      reason: 'wrong',
    })
    expect(await checkTotp(secret, await codeAt(at + 60_000), at, null)).toEqual({
      ok: false,
      reason: 'wrong',
    })
  })

  it('refuses a code whose step was already used, and an older one', async () => {
    const step = Math.floor(at / 30_000)
    expect(await checkTotp(secret, await codeAt(at), at, step)).toEqual({
      ok: false,
      reason: 'replayed',
    })
    expect((await checkTotp(secret, await codeAt(at - 30_000), at, step)).ok).toBe(false)
    expect((await checkTotp(secret, await codeAt(at + 30_000), at, step)).ok).toBe(true)
  })

  it('refuses what is not six digits without computing anything', async () => {
    for (const code of ['12345', '1234567', '12a456', ' 123456', '']) {
      expect(await checkTotp(secret, code, at, null)).toEqual({ ok: false, reason: 'format' })
    }
  })

  it('gives an otpauth URI an authenticator app reads, and an SVG QR code', async () => {
    const { uri, qrSvg } = await totpEnrolment('Palisade', 'alice', secret)
    const url = new URL(uri)
    expect(url.protocol).toBe('otpauth:')
    expect(url.host).toBe('totp')
    expect(url.searchParams.get('secret')).toBe(secret)
    expect(url.searchParams.get('issuer')).toBe('Palisade')
    expect(qrSvg.startsWith('<svg')).toBe(true)
  })
})
