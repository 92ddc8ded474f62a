import { describe, expect, it } from 'vitest'

import { MAX_EVENT_DEPTH, normaliseRecord } from '../../ingest/normalise.ts'
import type { ParsedRecord } from '../../ingest/parsed-record.ts'
import { parseNdjson } from '../../ingest/parsers/json-events.ts'
import { PalisadeError } from '../../platform/errors.ts'
import { canonicalJson, contentEventId } from '../../platform/event-id.ts'

const ctx = { receivedAt: new Date('2026-01-02T03:04:05.678Z') }
const UUID7 = '01943a6e-8c1b-7d2e-9f3a-4b5c6d7e8f90'

function record(event: Record<string, unknown>): ParsedRecord {
  return { index: 0, raw: JSON.stringify(event), event }
}

const isWellFormed = (text: string): boolean =>
  (text as unknown as { isWellFormed(): boolean }).isWellFormed()

/** `{"a": [[[ ... ]]]}` with `levels` levels of nesting in all, the event object included. */
function nested(levels: number): string {
  return `{"a":${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}}`
}

function reasonFor(event: Record<string, unknown>) {
  const result = normaliseRecord(record(event), ctx)
  if (result.ok) throw new Error('expected a failure')
  return result.reason
}

describe('normaliseRecord', () => {
  it('keeps an emitter’s UUID and sets event.ingested to the receipt time', () => {
    const result = normaliseRecord(
      record({ id: UUID7, '@timestamp': '2026-01-01T00:00:00Z', message: 'hi' }),
      ctx,
    )
    expect(result).toEqual({
      ok: true,
      event: {
        id: UUID7,
        '@timestamp': '2026-01-01T00:00:00.000Z',
        message: 'hi',
        event: { ingested: '2026-01-02T03:04:05.678Z' },
      },
      timestampDefaulted: false,
    })
  })

  it('refuses Palisade’s own datasets from outside, naming the field, and keeps them from Palisade', () => {
    for (const dataset of ['palisade.auth', 'palisade', 'palisade.audit']) {
      expect(reasonFor({ event: { dataset, action: 'cloned_authenticator' } })).toEqual({
        code: 'PAL_RESERVED_DATASET',
        message: expect.stringContaining(
          `event.dataset ${dataset} is reserved for Palisade's own events`,
        ),
        path: 'event.dataset',
      })
    }
    const own = record({ event: { dataset: 'palisade.auth', action: 'sign_in' } })
    expect(normaliseRecord(own, { ...ctx, internal: true }).ok).toBe(true)
    expect(normaliseRecord(record({ event: { dataset: 'palisades.auth' } }), ctx).ok).toBe(true)
  })

  it('accepts any valid UUID, not only version 7', () => {
    const id = '6f1a3c2e-9b7d-4e40-8a21-3c5d7e9f0b14'
    const result = normaliseRecord(record({ id, '@timestamp': '2026-01-01T00:00:00Z' }), ctx)
    expect(result.ok && result.event.id).toBe(id)
  })

  it('stores an emitter’s UUID in lowercase, so the same id in either case is one event', () => {
    const time = '2026-01-01T00:00:00Z'
    const upper = normaliseRecord(record({ id: UUID7.toUpperCase(), '@timestamp': time }), ctx)
    const lower = normaliseRecord(record({ id: UUID7, '@timestamp': time }), ctx)
    expect(upper.ok && upper.event.id).toBe(UUID7)
    expect(lower.ok && lower.event.id).toBe(UUID7)
  })

  it('treats the nil and max UUIDs as no id and gives the record its content id', () => {
    const event = { '@timestamp': '2026-01-01T00:00:00Z', message: 'placeholder id' }
    const contentId = contentEventId(canonicalJson(event))
    for (const id of [
      '00000000-0000-0000-0000-000000000000',
      'ffffffff-ffff-ffff-ffff-ffffffffffff',
      'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF',
    ]) {
      const result = normaliseRecord(record({ id, ...event }), ctx)
      expect(result).toMatchObject({ ok: true, event: { id: contentId } })
    }
  })

  it('gives an id-less record a content id that a resend reproduces', () => {
    const event = { '@timestamp': '2026-01-01T00:00:00Z', message: 'x', labels: { b: '1', a: '2' } }
    const first = normaliseRecord(record(event), ctx)
    const later = normaliseRecord(record({ ...event }), { receivedAt: new Date() })
    expect(first.ok && first.event.id).toBe(contentEventId(canonicalJson(event)))
    expect(later.ok && later.event.id).toBe(first.ok && first.event.id)
  })

  it('converts @timestamp to UTC with milliseconds', () => {
    const result = normaliseRecord(
      record({ '@timestamp': '2026-01-01T10:00:00.123456+05:30' }),
      ctx,
    )
    expect(result.ok && result.event['@timestamp']).toBe('2026-01-01T04:30:00.123Z')
  })

  it('defaults a missing @timestamp to the receipt time, tags the event and says so', () => {
    const result = normaliseRecord(record({ message: 'no time', tags: ['web'] }), ctx)
    expect(result).toMatchObject({
      ok: true,
      event: { '@timestamp': '2026-01-02T03:04:05.678Z', tags: ['web', 'timestamp_defaulted'] },
      timestampDefaulted: true,
    })
  })

  it('says the timestamp was not defaulted when the record has one', () => {
    const result = normaliseRecord(record({ '@timestamp': '2026-01-01T00:00:00Z' }), ctx)
    expect(result).toMatchObject({ ok: true, timestampDefaulted: false })
  })

  it('replaces an event.ingested sent by the emitter', () => {
    const result = normaliseRecord(
      record({ '@timestamp': '2026-01-01T00:00:00Z', event: { ingested: '1999-01-01T00:00:00Z' } }),
      ctx,
    )
    expect(result.ok && result.event.event?.ingested).toBe('2026-01-02T03:04:05.678Z')
  })

  it('rejects a bad UUID, naming the field, what was expected and what came', () => {
    expect(reasonFor({ id: 'not-a-uuid', '@timestamp': '2026-01-01T00:00:00Z' })).toEqual({
      code: 'PAL_INVALID_EVENT',
      message: '`id`: expected a UUID, got "not-a-uuid"',
      path: 'id',
    })
  })

  it('rejects a timestamp without a zone, or with an impossible date', () => {
    expect(reasonFor({ '@timestamp': '2026-01-01 00:00:00' }).message).toBe(
      '`@timestamp`: expected an RFC 3339 date-time with a zone (like 2026-01-02T03:04:05.678Z), got "2026-01-01 00:00:00"',
    )
    expect(reasonFor({ '@timestamp': '2026-02-30T00:00:00Z' }).path).toBe('@timestamp')
    expect(reasonFor({ '@timestamp': 1767225600000 }).message).toBe(
      '`@timestamp`: expected string, got 1767225600000',
    )
  })

  it('rejects wrong types deep in the event with their full path', () => {
    const reason = reasonFor({
      '@timestamp': '2026-01-01T00:00:00Z',
      event: { category: 'authentication', outcome: 'maybe' },
      source: { port: 70000 },
      labels: { team: 7 },
    })
    expect(reason.path).toBe('event.category')
    expect(reason.message).toBe(
      '`event.category`: expected array, got "authentication"; ' +
        '`event.outcome`: expected one of "success", "failure", "unknown", got "maybe"; ' +
        '`source.port`: expected at most 65535, got 70000; and 1 more',
    )
  })

  it('names array positions in paths', () => {
    const reason = reasonFor({ '@timestamp': '2026-01-01T00:00:00Z', tags: ['ok', 5] })
    expect(reason).toMatchObject({ path: 'tags[1]', message: '`tags[1]`: expected string, got 5' })
  })

  it('passes a parser’s per-record error through as the reason', () => {
    const failed: ParsedRecord = {
      index: 3,
      raw: 'junk',
      error: { code: 'PAL_NOT_SYSLOG', message: 'line 4: expected syslog' },
    }
    expect(normaliseRecord(failed, ctx)).toEqual({
      ok: false,
      reason: { code: 'PAL_NOT_SYSLOG', message: 'line 4: expected syslog', path: '' },
    })
  })
  it('quotes a bad @timestamp without splitting the emoji at the cut', () => {
    const [parsed] = parseNdjson(`{"@timestamp":"${'a'.repeat(58)}😀"}`, {
      ...ctx,
      stream: 'test',
      timeZone: 'UTC',
    })
    const result = normaliseRecord(parsed!, ctx)
    if (result.ok) throw new Error('expected a failure')
    expect(result.reason.message).toBe(
      '`@timestamp`: expected an RFC 3339 date-time with a zone (like 2026-01-02T03:04:05.678Z), ' +
        `got "${'a'.repeat(58)}😀… (59 chars)`,
    )
    expect(isWellFormed(result.reason.message)).toBe(true)
  })

  it('replaces a lone surrogate in a field name with U+FFFD in the reason and its path', () => {
    const reason = reasonFor({ '@timestamp': '2026-01-01T00:00:00Z', labels: { '\ud83d': 1 } })
    expect(reason.path).toBe('labels.\ufffd')
    expect(isWellFormed(reason.message)).toBe(true)
  })

  it('fails an event nested deeper than 64 levels alone, saying the limit and what came', () => {
    const body = [
      '{"message":"before"}',
      `{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`,
      '{"message":"after"}',
    ].join('\n')
    const results = parseNdjson(body, { ...ctx, stream: 'test', timeZone: 'UTC' }).map((r) =>
      normaliseRecord(r, ctx),
    )
    expect(results.map((r) => r.ok)).toEqual([true, false, true])
    const failed = results[1]!
    if (failed.ok) throw new Error('expected a failure')
    const path = `a${'[0]'.repeat(MAX_EVENT_DEPTH - 1)}`
    expect(failed.reason).toEqual({
      code: 'PAL_TOO_DEEP',
      message: `\`${path}\`: expected an event nested at most 64 levels deep, got an array at level 65`,
      path,
    })
  })

  it('accepts an event nested exactly 64 levels deep', () => {
    const event = JSON.parse(nested(64)) as Record<string, unknown>
    expect(normaliseRecord(record(event), ctx).ok).toBe(true)
    expect(reasonFor(JSON.parse(nested(65)) as Record<string, unknown>).code).toBe('PAL_TOO_DEEP')
  })

  it('fails a record with a __proto__, constructor or prototype field alone, naming the field', () => {
    const body = [
      '{"message":"before"}',
      '{"message":"x","user":{"name":"a","__proto__":{"admin":true}}}',
      '{"message":"x","labels":{"constructor":"1"}}',
      '{"message":"x","prototype":[1]}',
      '{"message":"after"}',
    ].join('\n')
    const results = parseNdjson(body, { ...ctx, stream: 'test', timeZone: 'UTC' }).map((r) =>
      normaliseRecord(r, ctx),
    )
    expect(results.map((r) => (r.ok ? 'ok' : r.reason))).toEqual([
      'ok',
      {
        code: 'PAL_FORBIDDEN_KEY',
        message:
          '`user.__proto__`: expected a field name other than __proto__, constructor or prototype',
        path: 'user.__proto__',
      },
      {
        code: 'PAL_FORBIDDEN_KEY',
        message:
          '`labels.constructor`: expected a field name other than __proto__, constructor or prototype',
        path: 'labels.constructor',
      },
      {
        code: 'PAL_FORBIDDEN_KEY',
        message:
          '`prototype`: expected a field name other than __proto__, constructor or prototype',
        path: 'prototype',
      },
      'ok',
    ])
  })

  it('fails a number too large for a double at its path, instead of storing it as null', () => {
    const [parsed] = parseNdjson('{"@timestamp":"2026-01-01T00:00:00Z","x":{"y":[1,-1e999999]}}', {
      ...ctx,
      stream: 'test',
      timeZone: 'UTC',
    })
    expect(normaliseRecord(parsed!, ctx)).toEqual({
      ok: false,
      reason: {
        code: 'PAL_NUMBER_OUT_OF_RANGE',
        message:
          '`x.y[1]`: expected a number of magnitude at most 1.8e308 (a 64-bit float), ' +
          'got one beyond it (JSON.parse reads it as -Infinity)',
        path: 'x.y[1]',
      },
    })
  })
})

describe('canonicalJson', () => {
  it('sorts object keys at every level and writes what JSON.stringify writes otherwise', () => {
    const value = { b: 1, a: { d: [2, { y: 1, x: 2 }], c: null, u: undefined }, '10': 1, '2': 2 }
    expect(canonicalJson(value)).toBe('{"2":2,"10":1,"a":{"c":null,"d":[2,{"x":2,"y":1}]},"b":1}')
  })

  it('fails a value nested past 256 levels with PAL_TOO_DEEP instead of overflowing the stack', () => {
    let deep: unknown = 1
    for (let i = 0; i < 5000; i++) deep = [deep]
    expect(() => canonicalJson(deep)).toThrow(PalisadeError)
    expect(() => canonicalJson(deep)).toThrow('expected JSON nested at most 256 levels deep')
    let fine: unknown = 1
    for (let i = 0; i < 256; i++) fine = { k: fine }
    expect(canonicalJson(fine)).toBe(`${'{"k":'.repeat(256)}1${'}'.repeat(256)}`)
  })
})
