/**
 * `npm run bench`: events per second from ingest to stored alerts, next to `JSON.parse` alone
 * on the same records in the same run. The machine is shared and absolute times drift, so
 * what to read is the ratio to the baseline, not the rate.
 *
 * A real all-in-one engine (embedded ClickHouse, the built-in rules and the four SigmaHQ rule
 * folders) runs in this process on a temporary data dir. Each input is sent as
 * `POST /v1/events` batches, one client at a time and then several at once; a batch counts once
 * it is answered 202, which the engine sends only after its events and alerts are stored.
 * The same batches also go straight to `pipeline.process`, parsed as the API parses them, to
 * show what HTTP costs. Every measurement is warmed up once, run three times, and the median
 * is reported; each run sends events with ids of their own, so nothing is deduplicated away.
 *
 * Flags: `--json` prints the results as JSON; `--scale N` multiplies the input sizes (0.1 for
 * a quick look); `--concurrency N` sets the concurrent clients (default 3).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'

import { pino } from 'pino'

import { ingestFormats } from '../api/ingest-formats.ts'
import { configSchema } from '../platform/config/config-schema.ts'
import { adminTokenPath, startEngine } from '../platform/engine.ts'
import type { Engine } from '../platform/engine.ts'
import type { Logger } from '../platform/logger.ts'
import { corporaDir, ecsInput, syslogInput, windowsInput } from './bench-inputs.ts'
import type { BenchBatch, BenchInput } from './bench-inputs.ts'
import { forEachConcurrent, formatRate, formatTable, median, timed } from './measure.ts'

const BATCH_SIZE = 500
const REPEATS = 3

interface Options {
  json: boolean
  scale: number
  concurrency: number
}

function parseOptions(argv: readonly string[]): Options {
  const options: Options = { json: false, scale: 1, concurrency: 3 }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--json') {
      options.json = true
      continue
    }

    const number = Number(argv[i + 1])
    if ((arg === '--scale' || arg === '--concurrency') && !(number > 0)) {
      throw new Error(`${arg}: expected a positive number, got ${String(argv[i + 1])}`)
    }
    if (arg === '--scale') options.scale = number
    else if (arg === '--concurrency') options.concurrency = Math.round(number)
    else throw new Error(`unknown argument ${arg}: expected --json, --scale N or --concurrency N`)
    i++
  }
  return options
}

const started = Date.now()

function progress(message: string): void {
  const seconds = ((Date.now() - started) / 1000).toFixed(0).padStart(3)
  process.stderr.write(`[bench ${seconds}s] ${message}\n`)
}

/** What one timed pass over an input gave: records per second and the alerts it raised. */
interface Pass {
  seconds: number
  stored: number
  alerts: number
}

interface Client {
  url: URL
  token: string
  agent: Agent
}

/** Posts one batch; resolves with the 202 answer's counts, rejects on any other status. */
function post(client: Client, input: BenchInput, batch: BenchBatch): Promise<Pass> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(`/v1/events${batch.query}`, client.url),
      {
        method: 'POST',
        agent: client.agent,
        headers: {
          authorization: `Bearer ${client.token}`,
          'content-type': input.contentType,
          'content-length': Buffer.byteLength(batch.body),
        },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('error', reject)
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          if (res.statusCode !== 202) {
            reject(new Error(`expected 202 from POST /v1/events, got ${res.statusCode}: ${text}`))
            return
          }
          const answer = JSON.parse(text) as { stored: number; alerts: number }
          resolve({ seconds: 0, stored: answer.stored, alerts: answer.alerts })
        })
      },
    )
    req.on('error', reject)
    req.end(batch.body)
  })
}

async function overHttp(
  client: Client,
  input: BenchInput,
  batches: BenchBatch[],
  concurrency: number,
): Promise<Pass> {
  const total = { stored: 0, alerts: 0 }
  const { seconds } = await timed(() =>
    forEachConcurrent(batches, concurrency, async (batch) => {
      const answer = await post(client, input, batch)
      total.stored += answer.stored
      total.alerts += answer.alerts
    }),
  )
  return { seconds, ...total }
}

/** The same batches parsed as the API parses them and handed to the pipeline, without HTTP. */
async function overPipeline(engine: Engine, input: BenchInput, run: number): Promise<Pass> {
  const batches = input.batchesFor(run)
  const total = { stored: 0, alerts: 0 }
  const { seconds } = await timed(async () => {
    for (const batch of batches) {
      const query = new URLSearchParams(batch.query.slice(1))
      const stream = query.get('stream') ?? 'bench-pipeline'
      const startPosition = Number(query.get('position') ?? 0)
      const receivedAt = new Date()
      const records = ingestFormats[input.format](batch.body, {
        stream,
        receivedAt,
        timeZone: 'UTC',
        startPosition,
      })
      const result = await engine.pipeline.process({
        records,
        source: 'bench',
        format: input.format,
        stream,
        receivedAt,
        startPosition,
      })
      total.stored += result.stored
      total.alerts += result.alerts
    }
  })
  return { seconds, ...total }
}

/** `JSON.parse` alone over every record's JSON text; the sum keeps the work from being elided. */
function parseOnly(batches: BenchBatch[]): Pass {
  let keys = 0
  const start = process.hrtime.bigint()
  for (const batch of batches) {
    for (const text of batch.jsonTexts) keys += Object.keys(JSON.parse(text) as object).length
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  return { seconds, stored: keys > 0 ? 0 : -1, alerts: 0 }
}

interface Measurement {
  mode: string
  /** Median records per second over the runs. */
  rate: number
  /** Median run time in seconds. */
  seconds: number
  runs: number[]
  alerts: number[]
}

interface InputResult {
  input: string
  format: string
  records: number
  batches: number
  baseline: string
  measurements: Measurement[]
}

function summarise(mode: string, records: number, passes: Pass[]): Measurement {
  const seconds = median(passes.map((p) => p.seconds))
  return {
    mode,
    rate: records / seconds,
    seconds,
    runs: passes.map((p) => records / p.seconds),
    alerts: passes.map((p) => p.alerts),
  }
}

function checkStored(input: BenchInput, pass: Pass, mode: string): void {
  if (pass.stored !== input.records) {
    throw new Error(
      `${input.name} ${mode}: expected ${input.records} records stored, got ${pass.stored}`,
    )
  }
}

async function benchInput(
  engine: Engine,
  client: Client,
  input: BenchInput,
  concurrency: number,
): Promise<InputResult> {
  // Each run gets its own copy of the input, built before the clock starts.
  let run = 0
  const repeat = async (mode: string, pass: (batches: BenchBatch[]) => Promise<Pass> | Pass) => {
    const passes: Pass[] = []
    for (let i = 0; i < REPEATS; i++) {
      const batches = input.batchesFor(++run)
      const result = await pass(batches)
      passes.push(result)
      progress(
        `${input.name}: ${mode} ${i + 1}/${REPEATS}: ` +
          `${formatRate(input.records / result.seconds)} records/s`,
      )
    }
    return summarise(mode, input.records, passes)
  }

  const warmup = input.batchesFor(run)
  progress(`${input.name}: warming up (${input.records} records, ${warmup.length} batches)`)
  parseOnly(warmup)
  checkStored(input, await overHttp(client, input, warmup, 1), 'warm-up')

  const baseline = await repeat('JSON.parse', parseOnly)
  const sequential = await repeat('http x1', async (batches) => {
    const pass = await overHttp(client, input, batches, 1)
    checkStored(input, pass, 'http x1')
    return pass
  })
  const concurrent = await repeat(`http x${concurrency}`, async (batches) => {
    const pass = await overHttp(client, input, batches, concurrency)
    checkStored(input, pass, `http x${concurrency}`)
    return pass
  })
  const pipeline = await repeat('pipeline', async () => {
    const pass = await overPipeline(engine, input, run)
    checkStored(input, pass, 'pipeline')
    return pass
  })

  return {
    input: input.name,
    format: input.format,
    records: input.records,
    batches: warmup.length,
    baseline: input.baseline,
    measurements: [baseline, sequential, concurrent, pipeline],
  }
}

function report(results: InputResult[], loaded: RulesLoaded): string {
  const rows: string[][] = []
  for (const r of results) {
    const [baseline, ...rest] = r.measurements
    for (const m of rest) {
      rows.push([
        r.input,
        String(r.records),
        m.mode,
        formatRate(baseline!.rate),
        formatRate(m.rate),
        `${(baseline!.rate / m.rate).toFixed(0)}x`,
        String(median(m.alerts)),
      ])
    }
  }
  const table = formatTable(
    [
      'input',
      'records',
      'path',
      'JSON.parse rec/s',
      'end-to-end rec/s',
      'slower than JSON.parse',
      'alerts/run',
    ],
    rows,
  )
  const notes = [
    `Medians of ${REPEATS} runs after a warm-up, in batches of ${BATCH_SIZE} records, with ` +
      `${loaded.rules} rules and ${loaded.correlations} correlations loaded.`,
    'http xN: POST /v1/events from N concurrent clients in this process, each batch answered',
    '  202 once its events and alerts are in ClickHouse. pipeline: the same batches parsed and',
    '  processed without HTTP.',
    ...results.map((r) => `Baseline for ${r.input}: ${r.baseline}.`),
  ]
  return `${table}\n\n${notes.join('\n')}\n`
}

interface RulesLoaded {
  rules: number
  correlations: number
}

/**
 * A logger that only listens for the detector's "rules loaded" line, to report how many
 * rules ran; everything else the engine logs is dropped, so it cannot disturb the timing.
 */
function rulesLogger(loaded: RulesLoaded): Logger {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n')) {
        if (!text.includes('"rules loaded"')) continue
        const line = JSON.parse(text) as Partial<RulesLoaded>
        loaded.rules = line.rules ?? 0
        loaded.correlations = line.correlations ?? 0
      }
      done()
    },
  })
  return pino({ level: 'info' }, sink)
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2))
  const scaled = (n: number) => Math.max(BATCH_SIZE, Math.round(n * options.scale))
  const ruleDirs = ['rules', 'rules-emerging-threats', 'rules-threat-hunting', 'rules-placeholder']
  const dataDir = mkdtempSync(join(tmpdir(), 'palisade-bench-'))
  let engine: Engine | undefined
  const cleanUp = async () => {
    await engine?.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
  const onSignal = () => {
    void cleanUp().finally(() => process.exit(130))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  try {
    progress('building inputs from the shared corpora')
    const inputs = [
      syslogInput(scaled(20_000), BATCH_SIZE),
      windowsInput(scaled(10_000), BATCH_SIZE),
      ecsInput(scaled(20_000), BATCH_SIZE),
    ]

    progress(`starting the engine on ${dataDir} with the built-in and SigmaHQ rules`)
    const config = configSchema.parse({
      dataDir,
      http: { port: 0 },
      syslog: { udpPort: 0, tcpPort: 0 },
      log: { level: 'silent' },
      rules: ruleDirs.map((dir) => join(corporaDir, 'sigma', dir)),
    })
    const loaded: RulesLoaded = { rules: 0, correlations: 0 }
    const start = await timed(() => startEngine(config, rulesLogger(loaded)))
    engine = start.value
    progress(`engine started in ${start.seconds.toFixed(1)}s at ${engine.url}`)
    const client: Client = {
      url: new URL(engine.url),
      token: readFileSync(adminTokenPath(dataDir), 'utf8').trim(),
      agent: new Agent({ keepAlive: true, maxSockets: options.concurrency }),
    }

    const results: InputResult[] = []
    for (const input of inputs) {
      results.push(await benchInput(engine, client, input, options.concurrency))
    }
    client.agent.destroy()

    if (options.json) {
      process.stdout.write(`${JSON.stringify({ options, results }, null, 2)}\n`)
    } else {
      process.stdout.write(report(results, loaded))
    }
    progress(`done in ${((Date.now() - started) / 1000).toFixed(0)}s`)
  } finally {
    await cleanUp()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

await main()
