import { describe, expect, it } from 'vitest'

import { normaliseRecord } from '../../ingest/normalise.ts'
import type { ParsedRecord } from '../../ingest/parsed-record.ts'
import { canonicalJson, contentEventId } from '../../platform/event-id.ts'

const ctx = { receivedAt: new Date('2026-01-02T03:04:05.678Z') }
const UUID7 = '01943a6e-8c1b-7d2e-9f3a-4b5c6d7e8f90'

function record(event: Record<string, unknown>): ParsedRecord {
  return { index: 0, raw: JSON.stringify(event), event }
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
    })
  })

  it('accepts any valid UUID, not only version 7', () => {
    const id = '6f1a3c2e-9b7d-4e40-8a21-3c5d7e9f0b14'
    const result = normaliseRecord(record({ id, '@timestamp': '2026-01-01T00:00:00Z' }), ctx)
    expect(result.ok && result.event.id).toBe(id)
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

  it('defaults a missing @timestamp to the receipt time and tags the event', () => {
    const result = normaliseRecord(record({ message: 'no time', tags: ['web'] }), ctx)
    expect(result).toMatchObject({
      ok: true,
      event: { '@timestamp': '2026-01-02T03:04:05.678Z', tags: ['web', 'timestamp_defaulted'] },
    })
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
})
