import { describe, expect, it } from 'vitest'

import { blindIndex, generateBlindIndexKey } from '../../crypto/blind-index.ts'
import { openSealedEvent } from '../../crypto/open-sealed-event.ts'
import { sealEventFields } from '../../crypto/seal-event-fields.ts'
import { generateSealingKeyPair, publicHalf } from '../../crypto/sealing-key-pair.ts'
import { createDlpScanner } from '../../enrich/dlp/create-dlp-scanner.ts'
import { fieldsToSeal } from '../../enrich/dlp/fields-to-seal.ts'

const owner = await generateSealingKeyPair()
const recipient = publicHalf(owner)
const id = '0193a0f4-7c2e-7b4d-9a31-5f2d8e6c1a07'
const card = '4111 1111 1111 1111'

const event = {
  id,
  '@timestamp': '2026-12-04T10:00:00Z',
  event: { dataset: 'billing.payment' },
  message: `charge declined for card ${card}`,
  user: { name: 'alice', email: 'alice@example.com' },
  labels: { note: 'retry later' },
}

describe('sealing chosen fields of an event on the emitter', () => {
  it('moves each chosen value into sealed, and the owner opens the event back as it was', async () => {
    const { event: sent, sealed } = await sealEventFields(event, {
      recipient,
      fields: ['message', 'user.email', 'not.there'],
    })

    expect(sealed).toEqual(['message', 'user.email'])
    expect(JSON.stringify(sent)).not.toContain('1111')
    expect(JSON.stringify(sent)).not.toContain('alice@example.com')
    expect(sent.user).toEqual({ name: 'alice' })
    expect(event.message).toContain(card)

    const { event: opened, unopened } = await openSealedEvent(sent, [owner])
    expect(unopened).toEqual([])
    expect(opened).toEqual(event)
  })

  it('removes an object the sealing leaves empty, and puts it back when opened', async () => {
    const only = { id, '@timestamp': '2026-12-04T10:00:00Z', user: { email: 'a@example.com' } }
    const { event: sent } = await sealEventFields(only, { recipient, fields: ['user.email'] })
    expect(sent).not.toHaveProperty('user')
    expect((await openSealedEvent(sent, [owner])).event).toEqual(only)
  })

  it('seals the whole array when a chosen path points inside one', async () => {
    const tagged = { id, tags: ['ok', card] }
    const { sealed } = await sealEventFields(tagged, { recipient, fields: ['tags.1'] })
    expect(sealed).toEqual(['tags'])
  })

  it('carries a blind index of the value when given the blind index key', async () => {
    const key = generateBlindIndexKey()
    const { event: sent } = await sealEventFields(event, {
      recipient,
      fields: ['user.email'],
      blindIndexKey: key,
    })
    const [envelope] = sent.sealed as { bi?: string }[]
    expect(envelope!.bi).toBe(await blindIndex(key, 'user.email', 'alice@example.com'))
  })

  it('refuses to seal what ingest needs in the clear, or an event without its id', async () => {
    for (const field of ['id', '@timestamp', 'event', 'event.dataset']) {
      await expect(sealEventFields(event, { recipient, fields: [field] })).rejects.toMatchObject({
        code: 'PAL_CRYPTO_INVALID_ARGUMENT',
        message: expect.stringContaining(`cannot seal ${field}:`),
      })
    }
    const withoutId = { message: card }
    await expect(
      sealEventFields(withoutId, { recipient, fields: ['message'] }),
    ).rejects.toMatchObject({ code: 'PAL_CRYPTO_INVALID_ARGUMENT', message: /got none/ })
  })
})

describe('choosing fields to seal with the DLP scanner', () => {
  const scanner = createDlpScanner()

  it('names the fields holding a finding of the chosen types, and no other', () => {
    expect(fieldsToSeal(scanner, event, ['CREDIT_CARD'])).toEqual(['message'])
    expect(fieldsToSeal(scanner, event, ['CREDIT_CARD', 'EMAIL_ADDRESS'])).toEqual([
      'message',
      'user.email',
    ])
    expect(fieldsToSeal(scanner, event, ['US_SSN'])).toEqual([])
  })

  it('does not scan what is already sealed', async () => {
    const { event: sent } = await sealEventFields(event, { recipient, fields: ['message'] })
    expect(fieldsToSeal(scanner, sent, ['HIGH_ENTROPY_SECRET', 'CREDIT_CARD'])).toEqual([])
  })
})
