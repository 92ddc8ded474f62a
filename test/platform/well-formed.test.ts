import { describe, expect, it } from 'vitest'

import { wellFormedJson } from '../../platform/well-formed.ts'

describe('wellFormedJson', () => {
  it('writes an ordinary event exactly as JSON.stringify does', () => {
    const event = { a: 1, b: [2.5, -3], c: 'text', d: { e: null, f: true } }
    expect(wellFormedJson(event)).toBe(JSON.stringify(event))
  })

  it('replaces a lone surrogate with U+FFFD and keeps a valid pair', () => {
    expect(wellFormedJson({ s: 'a\ud800b', pair: '😀' })).toBe('{"s":"a\ufffdb","pair":"😀"}')
  })

  it('writes integers beyond 64 bits in exponent form, which reads back as the same double', () => {
    const value = { big: 2 ** 64, low: -(2 ** 63), list: [2 ** 70, 5], fits: 18446744073709550000 }
    const text = wellFormedJson(value)
    expect(text).toBe(
      '{"big":1.8446744073709552e+19,"low":-9.223372036854776e+18,' +
        '"list":[1.1805916207174113e+21,5],"fits":18446744073709550000}',
    )
    expect(JSON.parse(text)).toEqual(value)
  })

  it('leaves a string of many digits as it is', () => {
    const value = { id: '123456789012345678901234', n: 2 ** 64 }
    expect(JSON.parse(wellFormedJson(value))).toEqual(value)
    expect(wellFormedJson(value)).toContain('"123456789012345678901234"')
  })
})
