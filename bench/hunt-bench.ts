/**
 * `npm run bench:hunt`: a hunt with all corpus rules over stored events, in events per second,
 * next to the stream engine on the same events in the same run. The SigmaHQ regression data's
 * events are parsed and normalised as ingest does, repeated to a million by default with fresh
 * ids and times (each copy a few milliseconds after the last), and inserted in large batches
 * straight into the events table of an embedded ClickHouse in a temporary data dir (ingest
 * over HTTP would take far longer than the hunt). The four SigmaHQ rule folders are loaded as
 * `sigma-bench.ts` loads them.
 *
 * The hunt is `runHunt`, as `POST /v1/hunts` runs it: planned (the SQL compiled, once), then
 * sliced, queried batch by batch and its alerts stored. The stream is `RuleSet.evaluate` over
 * the same events (the distinct objects again for each copy, as in sigma-bench: a copy
 * differs only in its id and time, which no rule reads), after an untimed warm-up pass. Both
 * count matches of the rules the hunt runs, one per rule and event; they must be equal, and
 * the run fails if not.
 *
 * The ratio is the stream's rate over the hunt's: what a hunt costs per event against what
 * the stream spends on the same event. Absolute rates drift on a shared machine; the ratio,
 * measured in one run, is what to compare between versions.
 *
 * Flags: `--events N` (default 1,000,000), `--max-slice-events N` (the runner's default
 * otherwise), `--json`; `--rules DIR` (repeatable: a path, or a folder of the SigmaHQ corpus
 * such as `rules/windows/process_creation`) and `--builtin` (the built-in pack) for the rules
 * instead of the four folders; `--openssh` for the real OpenSSH log's events (parsed as
 * ingest does syslog, repeated the same way) instead of the regression data's.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { v7 as uuidv7 } from 'uuid'

import { planHunt } from '../detectors/hunts/hunt-plan.ts'
import { runHunt } from '../detectors/hunts/run-hunt.ts'
import { loadRules } from '../detectors/sigma/load-rules.ts'
import { compileRuleSet, type RuleSet } from '../detectors/sigma/rule-set.ts'
import { openAnalyticsStore } from '../platform/clickhouse/analytics-store.ts'
import { insertEvents } from '../platform/clickhouse/event-repository.ts'
import type { PalisadeEvent } from '../platform/event-model.ts'
import {
  copies,
  corpusRuleFolders,
  describeRules,
  HUNT_START as START,
  loadEvents,
  ruleDirs,
  STEP_MS,
  takeInputOptions,
  takeRunOptions,
  type HuntInputOptions,
} from './hunt-inputs.ts'
import { formatRate, timed } from './measure.ts'

const INSERT_BATCH = 20_000

interface Options {
  json: boolean
  events: number
  maxSliceEvents?: number
  inputs: HuntInputOptions
}

function parseOptions(argv: readonly string[]): Options {
  const { inputs, rest } = takeInputOptions(argv, {
    rules: corpusRuleFolders,
    builtin: false,
    events: 'regression',
  })
  const run = takeRunOptions(rest, '--rules DIR, --builtin, --openssh')
  return {
    json: run.json,
    events: run.events ?? 1_000_000,
    ...(run.maxSliceEvents ? { maxSliceEvents: run.maxSliceEvents } : {}),
    inputs,
  }
}

/** Matches of the hunted rules over `total` events: the distinct ones, over and over. */
function evaluateAll(
  ruleSet: RuleSet,
  hunted: ReadonlySet<string>,
  once: readonly PalisadeEvent[],
  total: number,
): number {
  let matches = 0
  for (let i = 0; i < total; i++) {
    for (const rule of ruleSet.evaluate(once[i % once.length]!)) if (hunted.has(rule.id)) matches++
  }
  return matches
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2))
  // Detection rules only: the stream side is the rule set's own matches, so a correlation
  // (which a hunt runs as one aggregation over the range) would have nothing to match against,
  // and would keep the rules it references with generate false out of the hunt.
  const documents = loadRules(ruleDirs(options.inputs)).documents.filter(
    (d) => d.kind !== 'correlation',
  )
  const ruleSet = compileRuleSet(documents)
  const planned = await timed(() => planHunt(documents))
  const plan = planned.value
  const once = loadEvents(options.inputs.events)
  const total = options.events

  const dataDir = mkdtempSync(join(tmpdir(), 'palisade-hunt-bench-'))
  try {
    const store = await openAnalyticsStore({ database: 'palisade', dataDir, eventDays: 3650 })
    try {
      const inserted = await timed(async () => {
        for (let start = 0; start < total; start += INSERT_BATCH) {
          const batch = copies(once, start, Math.min(total, start + INSERT_BATCH))
          await insertEvents(store, batch, new Date())
        }
      })

      // The stream: one untimed pass to bring the JIT to its steady state, then the timed one.
      // Only the rules the hunt runs count: the few it refuses may well match in the stream.
      const hunted = new Set(plan.rules.map((r) => r.id))
      evaluateAll(ruleSet, hunted, once, Math.min(total, 200_000))
      const stream = await timed(() => evaluateAll(ruleSet, hunted, once, total))

      const hunt = await timed(() =>
        runHunt({
          store,
          huntId: uuidv7(),
          plan,
          from: START,
          to: START + total * STEP_MS,
          ...(options.maxSliceEvents ? { maxSliceEvents: options.maxSliceEvents } : {}),
        }),
      )
      const { progress } = hunt.value

      const result = {
        ruleSource: describeRules(options.inputs),
        eventSource: options.inputs.events,
        events: total,
        distinctEvents: once.length,
        rules: plan.rules.length,
        refused: plan.refused.length,
        batches: plan.batches.length,
        slices: progress.slices.total,
        planSeconds: Number(planned.seconds.toFixed(1)),
        insertSeconds: Number(inserted.seconds.toFixed(1)),
        huntSeconds: Number(hunt.seconds.toFixed(1)),
        streamSeconds: Number(stream.seconds.toFixed(1)),
        huntPerSecond: Math.round(total / hunt.seconds),
        streamPerSecond: Math.round(total / stream.seconds),
        /** The stream's rate over the hunt's. */
        ratio: Number((hunt.seconds / stream.seconds).toFixed(1)),
        huntMatches: progress.matches,
        streamMatches: stream.value,
      }
      if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
      else {
        const lines = [
          `events stored      ${total} (${once.length} distinct, ${result.eventSource}), ` +
            `in ${result.insertSeconds} s`,
          `rules              ${result.ruleSource}: ${result.rules} hunted in ` +
            `${result.batches} batches, ` +
            `${result.refused} refused; planned in ${result.planSeconds} s`,
          `hunt               ${formatRate(result.huntPerSecond)} events/s ` +
            `(${result.huntSeconds} s, ${result.slices} slices)`,
          `stream             ${formatRate(result.streamPerSecond)} events/s ` +
            `(${result.streamSeconds} s, rule-set evaluation)`,
          `hunt vs stream     ${result.ratio}x the stream's time per event`,
          `matches            hunt ${result.huntMatches}, stream ${result.streamMatches}`,
        ]
        process.stdout.write(`${lines.join('\n')}\n`)
      }
      if (result.huntMatches !== result.streamMatches) {
        process.stderr.write('hunt-bench: the hunt and the stream matched differently\n')
        process.exitCode = 1
      }
    } finally {
      await store.close()
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
}

await main()
