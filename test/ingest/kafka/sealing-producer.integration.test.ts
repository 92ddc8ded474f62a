import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { openSealedEvent } from '../../../crypto/open-sealed-event.ts'
import { generateSealingKeyPair, publicHalf } from '../../../crypto/sealing-key-pair.ts'
import { EventProducer } from '../../../ingest/event-producer.ts'
import { startKafkaMockCluster } from '../../helpers/kafka-mock-cluster.ts'
import type { KafkaMockCluster } from '../../helpers/kafka-mock-cluster.ts'
import { startPalisadeProcess } from '../../helpers/palisade-process.ts'
import type { PalisadeProcess } from '../../helpers/palisade-process.ts'
import { waitFor } from '../../helpers/wait-for.ts'

/**
 * A Node service seals on its side with the typed producer: real Kafka brokers (librdkafka's
 * mock cluster) and `palisade start` with the Kafka transport, on embedded chDB.
 */

let cluster: KafkaMockCluster
let palisade: PalisadeProcess
let dataDir: string
const owner = await generateSealingKeyPair()
// A valid card number (Luhn) no other part of the run writes, so finding it means it leaked.
const card = '4539 1488 0343 6467'
const email = `sealed-probe-${crypto.randomUUID()}@example.com`

beforeAll(async () => {
  cluster = await startKafkaMockCluster(1, {
    'sealing.events.v1': 2,
    'sealing.dead-letters.v1': 1,
    'sealing.alerts.v1': 1,
  })
  dataDir = mkdtempSync(join(tmpdir(), 'palisade-sealing-producer-'))
  palisade = await startPalisadeProcess(dataDir, {
    PALISADE_TRANSPORT: 'kafka',
    PALISADE_KAFKA_BROKERS: cluster.brokers.join(','),
    PALISADE_KAFKA_TOPIC_PREFIX: 'sealing',
    PALISADE_KAFKA_GROUP: 'sealing-workers',
    PALISADE_ANOMALY: 'false',
  })
})

afterAll(async () => {
  if (palisade && palisade.child.exitCode === null && palisade.child.signalCode === null) {
    const exited = once(palisade.child, 'exit')
    palisade.child.kill('SIGTERM')
    await exited
  }
  await cluster?.stop()
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

async function stored(id: string): Promise<Record<string, unknown> | undefined> {
  const res = await fetch(`${palisade.url}/v1/events/${id}`, {
    headers: { authorization: `Bearer ${palisade.token}` },
  })
  return res.status === 200 ? ((await res.json()) as Record<string, unknown>) : undefined
}

/** The values of every message on the events topic, read from the start by a fresh group. */
async function eventsTopicValues(expected: number): Promise<string[]> {
  const kafka = new Kafka({ brokers: cluster.brokers, logLevel: logLevel.NOTHING })
  const consumer = kafka.consumer({ groupId: `reader-${crypto.randomUUID()}` })
  const values: string[] = []
  await consumer.connect()
  try {
    await consumer.subscribe({ topic: 'sealing.events.v1', fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ message }) => {
        values.push(message.value?.toString() ?? '')
      },
    })
    await waitFor(
      async () => values.length,
      (n) => n >= expected,
      { what: 'the messages on the events topic', timeoutMs: 60_000 },
    )
  } finally {
    await consumer.disconnect()
  }
  return values
}

describe('a producer that seals before sending', () => {
  it('seals a field holding a card number and a named field, and neither Kafka nor the store holds their plaintext', async () => {
    const producer = await EventProducer.connect({
      brokers: cluster.brokers,
      topicPrefix: 'sealing',
      stream: 'billing-api',
      sealing: { recipient: publicHalf(owner), fields: ['user.email'], dlpTypes: ['CREDIT_CARD'] },
    })
    let id: string
    try {
      ;[id] = (await producer.send([
        {
          '@timestamp': new Date().toISOString(),
          event: { dataset: 'billing.payment', action: 'charge', outcome: 'failure' },
          message: `charge declined for card ${card}`,
          user: { name: 'alice', email },
          labels: { note: 'nothing sensitive here' },
        },
      ])) as [string]
    } finally {
      await producer.disconnect()
    }

    const event = await waitFor(
      () => stored(id),
      (e) => e !== undefined,
      { what: 'the sealed event stored', timeoutMs: 60_000 },
    )
    // Neither the stored event nor anything on Kafka (the envelope's raw text included).
    const carried = [JSON.stringify(event), ...(await eventsTopicValues(1))]
    expect(carried.join('\n')).toContain(id)
    for (const text of carried) {
      for (const leak of [card, card.replaceAll(' ', ''), '6467', email]) {
        expect(text).not.toContain(leak)
      }
    }
    expect(event).not.toHaveProperty('message')
    expect(event!.user).toEqual({ name: 'alice' })
    expect(event!.labels).toEqual({ note: 'nothing sensitive here' })
    const fields = (event!.sealed as { field: string }[]).map((s) => s.field).sort()
    expect(fields).toEqual(['message', 'user.email'])

    const { event: opened, unopened } = await openSealedEvent(event!, [owner])
    expect(unopened).toEqual([])
    expect(opened.message).toBe(`charge declined for card ${card}`)
    expect(opened.user).toEqual({ name: 'alice', email })
  })

  it('refuses before sending an event whose chosen field ingest needs in the clear', async () => {
    const producer = await EventProducer.connect({
      brokers: cluster.brokers,
      topicPrefix: 'sealing',
      sealing: { recipient: publicHalf(owner), dlpTypes: ['CREDIT_CARD'] },
    })
    try {
      await expect(
        producer.send([{ event: { dataset: 'app.auth' } }, { event: { dataset: `card ${card}` } }]),
      ).rejects.toMatchObject({
        code: 'PAL_SEALING_REFUSED',
        context: { index: 1, field: 'event.dataset' },
      })
    } finally {
      await producer.disconnect()
    }
  })
})
