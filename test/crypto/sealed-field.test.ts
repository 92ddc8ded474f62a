import { describe, expect, it } from 'vitest'

import { fromBase64Url, toBase64Url } from '../../crypto/bytes.ts'
import { CryptoError } from '../../crypto/crypto-error.ts'
import {
  openSealedField,
  parseSealedField,
  sealField,
  type SealedField,
} from '../../crypto/sealed-field.ts'
import { generateSealingKeyPair, publicHalf } from '../../crypto/sealing-key-pair.ts'

const owner = await generateSealingKeyPair()
const eventId = '0193a0f4-7c2e-7b4d-9a31-5f2d8e6c1a07'
const value = { email: 'alice@example.com', note: 'the flagged message body' }
const sealed = await sealField({
  recipient: publicHalf(owner),
  eventId,
  field: 'user.email',
  value,
})

/** The envelope with one byte of a base64url member flipped. */
function flipByte(envelope: SealedField, member: 'enc' | 'ct', at: number): SealedField {
  const bytes = fromBase64Url(envelope[member])
  bytes[at]! ^= 0x01
  return { ...envelope, [member]: toBase64Url(bytes) }
}

/** The text with the character at `at` swapped for another base64url-safe one. */
function swapChar(text: string, at: number): string {
  const replacement = text[at] === 'A' ? 'B' : 'A'
  return text.slice(0, at) + replacement + text.slice(at + 1)
}

describe('sealing a field to its owner’s public key', () => {
  it('opens to the value sealed, with its JSON type', async () => {
    expect(await openSealedField(sealed, eventId, owner)).toEqual(value)
    const n = await sealField({ recipient: owner, eventId, field: 'labels.count', value: 42 })
    expect(await openSealedField(n, eventId, owner)).toBe(42)
  })

  it('writes an envelope of version, field, suite, key id, encapsulated key and ciphertext', () => {
    expect(Object.keys(sealed).sort()).toEqual(['ct', 'enc', 'field', 'kid', 'suite', 'v'])
    expect(sealed).toMatchObject({ v: 1, field: 'user.email', kid: owner.kid })
    expect(sealed.suite).toEqual({ kem: 0x20, kdf: 1, aead: 2 })
    expect(fromBase64Url(sealed.enc)).toHaveLength(32)
    expect(JSON.stringify(sealed)).not.toContain('alice')
  })

  it('seals the same value differently each time, with a fresh ephemeral key', async () => {
    const again = await sealField({ recipient: owner, eventId, field: 'user.email', value })
    expect(again.enc).not.toBe(sealed.enc)
    expect(again.ct).not.toBe(sealed.ct)
  })

  it('refuses to open after any byte of the encapsulated key or ciphertext changes', async () => {
    for (const member of ['enc', 'ct'] as const) {
      const length = fromBase64Url(sealed[member]).length
      for (let at = 0; at < length; at++) {
        await expect(
          openSealedField(flipByte(sealed, member, at), eventId, owner),
        ).rejects.toMatchObject({
          code: 'PAL_CRYPTO_OPEN_FAILED',
          context: { field: 'user.email' },
        })
      }
    }
  })

  it('refuses to open when the key id is edited, even by one character', async () => {
    for (let at = 0; at < sealed.kid.length; at++) {
      const kid = swapChar(sealed.kid, at)
      // Presented with a key whose id is the edited one, the AEAD still refuses: the key id
      // is in the associated data.
      const opening = openSealedField({ ...sealed, kid }, eventId, { ...owner, kid })
      await expect(opening).rejects.toMatchObject({ code: 'PAL_CRYPTO_OPEN_FAILED' })
    }
    await expect(
      openSealedField({ ...sealed, kid: swapChar(sealed.kid, 0) }, eventId, owner),
    ).rejects.toThrow(/expected a field sealed to key .* got one sealed to key/)
  })

  it('refuses to open when the suite or version is edited', async () => {
    const aes128 = { ...sealed, suite: { ...sealed.suite, aead: 1 } }
    await expect(openSealedField(aes128, eventId, owner)).rejects.toBeInstanceOf(CryptoError)
    await expect(openSealedField({ ...sealed, v: 2 }, eventId, owner)).rejects.toMatchObject({
      code: 'PAL_CRYPTO_ENVELOPE_INVALID',
    })
  })

  it('refuses a sealed value moved to another event', async () => {
    const other = '0193a0f4-7c2e-7b4d-9a31-5f2d8e6c1a08'
    await expect(openSealedField(sealed, other, owner)).rejects.toThrow(/did not open/)
    for (let at = 0; at < eventId.length; at++) {
      if (eventId[at] === '-') continue
      const changed =
        eventId.slice(0, at) + (eventId[at] === '0' ? '1' : '0') + eventId.slice(at + 1)
      await expect(openSealedField(sealed, changed, owner)).rejects.toMatchObject({
        code: 'PAL_CRYPTO_OPEN_FAILED',
        context: { event_id: changed },
      })
    }
  })

  it('opens under the event id in any letter case, as ingest lowercases it', async () => {
    expect(await openSealedField(sealed, eventId.toUpperCase(), owner)).toEqual(value)
  })

  it('refuses a sealed value moved to another field', async () => {
    for (const field of ['user.name', 'user.emai', 'user.email.x', 'message']) {
      await expect(openSealedField({ ...sealed, field }, eventId, owner)).rejects.toMatchObject({
        code: 'PAL_CRYPTO_OPEN_FAILED',
        context: { field },
      })
    }
  })

  it('refuses to open with another owner’s key of the same id', async () => {
    const stranger = await generateSealingKeyPair()
    await expect(
      openSealedField(sealed, eventId, { ...stranger, kid: owner.kid }),
    ).rejects.toMatchObject({ code: 'PAL_CRYPTO_OPEN_FAILED' })
  })

  it('says which member of a malformed envelope is wrong, what it expected and what came', () => {
    const cases: [unknown, RegExp][] = [
      ['a string', /a sealed field: expected an object, got "a string"/],
      [{ ...sealed, field: '' }, /`field`: expected a field path of 1 to 256 characters/],
      [{ ...sealed, field: 'user..email' }, /`field`: expected a dotted field path/],
      [{ ...sealed, suite: { kem: 32, kdf: 1 } }, /`suite.aead`: expected an RFC 9180 identifier/],
      [{ ...sealed, enc: 'no+slash/' }, /`enc`: expected a non-empty unpadded base64url/],
      [{ ...sealed, ct: undefined }, /`ct`: .* got nothing/],
      [{ ...sealed, plaintext: 'oops' }, /`plaintext`: expected no member besides/],
    ]
    for (const [envelope, message] of cases) {
      expect(() => parseSealedField(envelope)).toThrow(message)
    }
  })

  it('refuses to seal without the event id or with an empty field path', async () => {
    await expect(
      sealField({ recipient: owner, eventId: '', field: 'x', value: 1 }),
    ).rejects.toThrow(/expected the event id the event is sent with, got ""/)
    await expect(sealField({ recipient: owner, eventId, field: '', value: 1 })).rejects.toThrow(
      /expected a field path/,
    )
  })
})
