/**
 * `node bin/run-ts.js bench/sigma-bench.ts`: Sigma detection alone, in events per second on
 * one core, on Windows events. The four SigmaHQ rule folders are compiled once; the
 * regression data's events are parsed and normalised the way ingest does it, repeated to a
 * million events by default, and `ruleSet.evaluate` is timed over them, three times after an
 * untimed pass that brings the JIT to its steady state. The machine is shared and absolute
 * times drift, so each run is paired with two baselines over the same events in the same run:
 * `JSON.parse` of each event's text (the cost of merely reading the input), and a walk over
 * every field value, lowercasing each string (the least any case-insensitive matcher has to
 * read). The ratios are what to compare between versions.
 *
 * The copies are the same event objects again, not clones: a million distinct normalised
 * events would take gigabytes. Each evaluation starts a new event generation, so nothing is
 * carried from one copy to the next but what the CPU caches (the baselines share that).
 *
 * The checksum hashes, per event in order, the sorted ids of the rules it matched: a change
 * that only makes detection faster must leave it as it was.
 *
 * Flags: `--json` prints the results as JSON; `--events N` sets the target event count.
 */
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

import { loadRules } from '../detectors/sigma/load-rules.ts'
import { compileRuleSet, type RuleSet } from '../detectors/sigma/rule-set.ts'
import { normaliseRecord } from '../ingest/normalise.ts'
import type { ParseContext } from '../ingest/parsed-record.ts'
import { parseEvtxJson } from '../ingest/parsers/evtx-json.ts'
import type { PalisadeEvent } from '../platform/event-model.ts'
import { corporaDir } from './bench-inputs.ts'
import { formatRate, median, secondsOf } from './measure.ts'

const RUNS = 3
const ruleFolders = ['rules', 'rules-emerging-threats', 'rules-threat-hunting', 'rules-placeholder']

interface Options {
  json: boolean
  events: number
}

function parseOptions(argv: readonly string[]): Options {
  const options: Options = { json: false, events: 1_000_000 }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--json') {
      options.json = true
      continue
    }

    const number = Number(argv[i + 1])
    if (arg !== '--events')
      throw new Error(`unknown argument ${arg}: expected --json or --events N`)
    if (!(number > 0)) throw new Error(`--events: expected a positive number, got ${argv[i + 1]}`)
    options.events = Math.round(number)
    i++
  }
  return options
}

/** The regression data's events, parsed and normalised as ingest does, in file order. */
function loadEvents(): { events: PalisadeEvent[]; texts: string[] } {
  const root = join(corporaDir, 'sigma', 'regression_data')
  const ctx: ParseContext = {
    stream: 'sigma-bench',
    receivedAt: new Date('2026-06-01T00:00:00Z'),
    timeZone: 'UTC',
  }
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.json'))
    .sort()
  const events: PalisadeEvent[] = []
  const texts: string[] = []
  for (const file of files) {
    for (const record of parseEvtxJson(readFileSync(join(root, file), 'utf8'), ctx)) {
      const result = normaliseRecord(record, ctx)
      if (!result.ok) throw new Error(`${file}: ${result.reason.message}`)
      events.push(result.event)
      texts.push(record.raw)
    }
  }
  return { events, texts }
}

/** JSON.parse of every event's text, with a use of each result so none is optimised away. */
function parseAll(texts: readonly string[]): number {
  let total = 0
  for (const text of texts) total += Object.keys(JSON.parse(text) as object).length
  return total
}

/** Every leaf of every event, strings lowercased: a use of the result, so none is dropped. */
function walkFields(events: readonly PalisadeEvent[]): number {
  let total = 0
  const walk = (node: unknown): void => {
    if (typeof node === 'string') total += node.toLowerCase().length
    else if (Array.isArray(node)) for (const item of node) walk(item)
    else if (node !== null && typeof node === 'object') {
      for (const key in node) walk((node as Record<string, unknown>)[key])
    } else if (node !== undefined) total++
  }
  for (const event of events) walk(event)
  return total
}

function evaluateAll(ruleSet: RuleSet, events: readonly PalisadeEvent[]): number {
  let matches = 0
  for (const event of events) matches += ruleSet.evaluate(event).length
  return matches
}

/** SHA-256 over each event's sorted matched rule ids, one line per event. */
function matchChecksum(ruleSet: RuleSet, events: readonly PalisadeEvent[]): string {
  const hash = createHash('sha256')
  for (const event of events) {
    const ids = ruleSet.evaluate(event).map((r) => r.id)
    hash.update(`${ids.sort().join(',')}\n`)
  }
  return hash.digest('hex').slice(0, 16)
}

function main(): void {
  const options = parseOptions(process.argv.slice(2))

  const loadStart = process.hrtime.bigint()
  const loaded = loadRules(ruleFolders.map((folder) => join(corporaDir, 'sigma', folder)))
  const ruleSet = compileRuleSet(loaded.documents)
  const compileSeconds = Number(process.hrtime.bigint() - loadStart) / 1e9

  const { events: once, texts: textsOnce } = loadEvents()
  const copies = Math.max(1, Math.round(options.events / once.length))
  const events = Array.from({ length: copies }, () => once).flat()
  const texts = Array.from({ length: copies }, () => textsOnce).flat()
  let sink = 0

  // Warm-up: each loop once over all the events, untimed. A rule set is thousands of small
  // functions, each run on few events, and V8 optimises a function only after it has run for a
  // while: one pass over the distinct events left the first timed runs well below the steady
  // rate (under tsx, 75k events/s rising to about 90k over the first million). A running
  // engine works at the steady rate, so that is the rate measured.
  sink += parseAll(texts) + walkFields(events)
  evaluateAll(ruleSet, events)

  const runs: { evaluate: number; baseline: number; parse: number }[] = []
  let matches = 0
  for (let run = 0; run < RUNS; run++) {
    const parse = secondsOf(() => (sink += parseAll(texts)))
    const baseline = secondsOf(() => (sink += walkFields(events)))
    const evaluate = secondsOf(() => (matches = evaluateAll(ruleSet, events)))
    runs.push({ evaluate, baseline, parse })
  }

  const result = {
    rules: ruleSet.rules.length,
    compileSeconds: Number(compileSeconds.toFixed(2)),
    events: events.length,
    distinctEvents: once.length,
    matches,
    checksum: matchChecksum(ruleSet, once),
    eventsPerSecond: Math.round(events.length / median(runs.map((r) => r.evaluate))),
    jsonParsePerSecond: Math.round(events.length / median(runs.map((r) => r.parse))),
    baselinePerSecond: Math.round(events.length / median(runs.map((r) => r.baseline))),
    /** Evaluation time over JSON.parse time, per run, median: below 1 is faster than parsing. */
    versusJsonParse: Number(median(runs.map((r) => r.evaluate / r.parse)).toFixed(2)),
    slowdown: Number(median(runs.map((r) => r.evaluate / r.baseline)).toFixed(1)),
    sink,
  }
  if (options.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
    return
  }
  const lines = [
    `rules compiled     ${result.rules} (${result.compileSeconds} s to load and compile)`,
    `events             ${result.events} (${result.distinctEvents} distinct, x${copies})`,
    `evaluate           ${formatRate(result.eventsPerSecond)} events/s (median of ${RUNS})`,
    `JSON.parse         ${formatRate(result.jsonParsePerSecond)} events/s (each event's text)`,
    `field walk         ${formatRate(result.baselinePerSecond)} events/s`,
    `vs JSON.parse      ${result.versusJsonParse}x its time`,
    `vs field walk      ${result.slowdown}x its time`,
    `matches            ${result.matches}`,
    `checksum           ${result.checksum}`,
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
}

main()
