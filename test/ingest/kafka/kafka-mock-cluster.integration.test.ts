import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { startKafkaMockCluster } from '../../helpers/kafka-mock-cluster.ts'
import type { KafkaMockCluster } from '../../helpers/kafka-mock-cluster.ts'
import { waitFor } from '../../helpers/wait-for.ts'

let cluster: KafkaMockCluster

beforeAll(async () => {
  cluster = await startKafkaMockCluster(3, { 'palisade.test': 4 })
})

afterAll(async () => {
  await cluster?.stop()
})

describe('the librdkafka mock cluster used as test brokers', () => {
  it('starts three brokers on loopback and serves kafkajs produce, fetch and a group', async () => {
    expect(cluster.brokers).toHaveLength(3)
    for (const broker of cluster.brokers) expect(broker).toMatch(/^127\.0\.0\.1:\d+$/)

    const kafka = new Kafka({ clientId: 'mock-test', brokers: cluster.brokers, logLevel: 0 })
    const producer = kafka.producer({ allowAutoTopicCreation: false })
    await producer.connect()
    const messages = Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }))
    const sent = await producer.send({ topic: 'palisade.test', acks: -1, messages })
    // Keys spread the messages over more than one of the four partitions.
    expect(new Set(sent.map((r) => r.partition)).size).toBeGreaterThan(1)
    await producer.disconnect()

    const consumer = kafka.consumer({
      groupId: 'mock-test-group',
      sessionTimeout: 6000,
      heartbeatInterval: 500,
    })
    const seen: string[] = []
    await consumer.connect()
    await consumer.subscribe({ topic: 'palisade.test', fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value!.toString())
      },
    })
    await waitFor(
      async () => seen.length,
      (n) => n >= 20,
      { what: '20 messages consumed' },
    )
    await consumer.disconnect()
    expect(seen.sort()).toEqual(messages.map((m) => m.value).sort())
  })

  it('refuses connections while down and serves again once up', async () => {
    const kafka = new Kafka({
      clientId: 'mock-down-test',
      brokers: cluster.brokers,
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
      connectionTimeout: 500,
    })
    await cluster.down()
    const producer = kafka.producer()
    await expect(producer.connect()).rejects.toThrow()
    await cluster.up()
    const again = kafka.producer()
    await again.connect()
    const sent = await again.send({ topic: 'palisade.test', acks: -1, messages: [{ value: 'x' }] })
    expect(sent[0]!.errorCode).toBe(0)
    await again.disconnect()
  })
})
