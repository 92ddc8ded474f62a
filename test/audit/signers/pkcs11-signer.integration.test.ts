import { createHash, createPublicKey, verify } from 'node:crypto'

import pkcs11js from 'pkcs11js'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'

import type { SignatureAlgorithm } from '../../../audit/signers/checkpoint-signer.ts'
import { HsmError } from '../../../audit/signers/hsm-error.ts'
import { Pkcs11Module } from '../../../audit/signers/pkcs11-module.ts'
import { Pkcs11Signer } from '../../../audit/signers/pkcs11-signer.ts'
import type { Pkcs11SignerOptions } from '../../../audit/signers/pkcs11-signer.ts'
import { verifySignature } from '../../../audit/signers/verify-signature.ts'
import { createSoftHsm } from '../../helpers/softhsm.ts'
import type { SoftHsm, TestToken } from '../../helpers/softhsm.ts'
import { softHsmAvailable } from '../../helpers/softhsm.ts'

const available = softHsmAvailable()
const message = new TextEncoder().encode('palisade checkpoint\n42\nroot hash\n')
const algorithms: SignatureAlgorithm[] = ['ecdsa-p256-sha256', 'ed25519']

/** Awaits a rejection and returns it as an HsmError, failing the test if it is another. */
async function hsmFailure(promise: Promise<unknown>): Promise<HsmError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(HsmError)
  return error as HsmError
}

describe.skipIf(!available)('a checkpoint signer in SoftHSM2 (skipped without softhsm2)', () => {
  let hsm: SoftHsm
  let token: TestToken
  const opened: Pkcs11Signer[] = []

  const open = async (overrides: Partial<Pkcs11SignerOptions> = {}): Promise<Pkcs11Signer> => {
    const signer = await Pkcs11Signer.open({
      modulePath: token.modulePath,
      tokenLabel: token.label,
      pin: token.pin,
      keyLabel: 'checkpoint-p256',
      algorithm: 'ecdsa-p256-sha256',
      generate: true,
      ...overrides,
    })
    opened.push(signer)
    return signer
  }

  beforeAll(() => {
    hsm = createSoftHsm()
    token = hsm.createToken('palisade-audit')
  })

  afterAll(async () => {
    for (const signer of opened) await signer.close()
    hsm?.destroy()
  })

  it('offers Ed25519 (CKM_EC_EDWARDS_KEY_PAIR_GEN and CKM_EDDSA) in this SoftHSM2', async () => {
    const module = await Pkcs11Module.acquire(token.modulePath)
    try {
      const { api } = module
      const slot = api
        .C_GetSlotList(true)
        .find((s) => api.C_GetTokenInfo(s).label.trim() === token.label)
      const offered = api.C_GetMechanismList(slot!)
      expect(offered).toEqual(expect.arrayContaining([0x1040, 0x1041, 0x1055, 0x1057]))
    } finally {
      module.release()
    }
  })

  it('generates its key in the token, where the private value cannot be read out', async () => {
    await open()
    const module = await Pkcs11Module.acquire(token.modulePath)
    try {
      const { api } = module
      const slot = api
        .C_GetSlotList(true)
        .find((s) => api.C_GetTokenInfo(s).label.trim() === token.label)
      const session = api.C_OpenSession(slot!, pkcs11js.CKF_SERIAL_SESSION)
      // The signer's session has logged this process in already; login is per application.
      expect(() => api.C_Login(session, pkcs11js.CKU_USER, token.pin)).toThrow(
        'CKR_USER_ALREADY_LOGGED_IN',
      )
      api.C_FindObjectsInit(session, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
        { type: pkcs11js.CKA_LABEL, value: 'checkpoint-p256' },
      ])
      const [key] = api.C_FindObjects(session, 2)
      api.C_FindObjectsFinal(session)

      expect(() => api.C_GetAttributeValue(session, key!, [{ type: pkcs11js.CKA_VALUE }])).toThrow(
        'CKR_ATTRIBUTE_SENSITIVE',
      )
      const flags = api
        .C_GetAttributeValue(session, key!, [
          { type: pkcs11js.CKA_SENSITIVE },
          { type: pkcs11js.CKA_EXTRACTABLE },
          { type: pkcs11js.CKA_ALWAYS_SENSITIVE },
          { type: pkcs11js.CKA_NEVER_EXTRACTABLE },
          { type: pkcs11js.CKA_LOCAL },
          { type: pkcs11js.CKA_TOKEN },
          { type: pkcs11js.CKA_PRIVATE },
        ])
        .map((a) => (a.value as Buffer)[0] === 1)
      expect(flags).toEqual([true, false, true, true, true, true, true])
      api.C_CloseSession(session)
    } finally {
      module.release()
    }
  })

  it.each(algorithms)('signs with %s so that the exported public key verifies', async (alg) => {
    const signer = await open({ keyLabel: `checkpoint-${alg}`, algorithm: alg })
    expect(signer.kind).toBe('hsm')
    expect(signer.algorithm).toBe(alg)

    const signature = await signer.sign(message)
    expect(signature).toHaveLength(64)

    const key = createPublicKey(signer.publicKeyPem())
    const ok =
      alg === 'ed25519'
        ? verify(null, message, key, signature)
        : verify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, signature)
    expect(ok).toBe(true)
    expect(verifySignature(signer.publicKeyPem(), alg, message, signature)).toBe(true)

    const changed = Uint8Array.from(message)
    changed[0]! ^= 1
    expect(verifySignature(signer.publicKeyPem(), alg, changed, signature)).toBe(false)
  })

  it('keeps the same fingerprint, the SHA-256 of the SPKI, when the key is opened again', async () => {
    const first = await open({ keyLabel: 'reopened' })
    const fingerprint = first.fingerprint()
    const keyId = first.keyId
    await first.close()

    const again = await open({ keyLabel: 'reopened', generate: false })
    expect(again.fingerprint()).toBe(fingerprint)
    expect(again.keyId).toBe(keyId)
    expect(keyId).toMatch(
      /^pkcs11:token=palisade-audit;object=reopened;id=(%[0-9a-f]{2})+;type=private$/,
    )
    const der = createPublicKey(again.publicKeyPem()).export({ type: 'spki', format: 'der' })
    expect(createHash('sha256').update(der).digest('hex')).toBe(fingerprint)

    const pinned = await open({ keyLabel: 'reopened', expectedFingerprint: fingerprint })
    expect(pinned.fingerprint()).toBe(fingerprint)
    const error = await hsmFailure(
      open({ keyLabel: 'reopened', expectedFingerprint: '00'.repeat(32) }),
    )
    expect(error.code).toBe('PAL_HSM_KEY_MISMATCH')
  })

  it('fails with PAL_HSM_KEY_MISSING when the key is absent and it may not generate one', async () => {
    const error = await hsmFailure(open({ keyLabel: 'never-made', generate: false }))
    expect(error.code).toBe('PAL_HSM_KEY_MISSING')
    expect(error.retriable).toBe(false)
    expect(error.message).toContain('"never-made"')
  })

  it('fails with PAL_HSM_MODULE_MISSING, not retriable, when the module is not there', async () => {
    const error = await hsmFailure(open({ modulePath: '/nonexistent/libpkcs11.so' }))
    expect(error.code).toBe('PAL_HSM_MODULE_MISSING')
    expect(error.retriable).toBe(false)
    expect(error.message).toContain('/nonexistent/libpkcs11.so')
  })

  it('fails with PAL_HSM_TOKEN_MISSING, retriable, when no token has the label', async () => {
    const error = await hsmFailure(open({ tokenLabel: 'no-such-token' }))
    expect(error.code).toBe('PAL_HSM_TOKEN_MISSING')
    expect(error.retriable).toBe(true)
    expect(error.message).toContain('"no-such-token"')
  })

  it('refuses a wrong PIN with one login attempt and no second, never showing the PIN', async () => {
    const pinToken = hsm.createToken('pin-check', { pin: '111111' })
    const wrongPin = '999999-not-the-pin'
    // pkcs11js puts its methods on each instance: watch the one instance signers share.
    const module = await Pkcs11Module.acquire(pinToken.modulePath)
    const login = vi.spyOn(module.api, 'C_Login')
    try {
      const error = await hsmFailure(
        open({ tokenLabel: pinToken.label, pin: wrongPin, modulePath: pinToken.modulePath }),
      )
      expect(error.code).toBe('PAL_HSM_PIN_INCORRECT')
      expect(error.retriable).toBe(false)
      expect(login).toHaveBeenCalledTimes(1)
      const shown = `${error.message} ${JSON.stringify(error)} ${String(error.stack)}`
      expect(shown).not.toContain(wrongPin)
    } finally {
      login.mockRestore()
      module.release()
    }
  })

  it('stops at a PIN changed while the token was away, and does not try it again', async () => {
    const pinToken = hsm.createToken('pin-changed', { pin: '222222' })
    const signer = await open({ tokenLabel: pinToken.label, pin: pinToken.pin })
    await signer.sign(message)

    pinToken.setUserPin('333333')
    pinToken.remove()
    await hsmFailure(signer.sign(message))
    pinToken.restore()
    const module = await Pkcs11Module.acquire(pinToken.modulePath)
    const login = vi.spyOn(module.api, 'C_Login')
    try {
      // The first call finds its session gone and reopens it: the old PIN is refused.
      const first = await hsmFailure(signer.sign(message))
      expect(first.code).toBe('PAL_HSM_PIN_INCORRECT')
      const calls = login.mock.calls.length
      expect(calls).toBe(1)

      const second = await hsmFailure(signer.sign(message))
      expect(second.code).toBe('PAL_HSM_PIN_INCORRECT')
      expect(login).toHaveBeenCalledTimes(calls)
    } finally {
      login.mockRestore()
      module.release()
    }
  })

  it('fails retriably while the token is gone, then signs with the same key once it is back', async () => {
    const gone = hsm.createToken('comes-and-goes')
    const signer = await open({ tokenLabel: gone.label, keyLabel: 'k', algorithm: 'ed25519' })
    const fingerprint = signer.fingerprint()
    await signer.sign(message)

    gone.remove()
    const first = await hsmFailure(signer.sign(message))
    expect(first.retriable).toBe(true)
    expect(['PAL_HSM_SESSION_LOST', 'PAL_HSM_TOKEN_MISSING']).toContain(first.code)
    const second = await hsmFailure(signer.sign(message))
    expect(second.code).toBe('PAL_HSM_TOKEN_MISSING')
    expect(second.retriable).toBe(true)

    gone.restore()
    const signature = await signer.sign(message)
    expect(signer.fingerprint()).toBe(fingerprint)
    expect(verifySignature(signer.publicKeyPem(), 'ed25519', message, signature)).toBe(true)
  })

  it('refuses to sign with another key that appeared under the same labels', async () => {
    const original = hsm.createToken('swapped')
    const signer = await open({ tokenLabel: original.label, keyLabel: 'k' })
    await signer.sign(message)

    original.remove()
    hsm.createToken('swapped')
    // The signer finds the new token, and no key in it: it does not make one.
    await hsmFailure(signer.sign(message))
    const missing = await hsmFailure(signer.sign(message))
    expect(missing.code).toBe('PAL_HSM_KEY_MISSING')

    // Someone makes a key with the same labels in the new token.
    const impostor = await open({ tokenLabel: 'swapped', keyLabel: 'k' })
    expect(impostor.fingerprint()).not.toBe(signer.fingerprint())

    const refused = await hsmFailure(signer.sign(message))
    expect(refused.code).toBe('PAL_HSM_KEY_MISMATCH')
    expect(refused.message).toContain(signer.fingerprint())
  })

  it('cannot have its signing replaced, so no other key signs in its place', async () => {
    const signer = await open({ keyLabel: 'frozen' })
    const replace = () => {
      ;(signer as unknown as { sign: unknown }).sign = async () => new Uint8Array(64)
    }
    expect(replace).toThrow(TypeError)
    expect(() => {
      ;(Pkcs11Signer.prototype as unknown as { sign: unknown }).sign = async () => undefined
    }).toThrow(TypeError)
  })
})
