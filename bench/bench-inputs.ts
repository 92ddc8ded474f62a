import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

import type { IngestFormat } from '../api/ingest-formats.ts'
import { splitConcatenatedJson } from '../ingest/parsers/split-json.ts'
import { seededRandom } from '../test/helpers/seeded-random.ts'

/**
 * The benchmark's inputs, built in memory from the shared corpora read in place (nothing is
 * copied into the repository). Every run gets its own copy of the input with distinct event
 * ids, so a repeated run stores new events instead of duplicates ClickHouse would fold away.
 */

/** The shared corpora beside the repository: `../shared/corpora/`. */
export const corporaDir = join(import.meta.dirname, '..', '..', 'shared', 'corpora')

/** One `POST /v1/events` request, and the JSON texts the baseline parses for it. */
export interface BenchBatch {
  body: string
  /** Query string, `?` included. */
  query: string
  /** One JSON text per record, for the `JSON.parse` baseline over the same records. */
  jsonTexts: string[]
}

export interface BenchInput {
  name: string
  format: IngestFormat
  contentType: string
  records: number
  /** What the baseline parses, in a few words, for the report. */
  baseline: string
  /** The input's batches for one run; runs differ only in their events' ids. */
  batchesFor(run: number): BenchBatch[]
}

/** Cuts `items` into consecutive slices of `size`. */
function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/**
 * OpenSSH's log repeated to about `target` lines. Lines are left as they are; each run posts
 * under its own stream name and each line at its own position, which is what syslog ids
 * derive from. `JSON.parse` does not apply to syslog, so the baseline parses the same lines
 * wrapped as NDJSON `{"message": line}` objects.
 */
export function syslogInput(target: number, batchSize: number): BenchInput {
  const corpus = readFileSync(join(corporaDir, 'logs', 'OpenSSH_2k.log'), 'utf8')
  const once = corpus.split('\n').filter((line) => line !== '')
  const copies = Math.max(1, Math.round(target / once.length))
  const lines = Array.from({ length: copies }, () => once).flat()
  const batches = chunk(lines, batchSize).map((batch, i) => ({
    body: `${batch.join('\n')}\n`,
    position: i * batchSize,
    jsonTexts: batch.map((message) => JSON.stringify({ message })),
  }))

  return {
    name: 'syslog (OpenSSH)',
    format: 'syslog',
    contentType: 'text/plain',
    records: lines.length,
    baseline: 'JSON.parse of each line as {"message": line}',
    batchesFor: (run) =>
      batches.map((b) => ({
        body: b.body,
        query: `?format=syslog&stream=bench-syslog-${run}&position=${b.position}`,
        jsonTexts: b.jsonTexts,
      })),
  }
}

/**
 * The Sigma regression data (Windows events exported from EVTX) repeated to about `target`
 * events. A Windows event's id derives from its channel, computer and record id, so each copy
 * rewrites `EventRecordID` to a number of its own; the text is otherwise untouched.
 */
export function windowsInput(target: number, batchSize: number): BenchInput {
  const root = join(corporaDir, 'sigma', 'regression_data')
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.json'))
    .sort()
  const events: string[] = []
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8')
    for (const span of splitConcatenatedJson(text)) {
      if (span.error) throw new Error(`${file}: cannot frame the events: ${span.error}`)
      events.push(text.slice(span.start, span.end))
    }
  }
  const copies = Math.max(1, Math.round(target / events.length))

  return {
    name: 'windows (EVTX JSON)',
    format: 'evtx-json',
    contentType: 'application/json',
    records: events.length * copies,
    baseline: 'JSON.parse of each event text',
    batchesFor: (run) => {
      const texts: string[] = []
      for (let copy = 0; copy < copies; copy++) {
        // Record ids in the corpus stay under 10^7; each copy of each run gets its own range.
        const offset = (run * copies + copy + 1) * 10_000_000
        for (const event of events) {
          texts.push(
            event.replace(
              /("EventRecordID"\s*:\s*)(\d+)/,
              (_m, key: string, id: string) => `${key}${Number(id) + offset}`,
            ),
          )
        }
      }
      return chunk(texts, batchSize).map((batch) => ({
        body: batch.join('\n'),
        query: '?format=evtx-json',
        jsonTexts: batch,
      }))
    },
  }
}

/**
 * One generated ECS event. The mix is what an emitter of Linux and application events sends:
 * SSH logins (failures in bursts from a few sources, so the brute-force correlations count),
 * auditd process executions, and application events no rule routes to.
 */
function ecsEvent(i: number, run: number, next: () => number): Record<string, unknown> {
  // Each run is a day later than the one before, so its correlation windows are new ones.
  const timestamp = new Date(Date.UTC(2026, 7, 1 + run, 8) + i * 250).toISOString()
  const host = { name: `web-${Math.floor(next() * 20)}`, hostname: 'web.example.internal' }
  const labels = { bench_run: String(run) }
  const kind = next()

  if (kind < 0.4) {
    const burst = Math.floor(i / 40) % 5 === 0
    const failed = burst || next() < 0.3
    const ip = burst ? `203.0.113.${Math.floor(i / 200) % 250}` : `198.51.100.${i % 250}`
    return {
      '@timestamp': timestamp,
      event: {
        kind: 'event',
        dataset: 'sshd',
        category: ['authentication'],
        type: ['start'],
        action: 'ssh_login',
        outcome: failed ? 'failure' : 'success',
      },
      user: { name: burst ? `user${i % 13}` : 'deploy' },
      source: { ip, port: 40_000 + (i % 20_000) },
      host,
      process: { name: 'sshd', pid: 1000 + (i % 5000) },
      message: `${failed ? 'Failed' : 'Accepted'} password for deploy from ${ip}`,
      labels,
    }
  }

  if (kind < 0.6) {
    const tools = ['/usr/bin/curl', '/usr/bin/python3', '/bin/bash', '/usr/bin/wget', '/bin/ls']
    const executable = tools[Math.floor(next() * tools.length)]!
    return {
      '@timestamp': timestamp,
      event: { kind: 'event', dataset: 'auditd', category: ['process'], type: ['start'] },
      process: {
        pid: 20_000 + i,
        name: executable.slice(executable.lastIndexOf('/') + 1),
        executable,
        command_line: `${executable} -s https://example.com/${i}`,
        parent: { pid: 1000 + (i % 300), executable: '/bin/bash' },
      },
      user: { name: 'www-data', id: '33' },
      host,
      labels,
    }
  }

  const status = next() < 0.9 ? 200 : 500
  return {
    '@timestamp': timestamp,
    event: {
      kind: 'event',
      dataset: 'shop.http',
      category: ['web'],
      type: ['access'],
      outcome: status === 200 ? 'success' : 'failure',
    },
    url: { path: `/api/orders/${i}`, full: `https://shop.example.com/api/orders/${i}` },
    source: { ip: `192.0.2.${i % 250}`, port: 50_000 + (i % 10_000) },
    http: { request: { method: 'GET' }, response: { status_code: status } },
    user: { name: `customer${i % 997}` },
    host,
    message: `GET /api/orders/${i} ${status}`,
    labels,
  }
}

/**
 * `count` generated ECS events as NDJSON, without ids, so the engine derives each from the
 * event's content (the common case for emitters). Runs differ in the `labels.bench_run` label
 * and in their day, after every corpus's dates (the latest Windows event is from July 2026),
 * so no correlation window they fall in has closed already.
 */
export function ecsInput(count: number, batchSize: number): BenchInput {
  return {
    name: 'ECS (NDJSON)',
    format: 'ndjson',
    contentType: 'application/x-ndjson',
    records: count,
    baseline: 'JSON.parse of each line',
    batchesFor: (run) => {
      const next = seededRandom(0x9a115ade)
      const lines = Array.from({ length: count }, (_, i) => JSON.stringify(ecsEvent(i, run, next)))
      return chunk(lines, batchSize).map((batch) => ({
        body: `${batch.join('\n')}\n`,
        query: '?format=ndjson',
        jsonTexts: batch,
      }))
    },
  }
}
