import { generateSecret, generateURI, verify } from 'otplib'
import QRCode from 'qrcode'

/** RFC 6238 §5.2 suggests 30 s; every authenticator app uses it, with 6 digits and SHA-1. */
export const TOTP_PERIOD = 30
export const TOTP_DIGITS = 6

/** Format of a TOTP code as a person types it: exactly six digits. */
export const TOTP_CODE = /^\d{6}$/

/**
 * A new TOTP secret of 20 random bytes (RFC 4226 §4 R6 asks at least 128 bits and
 * recommends 160), in base32 as authenticator apps read it.
 */
export function newTotpSecret(): string {
  return generateSecret({ length: 20 })
}

/** The `otpauth://` URI an authenticator app reads, and the same as an SVG QR code. */
export async function totpEnrolment(
  issuer: string,
  account: string,
  secret: string,
): Promise<{ uri: string; qrSvg: string }> {
  const uri = generateURI({
    issuer,
    label: account,
    secret,
    algorithm: 'sha1',
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD,
  })
  const qrSvg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 })
  return { uri, qrSvg }
}

export type TotpCheck =
  { ok: true; step: number } | { ok: false; reason: 'format' | 'wrong' | 'replayed' }

/**
 * Checks a code against a secret at `nowMs`, accepting the time steps one before and one
 * after the current one (RFC 6238 §5.2 "at most one time step" of network delay; we allow a
 * clock one step ahead as well). A code whose step is not after `lastStep`, the last one
 * accepted for this user, is refused as replayed, so each code works once (§5.2: "the
 * verifier MUST NOT accept the second attempt of the same OTP").
 */
export async function checkTotp(
  secret: string,
  code: string,
  nowMs: number,
  lastStep: number | null,
): Promise<TotpCheck> {
  if (!TOTP_CODE.test(code)) return { ok: false, reason: 'format' }

  const options = {
    secret,
    token: code,
    epoch: Math.floor(nowMs / 1000),
    period: TOTP_PERIOD,
    digits: TOTP_DIGITS,
    algorithm: 'sha1',
    epochTolerance: TOTP_PERIOD,
  } as const
  const result = await verify(options)
  if (!result.valid) return { ok: false, reason: 'wrong' }

  const step = (result as { timeStep: number }).timeStep
  if (lastStep !== null && step <= lastStep) return { ok: false, reason: 'replayed' }
  return { ok: true, step }
}
