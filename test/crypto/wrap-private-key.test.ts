import { describe, expect, it } from 'vitest'

import { fromBase64Url, toBase64Url } from '../../crypto/bytes.ts'
import { generateSealingKeyPair } from '../../crypto/sealing-key-pair.ts'
import {
  DEFAULT_SCRYPT,
  keyFileMatchesKid,
  unwrapPrivateKey,
  wrapPrivateKey,
} from '../../crypto/wrap-private-key.ts'

const owner = await generateSealingKeyPair()
/** Cheap costs for the many cases below; one case runs the default costs. */
const cheap = { scrypt: { N: 2 ** 10, r: 8, p: 1 } }
const passphrase = 'correct horse battery staple'

describe('wrapping a private key under a passphrase', () => {
  it('unwraps with the passphrase at the default scrypt costs, and holds no key bytes in clear', async () => {
    const file = await wrapPrivateKey(owner, passphrase)
    expect(file.kdf).toMatchObject({ name: 'scrypt', ...DEFAULT_SCRYPT })
    expect(file.kdf.N).toBe(131072)
    const text = JSON.stringify(file)
    expect(text).not.toContain(toBase64Url(owner.privateKey))
    expect(text).not.toContain(Buffer.from(owner.privateKey).toString('hex'))
    expect(await keyFileMatchesKid(file)).toBe(true)
    expect((await unwrapPrivateKey(file, passphrase)).privateKey).toEqual(owner.privateKey)
    // Two derivations of 128 MiB each in JavaScript: seconds on a busy machine, by design.
  }, 60_000)

  it('unwraps a passphrase typed in another Unicode form (NFKC)', async () => {
    const file = await wrapPrivateKey(owner, 'caf\u00e9 cr\u00e8me', cheap)
    const unwrapped = await unwrapPrivateKey(file, 'cafe\u0301 cre\u0300me')
    expect(unwrapped.privateKey).toEqual(owner.privateKey)
  })

  it('refuses a wrong passphrase with a clear error', async () => {
    const file = await wrapPrivateKey(owner, passphrase, cheap)
    await expect(unwrapPrivateKey(file, 'Correct horse battery staple')).rejects.toMatchObject({
      code: 'PAL_CRYPTO_WRONG_PASSPHRASE',
      message: `the passphrase does not unwrap key ${owner.kid}, or the key file was changed`,
    })
  })

  it('refuses a key file whose public members or wrapped bytes were edited', async () => {
    const file = await wrapPrivateKey(owner, passphrase, cheap)
    const other = await generateSealingKeyPair()
    const wrapped = fromBase64Url(file.wrapped)
    wrapped[0]! ^= 1
    const edits = [
      { ...file, kid: other.kid },
      { ...file, public_key: toBase64Url(other.publicKey) },
      { ...file, suite: { ...file.suite, aead: 1 } },
      { ...file, kdf: { ...file.kdf, r: 9 } },
      { ...file, wrapped: toBase64Url(wrapped) },
    ]
    for (const edited of edits) {
      await expect(unwrapPrivateKey(edited, passphrase)).rejects.toMatchObject({
        code: 'PAL_CRYPTO_WRONG_PASSPHRASE',
      })
    }
  })

  it('says which member of a malformed key file is wrong', async () => {
    const file = await wrapPrivateKey(owner, passphrase, cheap)
    await expect(unwrapPrivateKey({ ...file, format: 'pem' }, passphrase)).rejects.toThrow(
      'key file `format`: expected "palisade-sealing-key"',
    )
    await expect(
      unwrapPrivateKey({ ...file, kdf: { ...file.kdf, N: 1000 } }, passphrase),
    ).rejects.toThrow('kdf.N: expected a power of two from 2^10 to 2^22, got 1000')
    await expect(wrapPrivateKey(owner, '')).rejects.toThrow('expected a non-empty passphrase')
  })
})
