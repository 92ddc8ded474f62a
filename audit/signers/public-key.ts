import { createHash, createPublicKey } from 'node:crypto'
import type { KeyObject } from 'node:crypto'

import type { SignatureAlgorithm } from './checkpoint-signer.ts'

/** CKA_EC_PARAMS for each algorithm: the curve's OID, DER-encoded. */
export const ecParams: Record<SignatureAlgorithm, Buffer> = {
  // 1.2.840.10045.3.1.7, prime256v1 (RFC 5480 §2.1.1.1)
  'ecdsa-p256-sha256': Buffer.from('06082a8648ce3d030107', 'hex'),
  // 1.3.101.112, id-Ed25519 (RFC 8410 §3); PKCS#11 3.0 §2.3.5 also allows the printable
  // string "edwards25519", which tokens may return for a key they were given that way.
  ed25519: Buffer.from('06032b6570', 'hex'),
}

const edwards25519Printable = Buffer.from('130c656477617264733235353139', 'hex')

/** Whether a key's CKA_EC_PARAMS names the algorithm's curve. */
export function ecParamsMatch(algorithm: SignatureAlgorithm, params: Buffer): boolean {
  if (params.equals(ecParams[algorithm])) return true
  return algorithm === 'ed25519' && params.equals(edwards25519Printable)
}

const pointLength: Record<SignatureAlgorithm, number> = {
  'ecdsa-p256-sha256': 65,
  ed25519: 32,
}

/**
 * The public point inside CKA_EC_POINT. PKCS#11 (v2.40 §2.3.3, 3.0 §2.3.5) wraps it in a DER
 * OCTET STRING; a few tokens return it bare, which is accepted when the length says so.
 *
 * @throws {Error} when the value is neither, saying what length arrived.
 */
export function unwrapEcPoint(algorithm: SignatureAlgorithm, value: Uint8Array): Buffer {
  const bytes = Buffer.from(value)
  const expected = pointLength[algorithm]
  if (bytes.length === expected && (algorithm === 'ed25519' || bytes[0] === 0x04)) return bytes

  // DER OCTET STRING: tag 0x04, then a short-form length (both points are under 128 bytes).
  if (bytes[0] === 0x04 && bytes[1] === expected && bytes.length === expected + 2) {
    return bytes.subarray(2)
  }
  throw new Error(
    `expected CKA_EC_POINT as a DER OCTET STRING around a ${expected}-byte ${algorithm} point, ` +
      `got ${bytes.length} bytes starting ${bytes.subarray(0, 3).toString('hex')}`,
  )
}

/**
 * A public key from its raw point, through JWK (RFC 7518 §6.2, RFC 8037 §2), so node:crypto
 * writes the SPKI and checks the point is on the curve.
 */
export function publicKeyFromPoint(algorithm: SignatureAlgorithm, point: Buffer): KeyObject {
  if (algorithm === 'ed25519') {
    return createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: point.toString('base64url') },
      format: 'jwk',
    })
  }
  if (point.length !== 65 || point[0] !== 0x04) {
    throw new Error(`expected an uncompressed P-256 point (0x04, 65 bytes), got ${point.length}`)
  }
  return createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: point.subarray(1, 33).toString('base64url'),
      y: point.subarray(33).toString('base64url'),
    },
    format: 'jwk',
  })
}

/** SHA-256 of the SPKI DER, lower-case hex. */
export function spkiFingerprint(key: KeyObject): string {
  return createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex')
}

/** The algorithm a node:crypto key signs with, or undefined when Palisade has no such one. */
export function algorithmOf(key: KeyObject): SignatureAlgorithm | undefined {
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519'
  const curve = key.asymmetricKeyDetails?.namedCurve
  if (key.asymmetricKeyType === 'ec' && curve === 'prime256v1') return 'ecdsa-p256-sha256'
  return undefined
}
