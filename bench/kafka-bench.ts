/**
 * `npm run bench:kafka`: events per second end to end through the Kafka transport with one
 * worker, next to the embedded engine on the same events in the same run, and where the Kafka
 * run's time went. The machine is shared and absolute rates drift: read the ratio.
 *
 * Both runs use the built-in rules and one embedded ClickHouse (chDB) in this process, each
 * in its own database, so neither sees the other's events as duplicates.
 *
 * - embedded: the events go to `pipeline.process` in batches of 500, one after another, as
 *   the HTTP route hands them over; a batch is done once its events and alerts are stored.
 * - kafka: librdkafka's mock cluster (three brokers on loopback, six partitions) and one
 *   worker (`startKafkaWorker`) in this process. The clock starts when the typed producer
 *   sends the first batch (acks=all, keyed by entity) and stops when the worker has stored and
 *   committed the last event. Producer and worker share this process, as `palisade start`
 *   with the Kafka transport does.
 *
 * "In the pipeline" is the wall time of the worker's pipeline runs (reading envelopes,
 * normalising, detecting, storing), the rest being the broker client and waiting on brokers.
 * Since the broker client also runs while the pipeline waits on the store, the share of time
 * in the broker client is measured as well by a CPU profile of the Kafka run (V8's sampling
 * profiler through `node:inspector`): the samples in kafkajs's own code, against every
 * sample where the main thread was busy.
 *
 * Flags: `--events N` (default 20000), `--json`.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import type { Profiler } from 'node:inspector'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'

import { pino } from 'pino'

import { createDetector } from '../detectors/detector.ts'
import { startKafkaWorker } from '../detectors/kafka-worker.ts'
import { EventProducer } from '../ingest/event-producer.ts'
import type { ProducerEvent } from '../ingest/event-producer.ts'
import { createKafka } from '../ingest/kafka/kafka-connection.ts'
import { kafkaTopics } from '../ingest/kafka/kafka-topics.ts'
import { createPipeline } from '../ingest/pipeline.ts'
import { migrate, openAnalyticsStore } from '../platform/clickhouse/analytics-store.ts'
import type { AnalyticsStore } from '../platform/clickhouse/analytics-store.ts'
import { newId } from '../platform/event-id.ts'
import { packageInfo } from '../platform/package-info.ts'
import { startKafkaMockCluster } from '../test/helpers/kafka-mock-cluster.ts'
import { seededRandom } from '../test/helpers/seeded-random.ts'
import { formatRate, formatTable } from './measure.ts'

const BATCH = 500
const PARTITIONS = 6

const { values: flags } = parseArgs({
  options: {
    events: { type: 'string', default: '20000' },
    json: { type: 'boolean', default: false },
  },
})
const total = Number(flags.events)
if (!Number.isInteger(total) || total < BATCH) {
  process.stderr.write(
    `expected --events to be an integer of at least ${BATCH}, got ${flags.events}\n`,
  )
  process.exit(2)
}

/**
 * SSH-like authentication events from 400 addresses against 20 hosts, one second apart: the
 * built-in brute force and spraying correlations run on them and some alert.
 */
function makeEvents(count: number, seed: number): ProducerEvent[] {
  const random = seededRandom(seed)
  const start = Date.parse('2026-12-01T00:00:00Z')
  return Array.from({ length: count }, (_, i) => {
    const failed = random() < 0.8
    return {
      id: newId(),
      '@timestamp': new Date(start + i * 1000).toISOString(),
      event: {
        dataset: 'sshd',
        category: ['authentication'],
        action: 'ssh_login',
        outcome: failed ? 'failure' : 'success',
      },
      source: { ip: `198.51.${Math.floor(random() * 2)}.${Math.floor(random() * 200)}` },
      host: { name: `host-${Math.floor(random() * 20)}` },
      user: { name: `user-${Math.floor(random() * 50)}` },
      message: `${failed ? 'Failed' : 'Accepted'} password`,
    }
  })
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

const silent = pino({ level: 'silent' })
const dir = mkdtempSync(join(tmpdir(), 'palisade-kafka-bench-'))
const embeddedStore = await openAnalyticsStore({
  database: 'bench_embedded',
  dataDir: dir,
  eventDays: 3650,
})
// One chDB engine per process: the Kafka run uses the same client on another database.
const kafkaStore: AnalyticsStore = { ...embeddedStore, database: 'bench_kafka' }
await migrate(kafkaStore, 3650)
const cluster = await startKafkaMockCluster(3, {
  'bench.events.v1': PARTITIONS,
  'bench.dead-letters.v1': 1,
  'bench.alerts.v1': 1,
})

try {
  const warmup = makeEvents(BATCH * 2, 1)
  const events = makeEvents(total, 2)
  const rules = [packageInfo.builtinRulesDir]

  // Embedded: the pipeline inline.
  const embedded = createPipeline({
    store: embeddedStore,
    detector: createDetector(rules, silent),
  })
  const asBatch = (batch: ProducerEvent[]) => ({
    records: batch.map((event, index) => ({ index, raw: JSON.stringify(event), event })),
    source: 'bench',
    format: 'json',
    stream: 'bench',
    receivedAt: new Date(),
  })
  for (const batch of chunks(warmup, BATCH)) await embedded.process(asBatch(batch))
  const embeddedStart = performance.now()
  for (const batch of chunks(events, BATCH)) await embedded.process(asBatch(batch))
  const embeddedSeconds = (performance.now() - embeddedStart) / 1000

  // Kafka: the typed producer, the brokers, one worker.
  const topics = kafkaTopics('bench')
  const worker = await startKafkaWorker({
    kafka: createKafka({ brokers: cluster.brokers, clientId: 'bench-worker', logger: silent }),
    topics,
    groupId: 'bench-workers',
    sessionTimeoutMs: 6000,
    heartbeatIntervalMs: 500,
    keyFields: ['source.ip', 'host.name', 'user.name'],
    pipeline: createPipeline({ store: kafkaStore, detector: createDetector(rules, silent) }),
    store: kafkaStore,
    detector: createDetector(rules, silent),
    allowedLatenessMs: 60_000,
    logger: silent,
  })
  const producer = await EventProducer.connect({
    brokers: cluster.brokers,
    topicPrefix: 'bench',
    lingerMs: 1,
  })
  const stored = async (count: number) => {
    while (worker.stats().messages < count) await sleep(5)
  }
  for (const batch of chunks(warmup, BATCH)) await producer.send(batch)
  await stored(warmup.length)
  const before = worker.stats()
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 200 })
  await session.post('Profiler.start')
  const kafkaStart = performance.now()
  for (const batch of chunks(events, BATCH)) await producer.send(batch)
  const acknowledgedSeconds = (performance.now() - kafkaStart) / 1000
  await stored(before.messages + total)
  const kafkaSeconds = (performance.now() - kafkaStart) / 1000
  const { profile } = await session.post('Profiler.stop')
  session.disconnect()
  const cpu = profileShares(profile)
  const after = worker.stats()
  await producer.disconnect()
  await worker.stop()

  const wallMs = kafkaSeconds * 1000
  const pipelineMs = after.pipelineMs - before.pipelineMs
  const commitMs = after.commitMs - before.commitMs
  const result = {
    events: total,
    embedded_events_per_second: total / embeddedSeconds,
    kafka_events_per_second: total / kafkaSeconds,
    kafka_to_embedded: embeddedSeconds / kafkaSeconds,
    kafka_acknowledged_events_per_second: total / acknowledgedSeconds,
    kafka_batches: after.batches - before.batches,
    kafka_pipeline_runs: after.groups - before.groups,
    share_in_pipeline: pipelineMs / wallMs,
    share_outside_pipeline: 1 - pipelineMs / wallMs,
    cpu_share_in_kafkajs: cpu.kafkajs / cpu.busy,
    cpu_share_idle: cpu.idle / cpu.total,
    // Commits of different partitions overlap, so their time is given per commit, not a share.
    commit_ms_each: commitMs / Math.max(1, after.batches - before.batches),
  }
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
  } else {
    const pct = (x: number) => `${(100 * x).toFixed(1)} %`
    process.stdout.write(
      `${formatTable(
        ['', 'events/s', 'vs embedded'],
        [
          ['embedded (pipeline inline)', formatRate(result.embedded_events_per_second), '1.00'],
          [
            'kafka, 1 worker, end to end',
            formatRate(result.kafka_events_per_second),
            result.kafka_to_embedded.toFixed(2),
          ],
          [
            'kafka, producer acknowledged',
            formatRate(result.kafka_acknowledged_events_per_second),
            (
              result.kafka_acknowledged_events_per_second / result.embedded_events_per_second
            ).toFixed(2),
          ],
        ],
      )}\n` +
        `${total} events, ${result.kafka_batches} partition batches stored in ` +
        `${result.kafka_pipeline_runs} pipeline runs. Kafka run's wall time: ` +
        `${pct(result.share_in_pipeline)} in the pipeline (normalise, detect, store), ` +
        `${pct(result.share_outside_pipeline)} outside it ` +
        `(a commit of offsets took ${result.commit_ms_each.toFixed(1)} ms on average).\n` +
        `CPU profile of the Kafka run: ${pct(result.cpu_share_in_kafkajs)} of the busy ` +
        `main-thread samples in the broker client (kafkajs: producing, fetching, protocol ` +
        `decoding, committing); the main thread was idle (waiting on ClickHouse or the ` +
        `brokers) ${pct(result.cpu_share_idle)} of the time.\n`,
    )
  }
} finally {
  await embeddedStore.close()
  await cluster.stop()
  rmSync(dir, { recursive: true, force: true })
}

/**
 * Main-thread time in a CPU profile (microseconds): with kafkajs on the stack, idle, busy and
 * in total.
 */
function profileShares(profile: Profiler.Profile): {
  kafkajs: number
  idle: number
  busy: number
  total: number
} {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id)
  // A sample is the broker client's when kafkajs is anywhere on its stack: the Buffer, socket
  // and timer work kafkajs calls into is its cost too.
  const inKafkajs = new Map<number, boolean>()
  const underKafkajs = (id: number): boolean => {
    const known = inKafkajs.get(id)
    if (known !== undefined) return known
    const node = byId.get(id)
    const up = parent.get(id)
    const result =
      (node?.callFrame.url.includes('/node_modules/kafkajs/') ?? false) ||
      (up !== undefined && underKafkajs(up))
    inKafkajs.set(id, result)
    return result
  }
  let kafkajs = 0
  let idle = 0
  let total = 0
  const samples = profile.samples ?? []
  const deltas = profile.timeDeltas ?? []
  for (let i = 0; i < samples.length; i++) {
    const node = byId.get(samples[i]!)
    const delta = deltas[i] ?? 0
    total += delta
    if (!node) continue
    if (node.callFrame.functionName === '(idle)') idle += delta
    else if (underKafkajs(node.id)) kafkajs += delta
  }
  return { kafkajs, idle, busy: total - idle, total }
}
