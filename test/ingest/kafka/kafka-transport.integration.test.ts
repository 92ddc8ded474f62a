import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { createClient } from '@clickhouse/client'
import type { ClickHouseClient } from '@clickhouse/client'
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { EventProducer } from '../../../ingest/event-producer.ts'
import { partitionOf } from '../../../ingest/kafka/entity-key.ts'
import { startKafkaMockCluster } from '../../helpers/kafka-mock-cluster.ts'
import type { KafkaMockCluster } from '../../helpers/kafka-mock-cluster.ts'
import { startPalisadeProcess } from '../../helpers/palisade-process.ts'
import { startPalisadeRole } from '../../helpers/palisade-role-process.ts'
import type { PalisadeRoleProcess } from '../../helpers/palisade-role-process.ts'
import { startSharedClickHouse } from '../../helpers/shared-clickhouse.ts'
import type { SharedClickHouse } from '../../helpers/shared-clickhouse.ts'
import { waitFor } from '../../helpers/wait-for.ts'

/**
 * Distributed Palisade on real Kafka brokers (librdkafka's mock cluster: three brokers on
 * loopback) with a gateway (`palisade ingest`) and a group of two workers (`palisade worker`),
 * each its own process. The workers share one ClickHouse: chDB in a helper process behind a
 * minimal HTTP front (see `startSharedClickHouse`), as they would share a ClickHouse server.
 */

/** The built-in "SSH Brute Force From One Source": ten failures from one address in 5m. */
const BRUTE_FORCE_RULE = 'dbc9f7ff-1f83-4fa8-bd48-a06e250c39a6'
const PARTITIONS = 6

let cluster: KafkaMockCluster
let clickhouse: SharedClickHouse
let clickhouseDir: string
let reader: ClickHouseClient
let gateway: PalisadeRoleProcess
let token: string
const workers: PalisadeRoleProcess[] = []
const dirs: string[] = []
let env: Record<string, string>

function tempDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `palisade-kafka-${name}-`))
  dirs.push(dir)
  return dir
}

beforeAll(async () => {
  cluster = await startKafkaMockCluster(3, {
    'palisade.events.v1': PARTITIONS,
    'palisade.dead-letters.v1': 2,
    'palisade.alerts.v1': 2,
    'solo.events.v1': 2,
    'solo.dead-letters.v1': 1,
    'solo.alerts.v1': 1,
  })
  clickhouseDir = tempDir('clickhouse')
  clickhouse = await startSharedClickHouse(clickhouseDir)
  reader = createClient({ url: clickhouse.url })
  env = {
    PALISADE_TRANSPORT: 'kafka',
    PALISADE_KAFKA_BROKERS: cluster.brokers.join(','),
    PALISADE_CLICKHOUSE_URL: clickhouse.url,
    // Short, so a dead worker's partitions move within seconds (the broker's minimum is 6 s).
    PALISADE_KAFKA_SESSION_TIMEOUT_MS: '6000',
    PALISADE_KAFKA_HEARTBEAT_INTERVAL_MS: '500',
    PALISADE_KAFKA_SEND_TIMEOUT_MS: '3000',
    // Anomaly models learn per worker and are not handed over; this test is about the rest.
    PALISADE_ANOMALY: 'false',
  }
  gateway = await startPalisadeRole('ingest', tempDir('gateway'), env)
  token = readFileSync(join(dirs.at(-1)!, 'admin-token'), 'utf8').trim()
  workers.push(await startPalisadeRole('worker', tempDir('worker-1'), env))
  workers.push(await startPalisadeRole('worker', tempDir('worker-2'), env))
})

const others: { child: PalisadeRoleProcess['child'] }[] = []

afterAll(async () => {
  for (const p of [gateway, ...workers, ...others]) {
    if (p && p.child.exitCode === null && p.child.signalCode === null) {
      const exited = once(p.child, 'exit')
      p.child.kill('SIGKILL')
      await exited
    }
  }
  await reader?.close()
  await clickhouse?.stop()
  await cluster?.stop()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/** A metric's value from a process's `/metrics` (0 when it has no sample yet). */
async function metric(url: string, sample: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `))
  return line ? Number(line.slice(sample.length + 1)) : 0
}

const at = new Date(Math.floor(Date.now() / 1000) * 1000)
const stamp = `${at.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' })} ${String(
  at.getUTCDate(),
).padStart(2, ' ')} ${at.toISOString().slice(11, 19)}`

/** One failed SSH login from each of `sources` (numbered by round, so each line is its own). */
function round(sources: string[], n: number): string {
  return sources
    .map(
      (ip, i) =>
        `${stamp} bastion sshd[${1000 * n + i}]: Failed password for root from ${ip} ` +
        `port ${40000 + 100 * n + i} ssh2`,
    )
    .join('\n')
}

async function post(body: string, stream: string): Promise<Response> {
  return fetch(`${gateway.url}/v1/events?format=syslog&stream=${stream}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' },
    body,
  })
}

async function count(sql: string): Promise<number> {
  const result = await reader.query({ query: sql, format: 'JSONEachRow' })
  const [row] = await result.json<{ n: string | number }>()
  return Number(row?.n ?? 0)
}

describe('the Kafka transport with a group of two workers', () => {
  const sources = Array.from({ length: 12 }, (_, i) => `198.51.100.${10 + i}`)
  const accepted = new Set<string>()

  it('shares the partitions of the events topic between both workers', async () => {
    await waitFor(
      async () =>
        Promise.all(workers.map((w) => metric(w.url, 'palisade_kafka_assigned_partitions'))),
      (counts) => counts.every((n) => n > 0) && counts[0]! + counts[1]! === PARTITIONS,
      { what: 'both workers assigned partitions', timeoutMs: 60_000 },
    )
  })

  it('loses no acknowledged event, duplicates no row and misses no alert when a worker is SIGKILLed mid-stream', async () => {
    const [first, second] = workers as [PalisadeRoleProcess, PalisadeRoleProcess]
    const send = async (n: number) => {
      const res = await post(round(sources, n), `round-${n}`)
      expect(res.status).toBe(202)
      const body = (await res.json()) as { accepted: number; results: { id: string }[] }
      expect(body.accepted).toBe(sources.length)
      for (const r of body.results) accepted.add(r.id)
    }

    // Five failures from each source, then the first worker dies with windows half full.
    for (let n = 1; n <= 5; n++) await send(n)
    await waitFor(
      () => metric(first.url, 'palisade_kafka_batch_messages_count{topic="palisade.events.v1"}'),
      (batches) => batches > 0,
      { what: 'the first worker to store a batch' },
    )
    const exited = once(first.child, 'exit')
    first.child.kill('SIGKILL')
    await exited
    expect(first.child.signalCode).toBe('SIGKILL')

    // Five more: each source's tenth failure completes its brute force window, whichever
    // worker held its first five.
    for (let n = 6; n <= 10; n++) await send(n)
    expect(accepted.size).toBe(sources.length * 10)

    await waitFor(
      () => count('SELECT uniqExact(id) AS n FROM palisade.events'),
      (n) => n >= accepted.size,
      { what: `${accepted.size} events stored`, timeoutMs: 90_000 },
    )
    const alertQuery = `FROM palisade.alerts WHERE rule_id = '${BRUTE_FORCE_RULE}'`
    await waitFor(
      () => count(`SELECT uniqExact(id) AS n ${alertQuery}`),
      (n) => n >= sources.length,
      { what: 'a brute force alert per source', timeoutMs: 60_000 },
    )
    expect(await metric(second.url, 'palisade_kafka_resyncs_total')).toBeGreaterThanOrEqual(2)

    // Every acknowledged event is stored once: rows counted without FINAL or DISTINCT.
    const ids = [...accepted].map((id) => `'${id}'`).join(',')
    expect(await count(`SELECT count() AS n FROM palisade.events WHERE id IN (${ids})`)).toBe(
      accepted.size,
    )
    expect(await count('SELECT count() AS n FROM palisade.events')).toBe(accepted.size)
    // One brute force alert per source, each on ten events, and no alert row twice.
    const result = await reader.query({
      query: `SELECT entity_value AS source, length(event_ids) AS events ${alertQuery}
        ORDER BY source`,
      format: 'JSONEachRow',
    })
    const alerts = await result.json<{ source: string; events: number }>()
    expect(alerts.map((a) => a.source)).toEqual([...sources].sort())
    expect(alerts.every((a) => Number(a.events) === 10)).toBe(true)
    expect(await count('SELECT count() - uniqExact(id) AS n FROM palisade.alerts')).toBe(0)
  })

  it('stores what a Node service sends with the typed producer, and refuses a bad event before sending', async () => {
    const producer = await EventProducer.connect({ brokers: cluster.brokers })
    try {
      const ids = await producer.send([
        {
          '@timestamp': new Date().toISOString(),
          event: { dataset: 'app.auth', action: 'login', outcome: 'failure' },
          user: { name: 'alice' },
          source: { ip: '203.0.113.50' },
        },
        { event: { dataset: 'app.auth', action: 'logout' }, user: { name: 'bob' } },
      ])
      expect(ids).toHaveLength(2)

      await expect(
        producer.send([
          { event: { dataset: 'app.auth' } },
          { '@timestamp': 'yesterday', event: { dataset: 'app.auth' } },
        ]),
      ).rejects.toMatchObject({
        code: 'PAL_INVALID_EVENT',
        context: { index: 1, path: '@timestamp' },
      })

      const list = ids.map((id) => `'${id}'`).join(',')
      await waitFor(
        () => count(`SELECT count() AS n FROM palisade.events WHERE id IN (${list})`),
        (n) => n === 2,
        { what: 'the producer events stored', timeoutMs: 60_000 },
      )
    } finally {
      await producer.disconnect()
    }
  })

  it('keeps a message that is no envelope as a dead letter saying where it was, and goes on', async () => {
    const kafka = new Kafka({ brokers: cluster.brokers, logLevel: logLevel.NOTHING })
    const raw = kafka.producer({ allowAutoTopicCreation: false })
    await raw.connect()
    await raw.send({
      topic: 'palisade.events.v1',
      acks: -1,
      messages: [{ key: 'garbage', value: '{"v": 2, "event": {}}' }],
    })
    await raw.disconnect()
    const res = await post(round(['192.0.2.99'], 99), 'after-garbage')
    expect(res.status).toBe(202)
    const [{ id }] = ((await res.json()) as { results: { id: string }[] }).results as [
      { id: string },
    ]

    await waitFor(
      () => count(`SELECT count() AS n FROM palisade.events WHERE id = '${id}'`),
      (n) => n === 1,
      { what: 'the event after the bad message stored', timeoutMs: 60_000 },
    )
    const letters = await reader.query({
      query: `SELECT reason_code, reason, raw FROM palisade.dead_letters FINAL
        WHERE source = 'kafka'`,
      format: 'JSONEachRow',
    })
    const [letter, ...others] = await letters.json<{ reason_code: string; reason: string }>()
    expect(others).toEqual([])
    expect(letter).toMatchObject({
      reason_code: 'PAL_KAFKA_ENVELOPE_INVALID',
      raw: '{"v": 2, "event": {}}',
    })
    expect(letter!.reason).toMatch(/expected envelope version 1 at palisade\.events\.v1\[\d\]@\d+/)
  })

  it('answers 503 with Retry-After while the brokers are down, and accepts again once they are back', async () => {
    const body = round(['192.0.2.1', '192.0.2.2'], 77)
    await cluster.down()
    const refused = await post(body, 'brokers-down')
    expect(refused.status).toBe(503)
    expect(refused.headers.get('retry-after')).toBe('5')
    const error = ((await refused.json()) as { error: { code: string; message: string } }).error
    expect(error.code).toBe('PAL_TRANSPORT_UNAVAILABLE')
    expect(error.message).toMatch(/acks=all/)

    await cluster.up()
    // The sender resends the same batch, as a 503 asks; its ids are the same each time.
    const answer = await waitFor(
      () => post(body, 'brokers-down'),
      (res) => res.status === 202,
      { what: 'ingest to accept again', timeoutMs: 60_000, intervalMs: 1_000 },
    )
    const ids = ((await answer.json()) as { results: { id: string }[] }).results.map((r) => r.id)
    const list = ids.map((id) => `'${id}'`).join(',')
    await waitFor(
      () => count(`SELECT count() AS n FROM palisade.events WHERE id IN (${list})`),
      (n) => n === 2,
      { what: 'the batch accepted after the outage stored once', timeoutMs: 60_000 },
    )
  })

  it('stops committing while the store is down, and stores what was accepted meanwhile once it is back', async () => {
    const survivor = workers[1]!
    const failuresBefore = await metric(survivor.url, 'palisade_kafka_store_failures_total')
    await clickhouse.stop()

    // Ingest needs no store: the batch is acknowledged by Kafka and waits there.
    const downIps = ['192.0.2.10', '192.0.2.11', '192.0.2.12']
    const res = await post(round(downIps, 55), 'store-down')
    expect(res.status).toBe(202)
    const ids = ((await res.json()) as { results: { id: string }[] }).results.map((r) => r.id)
    await waitFor(
      () => metric(survivor.url, 'palisade_kafka_store_failures_total'),
      (n) => n > failuresBefore,
      { what: 'the worker to fail storing and pause', timeoutMs: 30_000 },
    )

    // Nothing is committed past what is stored: the group's offsets trail the topic's end.
    const kafka = new Kafka({ brokers: cluster.brokers, logLevel: logLevel.NOTHING })
    const admin = kafka.admin()
    await admin.connect()
    const ends = await admin.fetchTopicOffsets('palisade.events.v1')
    const [committed] = await admin.fetchOffsets({
      groupId: 'palisade-workers',
      topics: ['palisade.events.v1'],
    })
    await admin.disconnect()
    // The batch's partitions, as the gateway keyed its events: each holds an uncommitted event.
    const sent = new Set(downIps.map((ip) => partitionOf(`source.ip=${ip}`, PARTITIONS)))
    for (const partition of sent) {
      const end = Number(ends.find((e) => e.partition === partition)!.high)
      const at = Number(committed!.partitions.find((p) => p.partition === partition)!.offset)
      expect(at).toBeLessThan(end)
    }

    clickhouse = await startSharedClickHouse(clickhouseDir, Number(new URL(clickhouse.url).port))
    const list = ids.map((id) => `'${id}'`).join(',')
    await waitFor(
      () => count(`SELECT count() AS n FROM palisade.events WHERE id IN (${list})`),
      (n) => n === ids.length,
      { what: 'the batch accepted during the outage stored', timeoutMs: 90_000 },
    )
    expect(await count('SELECT count() - uniqExact(id) AS n FROM palisade.events')).toBe(0)
  })

  it('runs the API alone as palisade api, reading the shared store and producing to Kafka', async () => {
    const dataDir = tempDir('api')
    const api = await startPalisadeRole('api', dataDir, env)
    others.push(api)
    const apiToken = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim()
    const headers = { authorization: `Bearer ${apiToken}` }

    const res = await fetch(`${api.url}/v1/events`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify([{ message: 'via the api role', source: { ip: '192.0.2.200' } }]),
    })
    expect(res.status).toBe(202)
    const [result] = ((await res.json()) as { results: { status: string; id: string }[] }).results
    expect(result!.status).toBe('accepted')

    const stored = await waitFor(
      async () => (await fetch(`${api.url}/v1/events/${result!.id}`, { headers })).status,
      (status) => status === 200,
      { what: 'the event readable through the api role', timeoutMs: 60_000 },
    )
    expect(stored).toBe(200)
  })

  it('hands a worker stopped with SIGTERM over to the group without losing or doubling an alert', async () => {
    const survivor = workers[1]!
    const third = await startPalisadeRole('worker', tempDir('worker-3'), env)
    others.push(third)
    await waitFor(
      async () =>
        Promise.all(
          [survivor, third].map((w) => metric(w.url, 'palisade_kafka_assigned_partitions')),
        ),
      (counts) => counts.every((n) => n > 0) && counts[0]! + counts[1]! === PARTITIONS,
      { what: 'the third worker to share the partitions', timeoutMs: 60_000 },
    )

    const burst = Array.from({ length: 8 }, (_, i) => `203.0.113.${100 + i}`)
    const idsOf = async (res: Response) => {
      expect(res.status).toBe(202)
      return ((await res.json()) as { results: { id: string }[] }).results.map((r) => r.id)
    }
    const ids: string[] = []
    for (let n = 201; n <= 205; n++)
      ids.push(...(await idsOf(await post(round(burst, n), `t${n}`))))

    const exited = once(third.child, 'exit')
    third.child.kill('SIGTERM')
    const [code] = (await exited) as [number | null]
    expect(code).toBe(0)
    for (let n = 206; n <= 210; n++)
      ids.push(...(await idsOf(await post(round(burst, n), `t${n}`))))

    const list = ids.map((id) => `'${id}'`).join(',')
    await waitFor(
      () => count(`SELECT count() AS n FROM palisade.events WHERE id IN (${list})`),
      (n) => n === ids.length,
      { what: `${ids.length} events stored`, timeoutMs: 60_000 },
    )
    const alertsFor = `FROM palisade.alerts WHERE rule_id = '${BRUTE_FORCE_RULE}'
      AND entity_value IN (${burst.map((ip) => `'${ip}'`).join(',')})`
    await waitFor(
      () => count(`SELECT uniqExact(id) AS n ${alertsFor}`),
      (n) => n >= burst.length,
      { what: 'a brute force alert per address of the burst', timeoutMs: 60_000 },
    )
    expect(await count(`SELECT count() AS n ${alertsFor}`)).toBe(burst.length)
    expect(await count('SELECT count() - uniqExact(id) AS n FROM palisade.events')).toBe(0)
  })
})

describe('palisade start with the Kafka transport', () => {
  it('runs ingest and a worker in one process on embedded ClickHouse and alerts', async () => {
    const dataDir = tempDir('solo')
    const solo = await startPalisadeProcess(dataDir, {
      ...env,
      PALISADE_CLICKHOUSE_URL: '',
      PALISADE_KAFKA_TOPIC_PREFIX: 'solo',
      PALISADE_KAFKA_GROUP: 'solo-workers',
    })
    others.push(solo)
    const ip = '198.51.100.200'
    const res = await fetch(`${solo.url}/v1/events?format=syslog&stream=solo`, {
      method: 'POST',
      headers: { authorization: `Bearer ${solo.token}`, 'content-type': 'text/plain' },
      body: Array.from({ length: 10 }, (_, n) => round([ip], 300 + n)).join('\n'),
    })
    expect(res.status).toBe(202)
    expect(((await res.json()) as { accepted: number }).accepted).toBe(10)

    const alerts = await waitFor(
      async () => {
        const page = await fetch(`${solo.url}/v1/alerts?rule_id=${BRUTE_FORCE_RULE}`, {
          headers: { authorization: `Bearer ${solo.token}` },
        })
        return ((await page.json()) as { items: { entity: { value: string } }[] }).items
      },
      (items) => items.length > 0,
      { what: 'the brute force alert', timeoutMs: 60_000 },
    )
    expect(alerts.map((a) => a.entity.value)).toEqual([ip])
  })
})
