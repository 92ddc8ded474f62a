import { describe, expect, it } from 'vitest'

import { parseJsonArray, parseNdjson } from '../../../ingest/parsers/json-events.ts'
import type { ParseContext } from '../../../ingest/parsed-record.ts'
import { ValidationError } from '../../../platform/errors.ts'

const isWellFormed = (text: string): boolean =>
  (text as unknown as { isWellFormed(): boolean }).isWellFormed()

const ctx: ParseContext = {
  stream: 'test',
  receivedAt: new Date('2026-01-02T00:00:00Z'),
  timeZone: 'UTC',
}

describe('parseJsonArray', () => {
  it('returns one record per array element, each keeping its exact text', () => {
    const body = '[ {"message": "a"},\n  {"message":"b" , "n": 1} ]'
    const records = parseJsonArray(body, ctx)
    expect(records.map((r) => r.event)).toEqual([{ message: 'a' }, { message: 'b', n: 1 }])
    expect(records.map((r) => r.raw)).toEqual(['{"message": "a"}', '{"message":"b" , "n": 1}'])
    expect(records.map((r) => r.index)).toEqual([0, 1])
  })

  it('accepts a lone object as a batch of one', () => {
    const records = parseJsonArray('  {"message": "only"}\n', ctx)
    expect(records).toEqual([{ index: 0, raw: '{"message": "only"}', event: { message: 'only' } }])
  })

  it('returns no records for an empty array', () => {
    expect(parseJsonArray('[]', ctx)).toEqual([])
  })

  it('fails an element that is not an object alone and keeps the others', () => {
    const records = parseJsonArray('[{"a":1}, 42, "x", {"b":2}]', ctx)
    expect(records.map((r) => r.error?.code)).toEqual([
      undefined,
      'PAL_NOT_AN_OBJECT',
      'PAL_NOT_AN_OBJECT',
      undefined,
    ])
    expect(records[1]!.error!.message).toBe('element 1 (offset 10): expected a JSON object, got 42')
    expect(records[3]!.event).toEqual({ b: 2 })
  })

  it('fails an element with invalid JSON alone, citing the JSON error', () => {
    const records = parseJsonArray('[{"a": tru}, {"b": 2}]', ctx)
    expect(records[0]!.error!.code).toBe('PAL_BAD_JSON')
    expect(records[0]!.error!.message).toMatch(/^element 0 \(offset 1\): invalid JSON: /)
    expect(records[0]!.raw).toBe('{"a": tru}')
    expect(records[1]!.event).toEqual({ b: 2 })
  })

  it('frames brackets and quotes inside strings correctly', () => {
    const body = '[{"m": "}]\\" [{"}, {"m": "\\\\"}]'
    expect(parseJsonArray(body, ctx).map((r) => r.event)).toEqual([{ m: '}]" [{' }, { m: '\\' }])
  })

  it('keeps the elements before a structural break and fails the rest as one record', () => {
    const records = parseJsonArray('[{"a":1}, {"b": [}]', ctx)
    expect(records).toHaveLength(2)
    expect(records[0]!.event).toEqual({ a: 1 })
    expect(records[1]!.raw).toBe('{"b": [}]')
    expect(records[1]!.error!.code).toBe('PAL_UNFRAMEABLE')
    expect(records[1]!.error!.message).toContain('expected "]" but got "}" at offset 17')
  })

  it('reports a missing comma between elements', () => {
    const records = parseJsonArray('[{"a":1} {"b":2}]', ctx)
    expect(records[1]!.error!.message).toContain('expected "," or "]" after an array element')
  })

  it('reports an array that never closes', () => {
    const records = parseJsonArray('[{"a":1},', ctx)
    expect(records.at(-1)!.error!.message).toContain('expected "]" but got the end of the body')
  })

  it('reports text after the closing bracket', () => {
    const records = parseJsonArray('[{"a":1}] trailing', ctx)
    expect(records[1]!.raw).toBe('trailing')
    expect(records[1]!.error!.message).toContain('expected the end of the body after the array')
  })

  it('fails a trailing comma as one record that says so, keeping the elements before it', () => {
    const records = parseJsonArray('[{"message":"x"},]', ctx)
    expect(records).toEqual([
      { index: 0, raw: '{"message":"x"}', event: { message: 'x' } },
      {
        index: 1,
        raw: ',]',
        error: {
          code: 'PAL_UNFRAMEABLE',
          message:
            'element 1: cannot frame the rest of the body: trailing comma before "]" at offset 16 (JSON allows none)',
        },
      },
    ])
  })

  it('fails an array that opens and never closes as one record holding its "["', () => {
    expect(parseJsonArray('[', ctx)).toEqual([
      {
        index: 0,
        raw: '[',
        error: {
          code: 'PAL_UNFRAMEABLE',
          message:
            'element 0: cannot frame the rest of the body: expected "]" but got the end of the body',
        },
      },
    ])
  })

  it('returns no records for an empty array with spaces inside', () => {
    expect(parseJsonArray('[ ]', ctx)).toEqual([])
    expect(parseJsonArray(' [\n\t] \n', ctx)).toEqual([])
  })

  it('names an unexpected emoji whole, not half of it', () => {
    const records = parseJsonArray('[{"a":1} 😀]', ctx)
    expect(records[1]!.error!.message).toBe(
      'element 1: cannot frame the rest of the body: expected "," or "]" after an array element but got "😀" at offset 9',
    )
  })

  it('throws PAL_UNFRAMEABLE, quoting the start, for a body that is not a JSON array', () => {
    const call = () => parseJsonArray('hello, this is not JSON', ctx)
    expect(call).toThrow(ValidationError)
    expect(call).toThrow(
      'expected a JSON array of event objects (or one object), got "hello, this is not JSON"',
    )
    try {
      call()
    } catch (error) {
      expect((error as ValidationError).code).toBe('PAL_UNFRAMEABLE')
    }
  })

  it('throws PAL_UNFRAMEABLE for an empty body', () => {
    expect(() => parseJsonArray('', ctx)).toThrow('got ""')
  })
})

describe('parseNdjson', () => {
  it('returns one record per line, skipping blank lines but counting them in the index', () => {
    const records = parseNdjson('{"message":"a"}\r\n\n   \n{"message":"b"}\n', ctx)
    expect(records.map((r) => [r.index, r.raw, r.event])).toEqual([
      [0, '{"message":"a"}', { message: 'a' }],
      [3, '{"message":"b"}', { message: 'b' }],
    ])
  })

  it('fails a bad line alone with its line number and the JSON error, keeping the rest', () => {
    const records = parseNdjson('{"a":1}\n{"a":\n{"a":3}', ctx)
    expect(records.map((r) => r.event ?? null)).toEqual([{ a: 1 }, null, { a: 3 }])
    expect(records[1]!.error!.code).toBe('PAL_BAD_JSON')
    expect(records[1]!.error!.message).toMatch(/^line 2: invalid JSON: .+/)
    expect(records[1]!.raw).toBe('{"a":')
  })

  it('quotes the JSON error without the half emoji V8 leaves at its cut', () => {
    // V8 quotes the text near the error, cut at a fixed width: here inside an emoji.
    const [record] = parseNdjson(`[1, x${'😀'.repeat(20)}]`, ctx)
    expect(record!.error!.code).toBe('PAL_BAD_JSON')
    expect(record!.error!.message).toMatch(/^line 1: invalid JSON: Unexpected token 'x', .*\ufffd/)
    expect(isWellFormed(record!.error!.message)).toBe(true)
  })

  it('fails a line that holds JSON but not an object', () => {
    const [record] = parseNdjson('[1,2]', ctx)
    expect(record!.error).toEqual({
      code: 'PAL_NOT_AN_OBJECT',
      message: 'line 1: expected a JSON object, got [1,2]',
    })
  })

  it('ignores a byte order mark at the start of the body', () => {
    expect(parseNdjson('\uFEFF{"a":1}', ctx)[0]!.event).toEqual({ a: 1 })
  })
})
