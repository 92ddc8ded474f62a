/**
 * `npm run bench:hunt-million`: issue 6's "a hunt over a million stored events runs with a
 * progress bar, can be cancelled, and its alerts match what the stream raised for the same
 * events", shown for real. A million events (by default the real OpenSSH log, parsed as ingest
 * does syslog, repeated with fresh ids and times; see `hunt-inputs.ts`) are inserted in large
 * batches straight into the events table of an embedded ClickHouse in a temporary data dir,
 * and each is given to the stream's `RuleSet.evaluate` on the way in (timed apart).
 *
 * Then `runHunt`, as `POST /v1/hunts` runs it, hunts the same rules (by default the built-in
 * pack and SigmaHQ's `rules/linux/builtin`: all of the corpus is far slower, see
 * `bench:hunt`) over them with a bar on stderr, to the end. Its alerts are read back from the
 * alerts table and compared with the stream's matches as pairs of rule id and event id: the
 * two sets must be equal. A second hunt is then cancelled at its first progress after a query
 * (its signal aborted, as `POST /v1/hunts/:id/cancel` does): it must end cancelled, before
 * its last slice, with the alerts of the slices it finished stored and every one of them a
 * stream match. The run fails (exit code 1) if any of that does not hold.
 *
 * Flags: `--events N` (default 1,000,000), `--max-slice-events N` (default 100,000, so the
 * bar moves in tenths), `--rules DIR` (repeatable) and `--builtin` for other rules,
 * `--regression` for the SigmaHQ regression data's events instead of the OpenSSH log's,
 * `--json`.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { SingleBar } from 'cli-progress'
import { v7 as uuidv7 } from 'uuid'

import { planHunt, type HuntPlan } from '../detectors/hunts/hunt-plan.ts'
import { runHunt, type HuntOutcome, type HuntProgress } from '../detectors/hunts/run-hunt.ts'
import { loadRules } from '../detectors/sigma/load-rules.ts'
import { compileRuleSet } from '../detectors/sigma/rule-set.ts'
import { openAnalyticsStore, type AnalyticsStore } from '../platform/clickhouse/analytics-store.ts'
import { insertEvents } from '../platform/clickhouse/event-repository.ts'
import {
  copies,
  describeRules,
  HUNT_START,
  loadEvents,
  ruleDirs,
  STEP_MS,
  takeInputOptions,
  takeRunOptions,
  type HuntInputOptions,
} from './hunt-inputs.ts'
import { formatRate, secondsOf, timed } from './measure.ts'

const INSERT_BATCH = 20_000

interface Options {
  json: boolean
  events: number
  maxSliceEvents: number
  inputs: HuntInputOptions
}

function parseOptions(argv: readonly string[]): Options {
  const regression = argv.includes('--regression')
  const { inputs, rest } = takeInputOptions(
    argv.filter((a) => a !== '--regression'),
    { rules: ['rules/linux/builtin'], builtin: true, events: 'openssh' },
  )
  if (regression) inputs.events = 'regression'
  const run = takeRunOptions(rest, '--rules DIR, --builtin, --regression')
  return {
    json: run.json,
    events: run.events ?? 1_000_000,
    maxSliceEvents: run.maxSliceEvents ?? 100_000,
    inputs,
  }
}

/** One match, a rule on an event, as both sides can name it. */
const pair = (ruleId: string, eventId: string) => `${ruleId} ${eventId}`

/** The pairs of the alerts a hunt stored. */
async function huntPairs(store: AnalyticsStore, huntId: string): Promise<Set<string>> {
  const result = await store.client.query({
    query: `SELECT rule_id, toString(event_ids[1]) AS event_id FROM ${store.database}.alerts
      WHERE hunt_id = {hunt_id:String}`,
    query_params: { hunt_id: huntId },
    format: 'JSONEachRow',
  })
  const rows = await result.json<{ rule_id: string; event_id: string }>()
  return new Set(rows.map((r) => pair(r.rule_id, r.event_id)))
}

/** `runHunt` with a bar on stderr following its queries; `onProgress` sees every update. */
async function huntWithBar(
  label: string,
  store: AnalyticsStore,
  plan: HuntPlan,
  options: Options,
  extra: { signal?: AbortSignal; onProgress?: (p: HuntProgress) => void } = {},
): Promise<{ huntId: string; outcome: HuntOutcome }> {
  const bar = new SingleBar({
    format: `${label} [{bar}] {percentage}% | slice {slice} | {events} events | {matches} alerts`,
    stream: process.stderr,
    // Drawn also when stderr is a file or a pipe, as when this run's output is kept.
    noTTYOutput: !process.stderr.isTTY,
    notTTYSchedule: 5_000,
  })
  bar.start(1, 0, { slice: '0/0', events: '0/0', matches: 0 })
  const huntId = uuidv7()
  try {
    const outcome = await runHunt({
      store,
      huntId,
      plan,
      from: HUNT_START,
      to: HUNT_START + options.events * STEP_MS,
      maxSliceEvents: options.maxSliceEvents,
      ...(extra.signal ? { signal: extra.signal } : {}),
      onProgress: (p) => {
        bar.setTotal(Math.max(1, p.queries.total))
        bar.update(p.queries.done, {
          slice: `${p.slices.done}/${p.slices.total}`,
          events: `${p.events.done}/${p.events.total}`,
          matches: p.matches,
        })
        extra.onProgress?.(p)
      },
    })
    return { huntId, outcome }
  } finally {
    bar.stop()
  }
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
  const plan = planHunt(documents)
  const hunted = new Set(plan.rules.map((r) => r.id))
  const once = loadEvents(options.inputs.events)
  const total = options.events
  const failures: string[] = []

  const dataDir = mkdtempSync(join(tmpdir(), 'palisade-hunt-million-'))
  try {
    const store = await openAnalyticsStore({ database: 'palisade', dataDir, eventDays: 3650 })
    try {
      // The stream sees each stored event, its own id and time, before it is inserted. Only
      // the rules the hunt runs count: the few it refuses (correlations) may match here.
      const streamed = new Set<string>()
      let streamSeconds = 0
      const inserted = await timed(async () => {
        for (let start = 0; start < total; start += INSERT_BATCH) {
          const batch = copies(once, start, Math.min(total, start + INSERT_BATCH))
          streamSeconds += secondsOf(() => {
            for (const event of batch) {
              for (const rule of ruleSet.evaluate(event)) {
                if (hunted.has(rule.id)) streamed.add(pair(rule.id, event.id))
              }
            }
          })
          await insertEvents(store, batch, new Date())
        }
      })

      const full = await timed(() => huntWithBar('hunt', store, plan, options))
      const found = await huntPairs(store, full.value.huntId)
      if (full.value.outcome.state !== 'done') failures.push('the first hunt did not finish')
      const missing = [...streamed].filter((p) => !found.has(p))
      const extra = [...found].filter((p) => !streamed.has(p))
      if (missing.length || extra.length) {
        failures.push(
          `the hunt and the stream disagree: ${missing.length} stream matches not in the ` +
            `hunt (first: ${missing[0] ?? '-'}), ${extra.length} hunt alerts not in the ` +
            `stream (first: ${extra[0] ?? '-'})`,
        )
      }

      // The second hunt is cancelled at its first progress after a query has answered.
      const controller = new AbortController()
      let cancelledAt = 0n
      const second = await huntWithBar('cancel', store, plan, options, {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.queries.done === 0 || controller.signal.aborted) return
          cancelledAt = process.hrtime.bigint()
          controller.abort()
        },
      })
      const cancelSeconds = Number(process.hrtime.bigint() - cancelledAt) / 1e9
      const kept = await huntPairs(store, second.huntId)
      const cancelled = second.outcome
      if (cancelled.state !== 'cancelled') failures.push('the second hunt was not cancelled')
      if (cancelled.progress.slices.done >= cancelled.progress.slices.total) {
        failures.push('the second hunt ran every slice before it stopped')
      }
      if (kept.size !== cancelled.progress.matches) {
        failures.push(
          `the cancelled hunt said ${cancelled.progress.matches} alerts, stored ${kept.size}`,
        )
      }
      const strays = [...kept].filter((p) => !streamed.has(p))
      if (strays.length) failures.push(`${strays.length} kept alerts are not stream matches`)

      const huntSeconds = full.seconds
      const result = {
        eventSource: options.inputs.events,
        ruleSource: describeRules(options.inputs),
        events: total,
        distinctEvents: once.length,
        rules: plan.rules.length,
        refused: plan.refused.length,
        batches: plan.batches.length,
        slices: full.value.outcome.progress.slices.total,
        insertSeconds: Number(inserted.seconds.toFixed(1)),
        huntSeconds: Number(huntSeconds.toFixed(1)),
        huntPerSecond: Math.round(total / huntSeconds),
        streamSeconds: Number(streamSeconds.toFixed(1)),
        streamPerSecond: Math.round(total / streamSeconds),
        huntMatches: found.size,
        streamMatches: streamed.size,
        missingFromHunt: missing.length,
        notInStream: extra.length,
        cancel: {
          state: cancelled.state,
          slicesDone: cancelled.progress.slices.done,
          slices: cancelled.progress.slices.total,
          eventsDone: cancelled.progress.events.done,
          alertsKept: kept.size,
          latencySeconds: Number(cancelSeconds.toFixed(2)),
        },
        ok: failures.length === 0,
      }
      if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
      else {
        const c = result.cancel
        const lines = [
          `events stored      ${total} (${once.length} distinct, ${result.eventSource}), ` +
            `in ${result.insertSeconds} s`,
          `rules              ${result.ruleSource}: ${result.rules} hunted in ` +
            `${result.batches} batches, ${result.refused} refused`,
          `hunt               ${formatRate(result.huntPerSecond)} events/s ` +
            `(${result.huntSeconds} s, ${result.slices} slices)`,
          `stream             ${formatRate(result.streamPerSecond)} events/s ` +
            `(${result.streamSeconds} s, rule-set evaluation)`,
          `matches            hunt ${result.huntMatches}, stream ${result.streamMatches} ` +
            `(rule and event pairs; ${result.missingFromHunt} missing from the hunt, ` +
            `${result.notInStream} not in the stream)`,
          `cancelled hunt     ${c.state} after ${c.slicesDone}/${c.slices} slices ` +
            `(${c.eventsDone} events), ${c.alertsKept} alerts kept, ` +
            `stopped ${c.latencySeconds} s after the cancel`,
        ]
        process.stdout.write(`${lines.join('\n')}\n`)
      }
      for (const failure of failures) process.stderr.write(`hunt-million: ${failure}\n`)
      if (failures.length) process.exitCode = 1
    } finally {
      await store.close()
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
}

await main()
