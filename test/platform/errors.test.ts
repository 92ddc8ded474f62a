import { describe, expect, it } from 'vitest'

import { describeValue } from '../../platform/errors.ts'

const isWellFormed = (text: string): boolean =>
  (text as unknown as { isWellFormed(): boolean }).isWellFormed()

describe('describeValue', () => {
  it('writes a short value as JSON, and nothing as "nothing"', () => {
    expect(describeValue('not-a-uuid')).toBe('"not-a-uuid"')
    expect(describeValue(1767225600000)).toBe('1767225600000')
    expect(describeValue({ a: 1, b: [true, null] })).toBe('{"a":1,"b":[true,null]}')
    expect(describeValue({ skipped: undefined, kept: [undefined] })).toBe('{"kept":[null]}')
    expect(describeValue(new Date(0))).toBe('"1970-01-01T00:00:00.000Z"')
    expect(describeValue(undefined)).toBe('nothing')
  })

  it('shortens a long string and gives its full length in characters', () => {
    expect(describeValue('a'.repeat(100), 5)).toBe('"aaaa… (100 chars)')
    expect(describeValue('😀'.repeat(100), 5)).toBe('"😀😀😀😀… (100 chars)')
  })

  it('cuts between characters, never inside an emoji', () => {
    expect(describeValue(`${'a'.repeat(58)}😀`)).toBe(`"${'a'.repeat(58)}😀… (59 chars)`)
    expect(describeValue(`${'a'.repeat(59)}😀`)).toBe(`"${'a'.repeat(59)}… (60 chars)`)
  })

  it('never returns a lone surrogate, wherever the cut falls', () => {
    for (let lead = 0; lead < 130; lead++) {
      const text = `${'a'.repeat(lead)}${'😀'.repeat(70)}`
      for (const value of [text, { text }, [text], [[{ [text]: 1 }]]]) {
        expect(isWellFormed(describeValue(value))).toBe(true)
        expect(isWellFormed(describeValue(value, 7))).toBe(true)
      }
    }
    expect(describeValue('\ud83d')).toBe('"\\ud83d"')
  })

  it('shows the start of a huge object without writing all of it', () => {
    const huge = { message: 'x'.repeat(10_000_000), more: [1, 2, 3] }
    expect(describeValue(huge, 20)).toBe('{"message":"xxxxxxxx…')
  })

  it('describes a value nested 100,000 levels deep without overflowing the stack', () => {
    let deep: unknown = 1
    for (let i = 0; i < 100_000; i++) deep = [deep]
    expect(describeValue(deep, 10)).toBe('[[[[[[[[[[…')
    let deepObject: unknown = 1
    for (let i = 0; i < 100_000; i++) deepObject = { a: deepObject }
    expect(describeValue(deepObject, 12)).toBe('{"a":{"a":{"…')
  })
})
