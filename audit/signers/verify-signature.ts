import { createPublicKey, verify } from 'node:crypto'
import type { KeyObject } from 'node:crypto'

import type { SignatureAlgorithm } from './checkpoint-signer.ts'

/**
 * Checks a checkpoint signature offline, with nothing but the exported public key. ECDSA
 * signatures are raw r‖s (IEEE P1363), as PKCS#11's CKM_ECDSA returns them.
 *
 * @example verifySignature(signer.publicKeyPem(), signer.algorithm, message, signature)
 */
export function verifySignature(
  publicKey: string | KeyObject,
  algorithm: SignatureAlgorithm,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey
  if (algorithm === 'ed25519') return verify(null, message, key, signature)
  return verify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, signature)
}
