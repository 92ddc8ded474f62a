/**
 * `node bin/run-ts.js bench/audit-log-bench.ts`: the audit log as the engine runs it, a
 * `MerkleAuditLog` on embedded ClickHouse (chDB) with its frontier in SQLite, in a temporary
 * data dir.
 *
 * - appends per second through `record()`, awaited one at a time and with many in flight
 *   (record() serialises them, so in-flight calls only queue);
 * - inclusion proofs per second served by `log.proofs` at the final size, reading leaf hashes
 *   from ClickHouse: with the cache the appends fed (a running log) and after reopening the
 *   log (the cache starts empty, as after a restart);
 * - verification per second of those proofs against the log's root.
 *
 * The machine is shared and absolute rates drift (chDB's inserts also slow down as parts pile
 * up between merges), so each row is set against a baseline measured in the same run, on the
 * same engine, in interleaved rounds: appends against raw `insertAuditEntry` of entries of the
 * same shape into a twin table without the tree, proofs against a raw read of one 256-leaf
 * block (the most a warm proof reads below the log's last full block), verification against
 * SHA-256 of a 65-byte node. "Cost" is the median over rounds of the row's time per operation
 * in baseline operations: that is what to compare between versions. An append is an insert
 * plus a frontier write to the state store, so the frontier write is also timed alone (into a
 * second SQLite file).
 *
 * Flags: `--appends N` per kind of append (default 2000), `--proofs P` per kind of proof
 * (default 1000), `--rounds R` (default 8), `--in-flight K` (default 16), `--json`. The
 * defaults take about two minutes on a 2-core machine; `--appends 20000 --proofs 10000` makes
 * a larger log.
 */
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

import type { AuditEntryInput } from '../audit/audit-log.ts'
import { leafHash, verifyInclusion } from '../audit/merkle/index.ts'
import { openAuditLog } from '../audit/merkle-audit-log.ts'
import type { MerkleAuditLog } from '../audit/merkle-audit-log.ts'
import { migrate, openAnalyticsStore } from '../platform/clickhouse/analytics-store.ts'
import type { AnalyticsStore } from '../platform/clickhouse/analytics-store.ts'
import { insertAuditEntry, readAuditRows } from '../platform/clickhouse/audit-repository.ts'
import { canonicalJson } from '../platform/event-id.ts'
import { readAuditTree, writeAuditTree } from '../platform/state/audit-tree.ts'
import { openStateStore } from '../platform/state/state-store.ts'
import type { StateStore } from '../platform/state/state-store.ts'
import { seededRandom } from '../test/helpers/seeded-random.ts'
import { forEachConcurrent, formatRate, formatTable, median, timed } from './measure.ts'

interface Options {
  appends: number
  proofs: number
  rounds: number
  inFlight: number
  json: boolean
}

/** One kind of operation, timed in rounds. */
interface Series {
  operation: string
  count: number
  seconds: number
  /** Operations per second in each round. */
  rates: number[]
}

interface Row {
  operation: string
  count: number
  perSecond: number
  /** The row's baseline by name, and the median over rounds of its cost in baseline ops. */
  baseline?: string
  cost?: number
}

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      appends: { type: 'string', default: '2000' },
      proofs: { type: 'string', default: '1000' },
      rounds: { type: 'string', default: '8' },
      'in-flight': { type: 'string', default: '16' },
      json: { type: 'boolean', default: false },
    },
  })
  const count = (name: string, text: string): number => {
    const n = Number(text)
    if (!Number.isInteger(n) || n < 1) {
      throw new Error(`expected --${name} to be a positive integer, got ${JSON.stringify(text)}`)
    }
    return n
  }
  const options = {
    appends: count('appends', values.appends),
    proofs: count('proofs', values.proofs),
    rounds: count('rounds', values.rounds),
    inFlight: count('in-flight', values['in-flight']),
    json: values.json,
  }
  if (options.rounds > Math.min(options.appends, options.proofs)) {
    throw new Error(`expected --rounds to be at most --appends and --proofs, got ${options.rounds}`)
  }
  return options
}

const series = (operation: string): Series => ({ operation, count: 0, seconds: 0, rates: [] })

/** Times `count` operations done by `work` as one round of `into`. */
async function round(into: Series, count: number, work: () => Promise<void>): Promise<void> {
  const { seconds } = await timed(work)
  into.count += count
  into.seconds += seconds
  into.rates.push(count / seconds)
}

function rowOf(s: Series, baseline?: Series): Row {
  const row: Row = { operation: s.operation, count: s.count, perSecond: s.count / s.seconds }
  if (!baseline) return row
  const costs = s.rates.map((rate, i) => baseline.rates[i]! / rate)
  return { ...row, baseline: baseline.operation, cost: median(costs) }
}

/** An entry of the size the engine writes for a token operation. */
function entryFor(i: number): AuditEntryInput {
  return {
    actor: { kind: 'token', id: `0190f4c2-7b1e-7c3a-9d2f-${String(i % 997).padStart(12, '0')}` },
    action: i % 2 ? 'token.create' : 'dead_letter.replay',
    target: { kind: 'token', id: `0190f4c2-7b1e-7c3a-9d2f-${String(i).padStart(12, '0')}` },
    outcome: 'success',
    source: { ip: `192.0.2.${i % 250}` },
    details: { name: `bench ${i}`, scopes: 'read,ingest' },
  }
}

/** Inserts the entries `first`… into the twin table as the log would, without the tree. */
function rawInserts(store: AnalyticsStore, first: number, count: number, inFlight: number) {
  const indexes = Array.from({ length: count }, (_, i) => first + i)
  return forEachConcurrent(indexes, inFlight, async (idx) => {
    const time = new Date().toISOString()
    const text = canonicalJson({ v: 1, index: idx, time, ...entryFor(idx) })
    const leaf = Buffer.from(leafHash(Buffer.from(text, 'utf8'))).toString('hex')
    await insertAuditEntry(store, { idx, time, entry: text, leaf_hash: leaf })
  })
}

/** Appends `count` entries through `record()`, with `inFlight` calls waiting at a time. */
function appends(log: MerkleAuditLog, count: number, inFlight: number) {
  const first = log.size()
  const indexes = Array.from({ length: count }, (_, i) => first + i)
  return forEachConcurrent(indexes, inFlight, async (i) => {
    await log.record(entryFor(i))
  })
}

async function measureAppends(
  options: Options,
  stores: { store: AnalyticsStore; raw: AnalyticsStore; state: StateStore; twin: StateStore },
  log: MerkleAuditLog,
): Promise<Row[]> {
  const { rounds, inFlight } = options
  const per = Math.floor(options.appends / rounds)
  const raw = series('raw insertAuditEntry, one at a time')
  const rawConcurrent = series(`raw insertAuditEntry, ${inFlight} in flight`)
  const frontier = series('raw frontier write to SQLite, one at a time')
  const serial = series('record(), one at a time')
  const concurrent = series(`record(), ${inFlight} in flight`)

  let rawNext = 0
  let written = 0
  const steps: (() => Promise<void>)[] = [
    () => round(raw, per, () => rawInserts(stores.raw, (rawNext += per) - per, per, 1)),
    () => round(serial, per, () => appends(log, per, 1)),
    () =>
      round(rawConcurrent, per, () =>
        rawInserts(stores.raw, (rawNext += per) - per, per, inFlight),
      ),
    () => round(concurrent, per, () => appends(log, per, inFlight)),
    async () => {
      // The other half of an append: the frontier as the log stores it now, to SQLite.
      const text = (await readAuditTree(stores.state.db)) ?? '{}'
      await round(frontier, per, async () => {
        for (let i = 0; i < per; i++) await writeAuditTree(stores.twin.db, ++written, text)
      })
    },
  ]
  for (let r = 0; r < rounds; r++) {
    // Every other round in reverse, so neither side always runs just after the other.
    for (const step of r % 2 ? [...steps].reverse() : steps) await step()
  }
  return [
    rowOf(raw),
    rowOf(rawConcurrent, raw),
    rowOf(frontier, raw),
    rowOf(serial, raw),
    rowOf(concurrent, raw),
  ]
}

async function measureProofs(
  options: Options,
  store: AnalyticsStore,
  open: () => Promise<MerkleAuditLog>,
  log: MerkleAuditLog,
): Promise<Row[]> {
  const { rounds, inFlight } = options
  const size = log.size()
  const root = log.root()
  const next = seededRandom(0x9162)
  const indexes = Array.from({ length: options.proofs }, () => Math.floor(next() * size))
  const slices = Array.from({ length: rounds }, (_, r) =>
    indexes.slice(
      Math.floor((r * indexes.length) / rounds),
      Math.floor(((r + 1) * indexes.length) / rounds),
    ),
  )
  const leaves = new Map<number, Uint8Array>()
  for (const row of await readAuditRows(store, 0, size, 'idx, leaf_hash')) {
    leaves.set(row.idx, new Uint8Array(Buffer.from(row.leaf_hash, 'hex')))
  }

  const block = series('raw read of a 256-leaf block')
  const warm = series('inclusion proof, running log, one at a time')
  const warmConcurrent = series(`inclusion proof, running log, ${inFlight} in flight`)
  const hash = series('SHA-256 of 65 bytes')
  const verify = series('inclusion proof verification')
  const proofs = new Map<number, Uint8Array[]>()
  const prove = (target: MerkleAuditLog, some: number[], lanes: number) =>
    forEachConcurrent(some, lanes, async (index) => {
      proofs.set(index, await target.proofs.inclusionProof(index, size))
    })

  // Untimed, so the first round does not pay for warming up.
  await prove(log, indexes.slice(0, 20), 1)
  const node = new Uint8Array(65).fill(7)
  const hashes = 20_000
  for (const some of slices) {
    await round(block, some.length, () =>
      forEachConcurrent(some, 1, async (index) => {
        const start = Math.floor(index / 256) * 256
        await readAuditRows(store, start, Math.min(start + 256, size), 'idx, leaf_hash')
      }),
    )
    await round(warm, some.length, () => prove(log, some, 1))
    await round(warmConcurrent, some.length, () => prove(log, some, inFlight))
    await round(hash, hashes, async () => {
      for (let i = 0; i < hashes; i++) createHash('sha256').update(node).digest()
    })
    await round(verify, some.length, async () => {
      for (const index of some) {
        const proof = proofs.get(index)!
        const leafHash = leaves.get(index)!
        verifyInclusion({ leafIndex: index, treeSize: size, leafHash, proof, root })
      }
    })
  }

  // A restarted log: its frontier comes from the state store and its subtree cache starts
  // empty, filling as proofs are asked for. One pass, set against the blocks' median rate.
  const reopened = await open()
  const cold = series('inclusion proof, reopened log (cache starts empty), one at a time')
  await round(cold, indexes.length, () => prove(reopened, indexes, 1))
  const coldRow = rowOf(cold)

  return [
    rowOf(block),
    rowOf(warm, block),
    rowOf(warmConcurrent, block),
    { ...coldRow, baseline: block.operation, cost: median(block.rates) / coldRow.perSecond },
    rowOf(hash),
    rowOf(verify, hash),
  ]
}

async function main(): Promise<void> {
  let options: Options
  try {
    options = readOptions()
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`)
    process.exit(2)
  }

  const dataDir = mkdtempSync(join(tmpdir(), 'palisade-audit-bench-'))
  const store = await openAnalyticsStore({ database: 'palisade', dataDir, eventDays: 30 })
  // The twin: the same migrations in another database on the same engine, so the raw inserts
  // go to a table of the same definition and never into the log's own entries.
  const raw: AnalyticsStore = { ...store, database: 'palisade_bench_raw' }
  await migrate(raw, 30)
  const state = await openStateStore({ dataDir })
  const twin = await openStateStore({ dataDir: join(dataDir, 'frontier-twin') })

  try {
    const open = () => openAuditLog({ store, state })
    const log = await open()
    // Untimed: chDB's first inserts create the tables' first parts.
    await rawInserts(raw, 1e9, 20, 1)
    await appends(log, 20, 1)

    const rows = await measureAppends(options, { store, raw, state, twin }, log)
    await log.drain()
    rows.push(...(await measureProofs(options, store, open, log)))
    print(options, log.size(), rows)
  } finally {
    await twin.close()
    await state.close()
    await store.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

function print(options: Options, size: number, rows: Row[]): void {
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ ...options, size, results: rows }, null, 2)}\n`)
    return
  }
  const table = formatTable(
    ['operation', 'count', 'per second', 'baseline', 'cost in baseline ops'],
    rows.map((r) => [
      r.operation,
      String(r.count),
      formatRate(r.perSecond),
      r.baseline ?? '(baseline)',
      r.cost === undefined ? '-' : r.cost.toFixed(2),
    ]),
  )
  process.stdout.write(
    `audit log on embedded ClickHouse (chDB) and SQLite, ${size} entries at the end, ` +
      `${options.rounds} interleaved rounds (cost: median over rounds)\n${table}\n`,
  )
}

await main()
