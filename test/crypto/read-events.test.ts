import { describe, expect, it } from 'vitest'

import { EventsTextError, readEvents } from '../../crypto/read-events.ts'

describe('reading an export of events in the sealed-field view', () => {
  it('reads a JSON array, an API page of items, one event and NDJSON alike', () => {
    const a = { id: 'a' }
    const b = { id: 'b' }
    expect(readEvents(JSON.stringify([a, b]))).toEqual([a, b])
    expect(readEvents(JSON.stringify({ items: [a, b], next: null }))).toEqual([a, b])
    expect(readEvents(JSON.stringify(a))).toEqual([a])
    expect(readEvents(`${JSON.stringify(a)}\n\n${JSON.stringify(b)}\n`)).toEqual([a, b])
  })

  it('names the line that is not JSON, and the event that is not an object', () => {
    expect(() => readEvents('{"id":"a"}\n{oops')).toThrow(
      new EventsTextError(
        'Line 2 is not JSON: expected a JSON array of events, or one event a line.',
      ),
    )
    expect(() => readEvents('[{"id":"a"}, 3]')).toThrow('Event 2 is not a JSON object.')
    expect(() => readEvents('')).toThrow(EventsTextError)
  })
})
