import { describe, expect, it } from 'vitest'

import {
  ecParamsMatch,
  publicKeyFromPoint,
  spkiFingerprint,
  unwrapEcPoint,
} from '../../../audit/signers/public-key.ts'
import { verifySignature } from '../../../audit/signers/verify-signature.ts'

// RFC 8032 §7.1, TEST 1: the public key and its signature of the empty message.
const ed25519Public = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'
const ed25519Signature =
  'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155' +
  '5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'

// RFC 6979 §A.2.5: the P-256 public key, and the SHA-256 signature of "sample" as r‖s.
const p256Point =
  '04' +
  '60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6' +
  '7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299'
const p256Signature =
  'efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716' +
  'f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8'

const bytes = (hex: string) => Buffer.from(hex, 'hex')

describe('public keys from a token', () => {
  it('unwraps CKA_EC_POINT from its DER OCTET STRING, and accepts a bare point', () => {
    expect(unwrapEcPoint('ed25519', bytes(`0420${ed25519Public}`)).toString('hex')).toBe(
      ed25519Public,
    )
    expect(unwrapEcPoint('ecdsa-p256-sha256', bytes(`0441${p256Point}`)).toString('hex')).toBe(
      p256Point,
    )
    expect(unwrapEcPoint('ecdsa-p256-sha256', bytes(p256Point)).toString('hex')).toBe(p256Point)
  })

  it('refuses a point of the wrong length, saying what came', () => {
    expect(() => unwrapEcPoint('ed25519', bytes(`0421${ed25519Public}00`))).toThrow(
      'got 35 bytes starting 0421d7',
    )
  })

  it('writes the SPKI of RFC 8410 for Ed25519 and of RFC 5480 for P-256', () => {
    const ed = publicKeyFromPoint('ed25519', bytes(ed25519Public))
    expect(ed.export({ type: 'spki', format: 'der' }).toString('hex')).toBe(
      `302a300506032b6570032100${ed25519Public}`,
    )
    const ec = publicKeyFromPoint('ecdsa-p256-sha256', bytes(p256Point))
    expect(ec.export({ type: 'spki', format: 'der' }).toString('hex')).toBe(
      `3059301306072a8648ce3d020106082a8648ce3d030107034200${p256Point}`,
    )
    expect(spkiFingerprint(ed)).toMatch(/^[0-9a-f]{64}$/)
  })

  it('verifies the RFC 8032 and RFC 6979 signatures with keys built from their points', () => {
    const ed = publicKeyFromPoint('ed25519', bytes(ed25519Public))
    expect(verifySignature(ed, 'ed25519', new Uint8Array(), bytes(ed25519Signature))).toBe(true)

    const ec = publicKeyFromPoint('ecdsa-p256-sha256', bytes(p256Point))
    const sample = new TextEncoder().encode('sample')
    expect(verifySignature(ec, 'ecdsa-p256-sha256', sample, bytes(p256Signature))).toBe(true)
    expect(verifySignature(ec, 'ecdsa-p256-sha256', sample, bytes(ed25519Signature))).toBe(false)
  })

  it('recognises the Ed25519 curve named by OID or by the printable "edwards25519"', () => {
    expect(ecParamsMatch('ed25519', bytes('06032b6570'))).toBe(true)
    expect(ecParamsMatch('ed25519', bytes('130c656477617264733235353139'))).toBe(true)
    expect(ecParamsMatch('ecdsa-p256-sha256', bytes('06032b6570'))).toBe(false)
  })
})
