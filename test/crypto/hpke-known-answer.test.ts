import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { cipherSuite } from '../../crypto/cipher-suite.ts'
import { CryptoError } from '../../crypto/crypto-error.ts'
import { hpkeOpen, hpkeSeal } from '../../crypto/hpke-seal.ts'

/** RFC 9180 Appendix A.1.1, as kept in the shared corpora (read in place). */
interface Vector {
  kem_id: number
  kdf_id: number
  aead_id: number
  info: string
  ikmE: string
  ikmR: string
  pkRm: string
  enc: string
  encryptions: { aad: string; pt: string; ct: string }[]
}

const vector = JSON.parse(
  readFileSync(
    join(import.meta.dirname, '../../../shared/corpora/vectors/rfc9180-a11.json'),
    'utf8',
  ),
) as Vector
const hex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'))
const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')
const suite = { kem: vector.kem_id, kdf: vector.kdf_id, aead: vector.aead_id }
const first = vector.encryptions[0]!

/** The recipient's key pair, derived from ikmR as the RFC's test harness does (§7.1.3). */
async function recipient() {
  const kem = cipherSuite(suite).kem
  const pair = await kem.deriveKeyPair(hex(vector.ikmR))
  return {
    publicKey: new Uint8Array(await kem.serializePublicKey(pair.publicKey)),
    privateKey: new Uint8Array(await kem.serializePrivateKey(pair.privateKey)),
  }
}

describe('HPKE sealing against RFC 9180 Appendix A.1.1', () => {
  it('derives the vector’s recipient public key from its ikmR', async () => {
    expect(toHex((await recipient()).publicKey)).toBe(vector.pkRm)
  })

  it('seals the vector’s plaintext to its enc and ciphertext, with the ephemeral key from ikmE', async () => {
    const sealed = await hpkeSeal({
      suite,
      recipientPublicKey: hex(vector.pkRm),
      plaintext: hex(first.pt),
      info: hex(vector.info),
      aad: hex(first.aad),
      ephemeralKeyMaterial: hex(vector.ikmE),
    })
    expect(toHex(sealed.enc)).toBe(vector.enc)
    expect(toHex(sealed.ct)).toBe(first.ct)
  })

  it('opens the vector’s ciphertext to its plaintext with the recipient’s private key', async () => {
    const { privateKey } = await recipient()
    const plaintext = await hpkeOpen({
      suite,
      recipientPrivateKey: privateKey,
      enc: hex(vector.enc),
      ct: hex(first.ct),
      info: hex(vector.info),
      aad: hex(first.aad),
    })
    expect(Buffer.from(plaintext).toString()).toBe('Beauty is truth, truth beauty')
  })

  it('refuses the vector’s ciphertext when any byte of its associated data changes', async () => {
    const { privateKey } = await recipient()
    const aad = hex(first.aad)
    for (let i = 0; i < aad.length; i++) {
      const changed = aad.slice()
      changed[i]! ^= 0x01
      const opening = hpkeOpen({
        suite,
        recipientPrivateKey: privateKey,
        enc: hex(vector.enc),
        ct: hex(first.ct),
        info: hex(vector.info),
        aad: changed,
      })
      await expect(opening).rejects.toMatchObject({ code: 'PAL_CRYPTO_OPEN_FAILED' })
    }
  })

  it('refuses a suite @hpke/core does not implement, naming the identifier', () => {
    expect(() => cipherSuite({ kem: 0x20, kdf: 1, aead: 3 })).toThrow(CryptoError)
    expect(() => cipherSuite({ kem: 0x20, kdf: 1, aead: 3 })).toThrow(/AEAD identifier .* got 3/)
    expect(() => cipherSuite({ kem: 0x99, kdf: 1, aead: 2 })).toThrow(/KEM identifier/)
  })
})
