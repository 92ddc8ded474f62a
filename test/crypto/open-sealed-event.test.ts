import { describe, expect, it } from 'vitest'

import { openSealedEvent } from '../../crypto/open-sealed-event.ts'
import { sealField } from '../../crypto/sealed-field.ts'
import { generateSealingKeyPair } from '../../crypto/sealing-key-pair.ts'

const current = await generateSealingKeyPair()
const previous = await generateSealingKeyPair()
const id = '0193a0f4-7c2e-7b4d-9a31-5f2d8e6c1a07'

describe('opening every sealed field of a stored event', () => {
  it('puts each value back at its path with whichever key it was sealed to', async () => {
    const stored = {
      id,
      user: { name: 'alice' },
      sealed: [
        await sealField({ recipient: current, eventId: id, field: 'user.email', value: 'a@x' }),
        await sealField({ recipient: previous, eventId: id, field: 'crm.record', value: { n: 1 } }),
      ],
    }
    const result = await openSealedEvent(stored, [current, previous])
    expect(result.event).toEqual({
      id,
      user: { name: 'alice', email: 'a@x' },
      crm: { record: { n: 1 } },
    })
    expect(result.opened).toEqual(['user.email', 'crm.record'])
    expect(result.unopened).toEqual([])
    expect(stored.sealed).toHaveLength(2)
  })

  it('keeps sealed, and reports, a field of a key not given or one moved from another event', async () => {
    const moved = await sealField({
      recipient: current,
      eventId: '0193a0f4-7c2e-7b4d-9a31-5f2d8e6c1a08',
      field: 'message',
      value: 'x',
    })
    const other = await sealField({ recipient: previous, eventId: id, field: 'labels.x', value: 1 })
    const result = await openSealedEvent({ id, sealed: [moved, other] }, [current])
    expect(result.event).toEqual({ id, sealed: [moved, other] })
    expect(result.unopened.map((u) => [u.field, u.code])).toEqual([
      ['message', 'PAL_CRYPTO_OPEN_FAILED'],
      ['labels.x', 'PAL_CRYPTO_KEY_MISMATCH'],
    ])
  })

  it('refuses to overwrite a value the event already holds at the sealed path', async () => {
    const sealed = await sealField({
      recipient: current,
      eventId: id,
      field: 'message',
      value: 's',
    })
    const result = await openSealedEvent({ id, message: 'clear', sealed: [sealed] }, [current])
    expect(result.event.message).toBe('clear')
    expect(result.unopened[0]!.message).toBe(
      'cannot put message back: the event already holds a value there',
    )
  })
})
