import { describe, expect, it } from 'vitest'

import {
  generateOwnerSigningKey,
  signKeyRegistration,
  verifyKeyRegistration,
} from '../../crypto/key-registration.ts'
import type { KeyRegistration } from '../../crypto/key-registration.ts'
import { toBase64Url } from '../../crypto/bytes.ts'
import { generateSealingKeyPair } from '../../crypto/sealing-key-pair.ts'

const signer = await generateOwnerSigningKey()
const sealing = await generateSealingKeyPair()
const registration: KeyRegistration = {
  owner: 'soc-tier-2',
  challenge: 'q7Vb4m0uWb1Zp3u0ZcQ2yA',
  kid: sealing.kid,
  suite: sealing.suite,
  publicKey: toBase64Url(sealing.publicKey),
}

describe('proving a sealing key’s registration with the owner’s signing key', () => {
  it('verifies a signature over the registration under the owner’s public key', async () => {
    const signature = await signKeyRegistration(signer, registration)
    await expect(
      verifyKeyRegistration(signer.publicKey, registration, signature),
    ).resolves.toBeUndefined()
  })

  it('refuses the signature for any other owner, challenge, key or replaced key', async () => {
    const signature = await signKeyRegistration(signer, registration)
    const other = await generateSealingKeyPair()
    for (const changed of [
      { ...registration, owner: 'soc-tier-3' },
      { ...registration, challenge: 'q7Vb4m0uWb1Zp3u0ZcQ2yB' },
      { ...registration, kid: other.kid, publicKey: toBase64Url(other.publicKey) },
      { ...registration, replaces: 'an-old-kid' },
    ]) {
      await expect(
        verifyKeyRegistration(signer.publicKey, changed, signature),
      ).rejects.toMatchObject({ code: 'PAL_CRYPTO_SIGNATURE_INVALID' })
    }
  })

  it('refuses a signature made with another signing key', async () => {
    const stranger = await generateOwnerSigningKey()
    const signature = await signKeyRegistration(stranger, registration)
    await expect(verifyKeyRegistration(signer.publicKey, registration, signature)).rejects.toThrow(
      /does not verify under the owner's signing key/,
    )
  })

  it('refuses a signing public key that is not Ed25519', async () => {
    const signature = await signKeyRegistration(signer, registration)
    await expect(verifyKeyRegistration('AAAA', registration, signature)).rejects.toMatchObject({
      code: 'PAL_CRYPTO_KEY_INVALID',
    })
  })
})
