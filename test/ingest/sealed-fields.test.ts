import { describe, expect, it } from 'vitest'

import { sealField } from '../../crypto/sealed-field.ts'
import { generateSealingKeyPair } from '../../crypto/sealing-key-pair.ts'
import { normaliseRecord } from '../../ingest/normalise.ts'
import type { ParsedRecord } from '../../ingest/parsed-record.ts'

const ctx = { receivedAt: new Date('2026-12-04T10:00:00.000Z') }
const id = '0193a0f4-7c2e-7b4d-9a31-5f2d8e6c1a07'
const owner = await generateSealingKeyPair()
const sealed = await sealField({ recipient: owner, eventId: id, field: 'user.email', value: 'a@b' })

function normalise(event: Record<string, unknown>) {
  const record: ParsedRecord = { index: 0, raw: JSON.stringify(event), event }
  return normaliseRecord(record, ctx)
}

function reasonFor(event: Record<string, unknown>) {
  const result = normalise(event)
  if (result.ok) throw new Error('expected the event to be refused')
  return result.reason
}

const base = { id, '@timestamp': '2026-12-04T09:59:00Z', user: { name: 'alice' } }

describe('ingesting events with sealed fields', () => {
  it('stores a sealed field exactly as it came, beside the fields in the clear', () => {
    const result = normalise({ ...base, sealed: [sealed] })
    expect(result.ok).toBe(true)
    if (result.ok) expect(result.event.sealed).toEqual([sealed])
  })

  it('refuses an envelope of another shape, naming the member and what was expected', () => {
    const cases: [unknown, string, RegExp][] = [
      [{ ...sealed, v: 2 }, 'sealed[0].v', /expected one of 1, got 2/],
      [{ ...sealed, enc: 'a+b' }, 'sealed[0].enc', /`sealed\[0\]\.enc`/],
      [{ ...sealed, field: 'user..email' }, 'sealed[0].field', /no empty segment/],
      [{ ...sealed, suite: { kem: 32, kdf: 1 } }, 'sealed[0].suite.aead', /expected number/],
      // ChaCha20-Poly1305 (0x0003) is RFC 9180's, but no Palisade client can open it.
      [
        { ...sealed, suite: { ...sealed.suite, aead: 3 } },
        'sealed[0].suite.aead',
        /0x0001, 0x0002/,
      ],
      [{ ...sealed, plaintext: 'a@b' }, 'sealed[0]', /plaintext/],
    ]
    for (const [envelope, path, message] of cases) {
      const reason = reasonFor({ ...base, sealed: [envelope] })
      expect(reason).toMatchObject({ code: 'PAL_INVALID_EVENT', path })
      expect(reason.message).toMatch(message)
    }
  })

  it('refuses sealed fields on an event without its own id, since they are bound to it', () => {
    const withoutId: Record<string, unknown> = { ...base }
    delete withoutId.id
    expect(reasonFor({ ...withoutId, sealed: [sealed] })).toMatchObject({
      code: 'PAL_SEALED_WITHOUT_ID',
      path: 'id',
    })
    const placeholder = { ...base, id: '00000000-0000-0000-0000-000000000000', sealed: [sealed] }
    expect(reasonFor(placeholder).code).toBe('PAL_SEALED_WITHOUT_ID')
  })

  it('refuses a field sent both sealed and in the clear, rather than store what it hides', () => {
    const reason = reasonFor({ ...base, user: { name: 'alice', email: 'a@b' }, sealed: [sealed] })
    expect(reason).toMatchObject({ code: 'PAL_SEALED_FIELD_IN_CLEAR', path: 'user.email' })
    expect(reason.message).not.toContain('a@b')
  })

  it('refuses a field sealed twice, and sealing what Palisade needs in the clear', () => {
    expect(reasonFor({ ...base, sealed: [sealed, sealed] })).toMatchObject({
      code: 'PAL_SEALED_DUPLICATE_FIELD',
      path: 'sealed[1].field',
    })
    for (const field of [
      'id',
      '@timestamp',
      'event.dataset',
      'sealed',
      'event',
      'dlp',
      'dlp.count',
    ]) {
      expect(reasonFor({ ...base, sealed: [{ ...sealed, field }] })).toMatchObject({
        code: 'PAL_SEALED_FIELD_RESERVED',
      })
    }
  })
  it('refuses a field sealed inside another, as the two could not both be put back', () => {
    const outer = { ...sealed, field: 'user' }
    for (const pair of [
      [outer, sealed],
      [sealed, outer],
    ]) {
      const reason = reasonFor({ id, '@timestamp': base['@timestamp'], sealed: pair })
      expect(reason).toMatchObject({ code: 'PAL_SEALED_DUPLICATE_FIELD', path: 'sealed[1].field' })
      expect(reason.message).toContain('inside another')
    }
  })

  it('refuses a field path through __proto__, which would set a prototype when opened', () => {
    for (const field of ['__proto__', 'user.__proto__.admin']) {
      const reason = reasonFor({ ...base, sealed: [{ ...sealed, field }] })
      expect(reason).toMatchObject({ code: 'PAL_INVALID_EVENT', path: 'sealed[0].field' })
      expect(reason.message).toContain('__proto__')
    }
  })
})
