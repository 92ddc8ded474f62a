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
import { parseArgs } from 'node:util'

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
/** The warm-up sends the input's first batches: enough for the JIT, short for the clock. */
const WARMUP_BATCHES = 4

interface Options {
  json: boolean
  scale: number
  concurrency: number
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean', default: false },
      scale: { type: 'string', default: '1' },
      concurrency: { type: 'string', default: '3' },
    },
  })
  const positive = (flag: string, text: string) => {
    const number = Number(text)
    if (!(number > 0)) throw new Error(`--${flag}: expected a positive number, got ${text}`)
    return number
  }
  return {
    json: values.json,
    scale: positive('scale', values.scale),
    concurrency: Math.round(positive('concurrency', values.concurrency)),
  }
}

const started = Date.now()

function progress(message: string): void {
  const seconds = ((Date.now() - started) / 1000).toFixed(0).padStart(3)
  process.stderr.write(`[bench ${seconds}s] ${message}\n`)
}

/** What one timed pass over an input gave: its time, the records stored, the alerts raised. */
interface Pass {
  seconds: number
  /** Records the engine accepted: stored, or already stored (a duplicate id). */
  stored: number
  alerts: number
}

/**
 * What a batch answer counts as accepted. The corpus holds a few events twice (same channel,
 * computer and record id); an engine that reports duplicates apart counts them there.
 */
function accepted(answer: { stored: number; duplicates?: number }): number {
  return answer.stored + (answer.duplicates ?? 0)
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
          const answer = JSON.parse(text) as { stored: number; duplicates?: number; alerts: number }
          resolve({ seconds: 0, stored: accepted(answer), alerts: answer.alerts })
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
async function overPipeline(
  engine: Engine,
  input: BenchInput,
  batches: BenchBatch[],
): Promise<Pass> {
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
      total.stored += accepted(result)
      total.alerts += result.alerts
    }
  })
  return { seconds, ...total }
}

/** Keys of everything the baseline parsed: a use of its results, so none is optimised away. */
let parsedKeys = 0

/**
 * `JSON.parse` alone over every record's JSON text. One pass takes milliseconds, too short to
 * time on a busy machine, so passes repeat for at least `minSeconds` and the mean is returned.
 */
function parseOnly(batches: BenchBatch[], minSeconds = 0.25): Pass {
  let keys = 0
  let passes = 0
  const start = process.hrtime.bigint()
  let seconds = 0
  while (seconds < minSeconds) {
    for (const batch of batches) {
      for (const text of batch.jsonTexts) keys += Object.keys(JSON.parse(text) as object).length
    }
    passes++
    seconds = Number(process.hrtime.bigint() - start) / 1e9
  }
  parsedKeys += keys
  return { seconds: seconds / passes, stored: 0, alerts: 0 }
}

interface Measurement {
  mode: string
  /** Median records per second over the runs. */
  rate: number
  /** Median records per second of `JSON.parse` alone, measured just before each run. */
  baselineRate: number
  /** Median over the runs of baseline time / run time: how many times slower than parsing. */
  slowdown: number
  runs: { rate: number; baselineRate: number; alerts: number }[]
}

interface InputResult {
  input: string
  format: string
  records: number
  batches: number
  baseline: string
  warmupAlerts: number
  measurements: Measurement[]
}

function summarise(mode: string, records: number, passes: [Pass, Pass][]): Measurement {
  return {
    mode,
    rate: records / median(passes.map(([, p]) => p.seconds)),
    baselineRate: records / median(passes.map(([b]) => b.seconds)),
    slowdown: median(passes.map(([b, p]) => p.seconds / b.seconds)),
    runs: passes.map(([b, p]) => ({
      rate: records / p.seconds,
      baselineRate: records / b.seconds,
      alerts: p.alerts,
    })),
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
  // Each run gets its own copy of the input, built before the clock starts. The baseline is
  // measured on it just before the run, so both see the same load on the shared machine.
  let run = 0
  const repeat = async (mode: string, pass: (batches: BenchBatch[]) => Promise<Pass>) => {
    const passes: [Pass, Pass][] = []
    for (let i = 0; i < REPEATS; i++) {
      const batches = input.batchesFor(++run)
      const baseline = parseOnly(batches)
      const result = await pass(batches)
      passes.push([baseline, result])
      progress(
        `${input.name}: ${mode} ${i + 1}/${REPEATS}: ` +
          `${formatRate(input.records / result.seconds)} records/s, ` +
          `${(result.seconds / baseline.seconds).toFixed(0)}x JSON.parse`,
      )
    }
    return summarise(mode, input.records, passes)
  }

  const batches = input.batchesFor(run)
  const warmup = batches.slice(0, WARMUP_BATCHES)
  const warmupRecords = warmup.reduce((n, b) => n + b.jsonTexts.length, 0)
  progress(`${input.name}: warming up on ${warmupRecords} of ${input.records} records`)
  parseOnly(warmup, 0.1)
  const warm = await overHttp(client, input, warmup, 1)
  if (warm.stored !== warmupRecords) {
    throw new Error(`${input.name} warm-up: expected ${warmupRecords} stored, got ${warm.stored}`)
  }

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
  const pipeline = await repeat('pipeline', async (batches) => {
    const pass = await overPipeline(engine, input, batches)
    checkStored(input, pass, 'pipeline')
    return pass
  })

  return {
    input: input.name,
    format: input.format,
    records: input.records,
    batches: batches.length,
    baseline: input.baseline,
    warmupAlerts: warm.alerts,
    measurements: [sequential, concurrent, pipeline],
  }
}

function report(results: InputResult[], loaded: RulesLoaded): string {
  const rows: string[][] = []
  for (const r of results) {
    for (const m of r.measurements) {
      rows.push([
        r.input,
        String(r.records),
        m.mode,
        formatRate(m.baselineRate),
        formatRate(m.rate),
        `${m.slowdown.toFixed(0)}x`,
        String(median(m.runs.map((x) => x.alerts))),
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
    `Medians of ${REPEATS} runs after a warm-up of ${WARMUP_BATCHES} batches; batches of ` +
      `${BATCH_SIZE} records; ${loaded.rules} rules and ${loaded.correlations} correlations.`,
    'JSON.parse runs on the same records just before each run; "slower" is the median of the',
    '  per-run ratios (run time / JSON.parse time), which drifts less than either rate.',
    'http xN: POST /v1/events from N concurrent clients in this process, each batch answered',
    '  202 once its events and alerts are in ClickHouse. pipeline: the same batches parsed and',
    '  processed without HTTP.',
    ...results.map((r) => `Baseline for ${r.input}: ${r.baseline}.`),
    `Alerts in the warm-ups: ${results.map((r) => `${r.input} ${r.warmupAlerts}`).join(', ')}.`,
    '  Syslog copies keep their timestamps: from the second copy on, their failures fall in',
    '  correlation windows already fired or closed, so a run raises fewer alerts than a copy.',
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
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency })
  const cleanUp = async () => {
    agent.destroy()
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
      // Sysmon process creations meet about 1,400 Sigma rules each and go through at a few
      // hundred a second, so this input is smaller than the others to keep the run short.
      windowsInput(scaled(1_700), BATCH_SIZE),
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
      agent,
    }

    const results: InputResult[] = []
    for (const input of inputs) {
      results.push(await benchInput(engine, client, input, options.concurrency))
    }

    if (options.json) {
      process.stdout.write(`${JSON.stringify({ options, rules: loaded, results }, null, 2)}\n`)
    } else {
      process.stdout.write(report(results, loaded))
    }
    progress(`done in ${((Date.now() - started) / 1000).toFixed(0)}s (${parsedKeys} keys parsed)`)
  } finally {
    await cleanUp()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

try {
  await main()
} catch (error) {
  process.stderr.write(`bench: ${(error as Error).message}\n`)
  process.exitCode = 1
}
