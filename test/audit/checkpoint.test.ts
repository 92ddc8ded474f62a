import { createPrivateKey } from 'node:crypto'

import { describe, expect, it } from 'vitest'

import {
  checkpointText,
  signCheckpoint,
  verifyCheckpoint,
  type Checkpoint,
} from '../../audit/checkpoint.ts'
import { SoftwareSigner } from '../../audit/signers/software-signer.ts'
import { ValidationError } from '../../platform/errors.ts'

// RFC 8032 §7.1, TEST 1: the secret key, wrapped as PKCS#8 (RFC 8410 §7).
const rfc8032Secret = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'
const pkcs8 = Buffer.from(`302e020100300506032b657004220420${rfc8032Secret}`, 'hex')
const rfc8032Pem = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })
  .export({ type: 'pkcs8', format: 'pem' })
  .toString()

const checkpoint: Checkpoint = {
  tree_size: 7,
  root_hash: 'dd'.repeat(32),
  time: '2026-12-03T20:17:11.000Z',
  key_id: 'pkcs11:token=palisade-audit;object=checkpoint',
  key_fingerprint: 'ab'.repeat(32),
  algorithm: 'ed25519',
  signer_kind: 'hsm',
}

describe('the checkpoint text', () => {
  it('is the origin, size and base64 root, then one line per field, each ending in LF', () => {
    expect(checkpointText(checkpoint)).toBe(
      'palisade-audit-checkpoint/v1\n' +
        '7\n' +
        '3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d0=\n' +
        'time 2026-12-03T20:17:11.000Z\n' +
        'key_id pkcs11:token=palisade-audit;object=checkpoint\n' +
        `key_fingerprint ${'ab'.repeat(32)}\n` +
        'algorithm ed25519\n' +
        'signer_kind hsm\n',
    )
  })

  it.each([
    ['tree_size', -1],
    ['tree_size', 1.5],
    ['root_hash', 'DD'.repeat(32)],
    ['time', '2026-12-03T21:17:11.000+01:00'],
    ['key_id', 'software:a\nsigner_kind hsm'],
    ['key_fingerprint', 'ab'],
    ['algorithm', 'rsa'],
    ['signer_kind', 'cloud'],
  ])('refuses a checkpoint whose %s cannot be written unambiguously (%j)', (field, value) => {
    const bad = { ...checkpoint, [field]: value } as Checkpoint
    const error = (() => {
      try {
        checkpointText(bad)
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(ValidationError)
    expect((error as ValidationError).code).toBe('PAL_CHECKPOINT_INVALID')
    expect((error as ValidationError).message).toContain(`checkpoint.${field}: expected`)
  })
})

describe('a signed checkpoint', () => {
  const time = new Date('2026-12-03T20:17:11Z')
  const root = new Uint8Array(32).fill(0xdd)

  it('signed by the RFC 8032 test key has a fixed Ed25519 signature (a regression vector)', async () => {
    const signer = SoftwareSigner.fromPrivateKeyPem(rfc8032Pem, 'rfc8032')
    const signed = await signCheckpoint(signer, { treeSize: 7, root, time })
    // Ed25519 is deterministic (RFC 8032 §5.1.6): any change to the text changes this value.
    expect(signed.signature).toBe(
      'IZJt+JVe4krXi5I9UjMkyp+R/328zOUi8jfcS0B3YbguhXBC5msv6pJz0NNIRzCc6wtMEYQvmwTPpd+8dMMsCw==',
    )
    expect(signer.fingerprint()).toBe(
      '06e3fd8fda29bb60ab59557de61edb0aecdb231134be30e75b455f8e1b792fa9',
    )
    expect(verifyCheckpoint(signed.checkpoint, signed.signature, signer.publicKeyPem()).valid).toBe(
      true,
    )
    // RFC 8032 TEST 1's public key, inside the SPKI the fingerprint is taken of.
    expect(signer.publicKeyPem()).toContain(
      Buffer.from(
        '302a300506032b6570032100d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
        'hex',
      ).toString('base64'),
    )
  })

  it('carries signer_kind software when a software key signed it, and the verifier says so', async () => {
    for (const algorithm of ['ecdsa-p256-sha256', 'ed25519'] as const) {
      const signer = SoftwareSigner.generate(algorithm, 'dev')
      const signed = await signCheckpoint(signer, { treeSize: 7, root, time })
      expect(signed.checkpoint).toMatchObject({
        tree_size: 7,
        root_hash: 'dd'.repeat(32),
        time: '2026-12-03T20:17:11.000Z',
        key_id: 'software:dev',
        key_fingerprint: signer.fingerprint(),
        algorithm,
        signer_kind: 'software',
      })
      const verdict = verifyCheckpoint(signed.checkpoint, signed.signature, signer.publicKeyPem())
      expect(verdict).toEqual({
        valid: true,
        signer_kind: 'software',
        key_fingerprint: signer.fingerprint(),
      })
    }
  })

  it('fails to verify when any field is changed, including relabelling it as hsm', async () => {
    const signer = SoftwareSigner.generate('ed25519', 'dev')
    const { checkpoint: signed, signature } = await signCheckpoint(signer, {
      treeSize: 7,
      root,
      time,
    })
    const pem = signer.publicKeyPem()
    const changes: Partial<Checkpoint>[] = [
      { tree_size: 8 },
      { root_hash: 'de'.repeat(32) },
      { time: '2026-12-03T20:17:12.000Z' },
      { key_id: 'software:other' },
      { signer_kind: 'hsm' },
    ]
    for (const change of changes) {
      const verdict = verifyCheckpoint({ ...signed, ...change }, signature, pem)
      expect(verdict).toEqual({
        valid: false,
        reason: `the signature does not cover checkpoint ${change.tree_size ?? 7}`,
      })
    }
  })

  it('fails to verify with another key, naming the fingerprint it expected', async () => {
    const signer = SoftwareSigner.generate('ed25519', 'dev')
    const other = SoftwareSigner.generate('ed25519', 'dev')
    const signed = await signCheckpoint(signer, { treeSize: 7, root, time })
    const verdict = verifyCheckpoint(signed.checkpoint, signed.signature, other.publicKeyPem())
    expect(verdict).toEqual({
      valid: false,
      reason: `expected the key with fingerprint ${signer.fingerprint()}, got ${other.fingerprint()}`,
    })
  })
})
