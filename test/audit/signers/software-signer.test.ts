import { generateKeyPairSync } from 'node:crypto'

import { describe, expect, it } from 'vitest'

import type { SignatureAlgorithm } from '../../../audit/signers/checkpoint-signer.ts'
import { SoftwareSigner } from '../../../audit/signers/software-signer.ts'
import { verifySignature } from '../../../audit/signers/verify-signature.ts'

const message = new TextEncoder().encode('palisade checkpoint\n7\n')
const algorithms: SignatureAlgorithm[] = ['ecdsa-p256-sha256', 'ed25519']

describe('the software signer', () => {
  it('labels itself software, in its kind and its key id', () => {
    const signer = SoftwareSigner.generate('ed25519', 'dev')
    expect(signer.kind).toBe('software')
    expect(signer.keyId).toBe('software:dev')
  })

  it.each(algorithms)('signs with %s in the same format as the HSM signer', async (algorithm) => {
    const signer = SoftwareSigner.generate(algorithm, 'dev')
    const signature = await signer.sign(message)
    expect(signature).toHaveLength(64)
    expect(verifySignature(signer.publicKeyPem(), algorithm, message, signature)).toBe(true)
    expect(signer.fingerprint()).toMatch(/^[0-9a-f]{64}$/)
  })

  it('reads its key from PKCS#8 PEM and keeps the same fingerprint', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    const a = SoftwareSigner.fromPrivateKeyPem(pem, 'a')
    const b = SoftwareSigner.fromPrivateKeyPem(pem, 'b')
    expect(a.algorithm).toBe('ecdsa-p256-sha256')
    expect(a.fingerprint()).toBe(b.fingerprint())
  })

  it('refuses a key of another kind, saying which it got', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' })
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    expect(() => SoftwareSigner.fromPrivateKeyPem(pem, 'x')).toThrow(
      'expected an ECDSA P-256 or Ed25519 private key, got ec secp384r1',
    )
  })

  it('cannot have its key or its signing swapped once made', () => {
    const signer = SoftwareSigner.generate('ed25519', 'dev')
    expect(() => {
      ;(signer as unknown as { kind: string }).kind = 'hsm'
    }).toThrow(TypeError)
    expect(() => {
      ;(signer as unknown as { sign: unknown }).sign = async () => new Uint8Array(64)
    }).toThrow(TypeError)
  })

  it('stops signing once closed', async () => {
    const signer = SoftwareSigner.generate('ed25519', 'dev')
    await signer.close()
    await expect(signer.sign(message)).rejects.toThrow('is closed')
  })
})
