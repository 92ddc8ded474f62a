/**
 * `npm run bench:decisions`: zero-trust decisions per second and their latency, next to the
 * bare Cedar call on the same request, in the same run, on an embedded engine.
 *
 * - Cedar alone: `statefulIsAuthorized` on the built-in policy set, the request already built.
 * - The decision point in process: zod check, user looked up in SQLite, risk of four entities,
 *   Cedar, reasons; and the same through `AccessControl.decide`, which also queues the decision
 *   for the ClickHouse log.
 * - Over HTTP: `POST /v1/access/decisions` on the real Fastify app under autocannon load
 *   (token check, JSON, decision, log), `--connections` at once for `--seconds`.
 * - Ingest to changed decision: twelve failed SSH logins for a fresh user are posted, and a
 *   decision for that user is asked for as soon as the 202 comes back; the delay from the post
 *   to the first step-up, over `--rounds` users.
 *
 * Absolute figures drift on a shared machine; compare the ratios. Flags: `--json`,
 * `--seconds S` per measurement (default 3), `--connections N` (10), `--rounds N` (5).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

import * as cedar from '@cedar-policy/cedar-wasm/nodejs'
import autocannon from 'autocannon'

import { cedarCall } from '../auth/zero-trust/decision-point.ts'
import { decisionRequestSchema } from '../auth/zero-trust/decision-request.ts'
import { configSchema } from '../platform/config/config-schema.ts'
import { adminTokenPath, startEngine } from '../platform/engine.ts'
import { createLogger } from '../platform/logger.ts'
import { createToken } from '../platform/state/api-tokens.ts'
import { hashEnrolmentToken, insertUser } from '../platform/state/users.ts'
import { formatRate, formatTable, median } from './measure.ts'

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '5' },
  },
})
const seconds = Number(values.seconds)
const connections = Number(values.connections)
const rounds = Number(values.rounds)

interface Row {
  what: string
  per_second: number
  p50_ms: number
  p99_ms: number
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

/** Calls `once` one after another for `seconds`; rate and latency percentiles. */
async function measure(what: string, once: () => unknown): Promise<Row> {
  for (let i = 0; i < 200; i++) await once() // warm up the JIT and the caches
  const latencies: number[] = []
  const until = performance.now() + seconds * 1000
  const start = performance.now()
  while (performance.now() < until) {
    const t = performance.now()
    await once()
    latencies.push(performance.now() - t)
  }
  const elapsed = (performance.now() - start) / 1000
  latencies.sort((a, b) => a - b)
  return {
    what,
    per_second: latencies.length / elapsed,
    p50_ms: percentile(latencies, 50),
    p99_ms: percentile(latencies, 99),
  }
}

function request(user: string) {
  return {
    subject: { type: 'user', id: user },
    resource: { type: 'console', id: 'alerts', sensitivity: 'medium' },
    action: { name: 'read' },
    context: {
      device: { id: 'laptop-7', host: 'laptop-7', managed: true, compliant: true },
      network: { address: '198.51.100.20' },
      location: { country: 'GB' },
      mfa: { method: 'totp', age_seconds: 3600 },
      session: { id: 's-1', age_seconds: 600 },
    },
  }
}

const dataDir = mkdtempSync(join(tmpdir(), 'palisade-decisions-bench-'))
const config = configSchema.parse({ dataDir, http: { port: 0 }, log: { level: 'silent' } })
config.syslog.udpPort = 0
config.syslog.tcpPort = 0
const engine = await startEngine(config, createLogger('silent'))
try {
  const db = engine.state.db
  const addUser = (name: string) =>
    insertUser(db, {
      name,
      role: 'analyst',
      enrolmentHash: hashEnrolmentToken(`${name}-unused`),
      enrolmentExpiresAt: new Date(Date.now() + 60_000),
    })
  await addUser('alice')
  const token = (await createToken(db, 'bench gateway', ['decide'])).token
  const access = engine.access
  const body = request('alice')

  // The exact Cedar call the decision point makes for this request, built once.
  const set = access.policies.set
  await access.point.decide(body) // preparses the set under its digest
  const call = cedarCall(
    set.digest,
    decisionRequestSchema.parse(body),
    { role: 'analyst', disabled: false },
    { score: 0, user: 0, address: 0, device: 0, host: 0, alerts: [] },
  )
  const caller = { actor: { kind: 'system' as const, id: 'bench' } }
  const rows: Row[] = [
    await measure('Cedar statefulIsAuthorized alone', () => cedar.statefulIsAuthorized(call)),
    await measure('decision point, in process', () => access.point.decide(body)),
    await measure('decision point + decision log, in process', () => access.decide(body, caller)),
  ]
  await access.flush()

  const http = await autocannon({
    url: `${engine.url}/v1/access/decisions`,
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    connections,
    duration: seconds,
  })
  if (http.non2xx > 0 || http.errors > 0) {
    throw new Error(`HTTP load got ${http.non2xx} non-2xx answers and ${http.errors} errors`)
  }
  rows.push({
    what: `POST /v1/access/decisions, ${connections} connections (autocannon)`,
    per_second: http.requests.average,
    p50_ms: http.latency.p50,
    p99_ms: http.latency.p99,
  })

  // Ingest to changed decision: a brute force against a fresh user, then decisions at once.
  const delays: number[] = []
  const ingestOnly: number[] = []
  // The built-in SSH brute force groups by source address: the address's risk is what rises.
  const adminToken = readFileSync(adminTokenPath(dataDir), 'utf8').trim()
  for (let round = 0; round < rounds; round++) {
    const user = `bench-user-${round}`
    const address = `203.0.113.${10 + round}`
    await addUser(user)
    const lines: string[] = []
    const end = Date.now()
    for (let i = 0; i < 12; i++) {
      const at = new Date(end - 44_000 + i * 4_000).toISOString()
      lines.push(
        `<38>1 ${at} bastion sshd ${4100 + i} - - Failed password for ${user} from ${address} ` +
          `port ${50100 + i} ssh2`,
      )
    }
    const ask = { ...request(user), context: { ...request(user).context, network: { address } } }
    const before = await access.point.decide(ask)
    if (before.decision !== 'allow') throw new Error(`expected allow first, got ${before.decision}`)
    const start = performance.now()
    const sent = await fetch(`${engine.url}/v1/events?format=syslog`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'text/plain' },
      body: `${lines.join('\n')}\n`,
    })
    if (sent.status !== 202) throw new Error(`ingest answered ${sent.status}`)
    ingestOnly.push(performance.now() - start)
    for (;;) {
      const answer = await fetch(`${engine.url}/v1/access/decisions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(ask),
      })
      const decision = (await answer.json()) as { decision: string }
      if (decision.decision !== 'allow') break
      if (performance.now() - start > 30_000) throw new Error('the decision never changed')
    }
    delays.push(performance.now() - start)
  }

  const table = formatTable(
    ['measurement', 'per second', 'p50 ms', 'p99 ms', 'vs Cedar'],
    rows.map((r) => [
      r.what,
      formatRate(r.per_second),
      r.p50_ms.toFixed(3),
      r.p99_ms.toFixed(3),
      `${(r.per_second / rows[0]!.per_second).toFixed(2)}x`,
    ]),
  )
  const latency = {
    rounds,
    ingest_202_ms_median: median(ingestOnly),
    ingest_to_changed_decision_ms_median: median(delays),
    ingest_to_changed_decision_ms_max: Math.max(...delays),
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ rows, ingest_to_decision: latency })}\n`)
  } else {
    process.stdout.write(`${table}\n\n`)
    process.stdout.write(
      `ingest to changed decision (${rounds} brute forces, each a fresh user and address): ` +
        `median ${latency.ingest_to_changed_decision_ms_median.toFixed(1)} ms ` +
        `(of which the ingest's 202: ${latency.ingest_202_ms_median.toFixed(1)} ms), ` +
        `max ${latency.ingest_to_changed_decision_ms_max.toFixed(1)} ms\n`,
    )
  }
} finally {
  await engine.close()
  rmSync(dataDir, { recursive: true, force: true })
}
