/**
 * `npm run bench:correlation`: events per second through the correlation engine on one core,
 * as the stream detector runs it (detectors/detector.ts): per event, the detection rules are
 * evaluated, and the rules it matched go to the correlator, which closes a group's windows as
 * its events move its time past them. Two rule sets: the built-in pack
 * (rules/builtin/), and a thousand generated correlations of every type over five detection
 * rules (bench/generate-correlations.ts), which shows how the cost grows with the number of
 * correlations an event feeds. The machine is shared and absolute times drift, so each is
 * paired with its baseline in the same run: the bare evaluation of the same rules over the
 * same events, with no correlator. The ratio (correlation time over evaluation time) is what
 * to compare between versions.
 *
 * Events: the real OpenSSH log (../shared/corpora/logs/OpenSSH_2k.log, read in place), parsed
 * and normalised the way ingest does syslog, repeated to `--events` (default 50 000) for the
 * built-in pack and `--generated-events` (default 10 000) for the thousand. Each copy is six
 * hours after the one before (the log spans about four), with ids of its own, so windows and
 * sequences open, fill and close as on a long stream. The correlator's wall clock
 * is pinned just past the last event: the replay is "now", so no event reads as future-dated.
 *
 * The thousand get fewer events: each SSH event feeds about two hundred of them, and their low
 * thresholds raise some sixteen alerts an event, so they run about two hundred times slower.
 *
 * Each rule set first runs untimed over half its events: a rule set is many small functions,
 * and V8 optimises one only after it has run for a while (half, not all, to keep the default
 * run near a minute). Then three timed runs, each with a fresh correlator; the median is
 * reported. The checksum hashes the sorted alerts (id, rule and contributing events): a change
 * that only makes correlation faster must leave it as it was.
 *
 * Flags: `--json` prints the results as JSON; `--events N` and `--generated-events N` set the
 * event counts.
 */
import { createHash } from 'node:crypto'
import { join } from 'node:path'

import { createCorrelator } from '../detectors/sigma/correlation-engine.ts'
import type { CorrelationState } from '../detectors/sigma/correlation-engine.ts'
import { loadRules, parseRuleText } from '../detectors/sigma/load-rules.ts'
import { compileRuleSet, type RuleSet } from '../detectors/sigma/rule-set.ts'
import type { Alert } from '../platform/alert-model.ts'
import { derivedId } from '../platform/event-id.ts'
import type { PalisadeEvent } from '../platform/event-model.ts'
import { opensshEvents, opensshLines } from '../test/helpers/openssh-log.ts'
import { generateCorrelationRules } from './generate-correlations.ts'
import { formatRate, median, secondsOf } from './measure.ts'

const RUNS = 3
const GENERATED = 1000
const COPY_SHIFT_MS = 6 * 3_600_000

interface Options {
  json: boolean
  events: number
  generatedEvents: number
}

function parseOptions(argv: readonly string[]): Options {
  const options: Options = { json: false, events: 50_000, generatedEvents: 10_000 }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--json') {
      options.json = true
      continue
    }

    const number = Number(argv[i + 1])
    if (arg !== '--events' && arg !== '--generated-events') {
      throw new Error(
        `unknown argument ${arg}: expected --json, --events N or --generated-events N`,
      )
    }
    if (!(number > 0)) throw new Error(`${arg}: expected a positive number, got ${argv[i + 1]}`)
    if (arg === '--events') options.events = Math.round(number)
    else options.generatedEvents = Math.round(number)
    i++
  }
  return options
}

/** `count` events: the log again and again, each copy later and with ids of its own. */
function repeat(log: readonly PalisadeEvent[], count: number): PalisadeEvent[] {
  const events: PalisadeEvent[] = []
  for (let copy = 0; events.length < count; copy++) {
    for (const event of log) {
      if (events.length === count) break
      const at = Date.parse(event['@timestamp']) + copy * COPY_SHIFT_MS
      events.push({
        ...event,
        id: derivedId('correlation-bench', `${copy}\u0000${event.id}`),
        '@timestamp': new Date(at).toISOString(),
      })
    }
  }
  return events
}

/** The baseline is timed over at least this many evaluations, repeating the events. */
const BASELINE_EVENTS = 200_000

/**
 * The bare evaluation: every event through the rules, `passes` times over, the matches
 * counted and dropped.
 */
function evaluateAll(ruleSet: RuleSet, events: readonly PalisadeEvent[], passes = 1): number {
  let matches = 0
  for (let pass = 0; pass < passes; pass++) {
    for (const event of events) matches += ruleSet.evaluate(event).length
  }
  return matches
}

/** As `createDetector`'s `detect` does it, with a fresh correlator. */
function correlateAll(
  ruleSet: RuleSet,
  events: readonly PalisadeEvent[],
): { alerts: Alert[]; state: CorrelationState } {
  const last = Date.parse(events.at(-1)!['@timestamp'])
  const correlator = createCorrelator(ruleSet, { now: () => last })
  const alerts: Alert[] = []
  for (const event of events) {
    const matched = ruleSet.evaluate(event)
    if (matched.length === 0) continue
    alerts.push(...ruleSet.alertsFor(event, matched), ...correlator.process(event, matched))
  }
  // The stream has gone quiet: whatever is still open is decided.
  alerts.push(...correlator.flush(last + 86_400_000))
  return { alerts, state: correlator.state() }
}

/** SHA-256 over the alerts' ids and contributing events, sorted, one line per alert. */
function alertChecksum(alerts: readonly Alert[]): string {
  const lines = alerts.map((a) => `${a.id} ${a.rule.id} ${a.event_ids.join(',')}\n`).sort()
  const hash = createHash('sha256')
  for (const line of lines) hash.update(line)
  return hash.digest('hex').slice(0, 16)
}

interface PackResult {
  pack: string
  events: number
  detectionRules: number
  correlations: number
  eventsPerSecond: number
  evaluatePerSecond: number
  /** Evaluation plus correlation time over evaluation alone, per run, median. */
  slowdown: number
  alerts: number
  /** How many rules raised at least one alert. */
  firingCorrelations: number
  evicted: number
  late: number
  checksum: string
}

function measurePack(pack: string, ruleSet: RuleSet, events: PalisadeEvent[]): PackResult {
  if (ruleSet.rejections.length > 0) {
    throw new Error(`${pack}: rules rejected: ${JSON.stringify(ruleSet.rejections[0])}`)
  }

  // Warm-up, untimed: each loop once over the first half of the events (see the header).
  const warm = events.slice(0, Math.max(1, events.length >> 1))
  evaluateAll(ruleSet, warm)
  correlateAll(ruleSet, warm)

  // A few thousand evaluations take milliseconds, too short to time on a shared machine: the
  // baseline repeats the events to at least BASELINE_EVENTS and is counted per event.
  const passes = Math.ceil(BASELINE_EVENTS / events.length)
  const runs: { evaluate: number; correlate: number }[] = []
  let last = { alerts: [] as Alert[], state: undefined as CorrelationState | undefined }
  for (let run = 0; run < RUNS; run++) {
    const evaluate = secondsOf(() => evaluateAll(ruleSet, events, passes)) / passes
    const correlate = secondsOf(() => (last = correlateAll(ruleSet, events)))
    runs.push({ evaluate, correlate })
  }

  return {
    pack,
    events: events.length,
    detectionRules: ruleSet.rules.length,
    correlations: ruleSet.correlations.length,
    eventsPerSecond: Math.round(events.length / median(runs.map((r) => r.correlate))),
    evaluatePerSecond: Math.round(events.length / median(runs.map((r) => r.evaluate))),
    slowdown: Number(median(runs.map((r) => r.correlate / r.evaluate)).toFixed(1)),
    alerts: last.alerts.length,
    firingCorrelations: new Set(last.alerts.map((a) => a.rule.id)).size,
    evicted: last.state?.evicted ?? 0,
    late: last.state?.late ?? 0,
    checksum: alertChecksum(last.alerts),
  }
}

function main(): void {
  const options = parseOptions(process.argv.slice(2))
  const log = opensshEvents(opensshLines, 'correlation-bench')
  const events = repeat(log, options.events)
  const fewer = repeat(log, options.generatedEvents)

  const builtin = compileRuleSet(
    loadRules([join(import.meta.dirname, '..', 'rules', 'builtin')]).documents,
  )
  const generatedText = generateCorrelationRules(GENERATED)
  const parsed = parseRuleText(generatedText, 'generated.yml')
  if (parsed.rejections.length > 0) {
    throw new Error(`generated rules rejected: ${JSON.stringify(parsed.rejections[0])}`)
  }
  const generated = compileRuleSet(parsed.documents)

  const results = [
    measurePack('built-in', builtin, events),
    measurePack(`${GENERATED} generated`, generated, fewer),
  ]
  if (options.json) {
    const json = { distinctEvents: log.length, results }
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`)
    return
  }

  const lines = [`log                ${log.length} events, repeated six hours apart`]
  for (const r of results) {
    lines.push(
      '',
      `${r.pack} pack`.padEnd(18) +
        ' ' +
        `${r.detectionRules} detection rules, ${r.correlations} correlations`,
      `events             ${r.events} (x${Math.ceil(r.events / log.length)})`,
      `correlate          ${formatRate(r.eventsPerSecond)} events/s (median of ${RUNS})`,
      `evaluate only      ${formatRate(r.evaluatePerSecond)} events/s (the baseline)`,
      `vs evaluate only   ${r.slowdown}x its time`,
      `alerts             ${r.alerts} from ${r.firingCorrelations} rules` +
        ` (${r.evicted} group keys evicted, ${r.late} late)`,
      `checksum           ${r.checksum}`,
    )
  }
  process.stdout.write(`${lines.join('\n')}\n`)
}

main()
