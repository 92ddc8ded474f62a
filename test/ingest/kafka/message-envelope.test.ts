import { describe, expect, it } from 'vitest'

import { entityKey, partitionOf } from '../../../ingest/kafka/entity-key.ts'
import { kafkaTopics } from '../../../ingest/kafka/kafka-topics.ts'
import {
  decodeEnvelope,
  encodeEnvelope,
  eventEnvelope,
} from '../../../ingest/kafka/message-envelope.ts'
import type { EventEnvelope } from '../../../ingest/kafka/message-envelope.ts'

const place = { topic: 'palisade.events.v1', partition: 3, offset: '42' }
const envelope: EventEnvelope = {
  v: 1,
  source: 'http',
  format: 'json',
  stream: 'http:token-1',
  position: 0,
  received: '2026-12-04T10:00:00.000Z',
  raw: '{"message":"hi"}',
  event: { id: '0192f3a4-0000-7000-8000-000000000001', message: 'hi' },
}

describe('Kafka message envelopes', () => {
  it('name one topic per kind of message, each ending in its envelope version', () => {
    expect(kafkaTopics('acme')).toEqual({
      events: 'acme.events.v1',
      deadLetters: 'acme.dead-letters.v1',
      alerts: 'acme.alerts.v1',
    })
  })

  it('read back what was written', () => {
    const bytes = Buffer.from(encodeEnvelope(eventEnvelope, envelope))
    expect(decodeEnvelope(eventEnvelope, bytes, place)).toEqual(envelope)
  })

  it('refuse a value that is not JSON, saying where it was read and what came', () => {
    expect(() => decodeEnvelope(eventEnvelope, Buffer.from('not json'), place)).toThrow(
      /expected a JSON envelope at palisade\.events\.v1\[3\]@42, got "not json"/,
    )
  })

  it('refuse another envelope version by name', () => {
    const bytes = Buffer.from(JSON.stringify({ ...envelope, v: 2 }))
    expect(() => decodeEnvelope(eventEnvelope, bytes, place)).toThrow(
      'expected envelope version 1 at palisade.events.v1[3]@42, got 2',
    )
  })

  it('refuse a version 1 envelope missing a field, with the field path', () => {
    const bytes = Buffer.from(JSON.stringify({ ...envelope, received: undefined }))
    try {
      decodeEnvelope(eventEnvelope, bytes, place)
      expect.unreachable('a missing field must be refused')
    } catch (error) {
      expect(error).toMatchObject({
        code: 'PAL_KAFKA_ENVELOPE_INVALID',
        context: { ...place, path: 'received' },
      })
    }
  })

  it('refuse to write an envelope that breaks the schema', () => {
    const broken = { ...envelope, position: -1 }
    expect(() => encodeEnvelope(eventEnvelope, broken)).toThrow(/position/)
  })
})

describe('entity keys', () => {
  const fields = ['source.ip', 'host.name', 'user.name']

  it('take the first key field the event holds', () => {
    const event = { source: { ip: '203.0.113.7' }, host: { name: 'bastion' } }
    expect(entityKey(event, fields)).toBe('source.ip=203.0.113.7')
    expect(entityKey({ host: { name: 'dc1' }, user: { name: 'x' } }, fields)).toBe('host.name=dc1')
  })

  it('fall back to the event id, then to no key', () => {
    expect(entityKey({ id: 'abc' }, fields)).toBe('id=abc')
    expect(entityKey({ message: 'x' }, fields)).toBeNull()
  })

  it('place equal keys in one partition, as the producer does, and spread different ones', () => {
    const key = 'source.ip=203.0.113.7'
    expect(partitionOf(key, 6)).toBe(partitionOf(key, 6))
    const spread = new Set(
      Array.from({ length: 50 }, (_, i) => partitionOf(`source.ip=10.0.0.${i}`, 6)),
    )
    expect(spread.size).toBe(6)
  })
})
