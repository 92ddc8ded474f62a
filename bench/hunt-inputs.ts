import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

import { v7 as uuidv7 } from 'uuid'

import { normaliseRecord } from '../ingest/normalise.ts'
import type { ParseContext } from '../ingest/parsed-record.ts'
import { parseEvtxJson } from '../ingest/parsers/evtx-json.ts'
import { packageInfo } from '../platform/package-info.ts'
import type { PalisadeEvent } from '../platform/event-model.ts'
import { opensshEvents, opensshLines } from '../test/helpers/openssh-log.ts'
import { corporaDir } from './bench-inputs.ts'

/**
 * What the hunt benchmarks (`hunt-bench.ts`, `hunt-million.ts`) hunt with and over: the rule
 * folders chosen on the command line and the events, parsed and normalised as ingest does,
 * repeated with fresh ids and times (each copy a few milliseconds after the last).
 */

/** The four SigmaHQ rule folders, loaded as `sigma-bench.ts` loads them. */
export const corpusRuleFolders = [
  'rules',
  'rules-emerging-threats',
  'rules-threat-hunting',
  'rules-placeholder',
]

export const HUNT_START = Date.parse('2026-01-01T00:00:00Z')
/** Milliseconds between two stored events. */
export const STEP_MS = 5

export type EventSource = 'regression' | 'openssh'

export interface HuntInputOptions {
  /** Rule folders or files, as given (`--rules`), then the built-in pack if `--builtin`. */
  rules: string[]
  builtin: boolean
  events: EventSource
}

/**
 * Takes `--rules DIR` (repeatable), `--builtin` and `--openssh` out of `argv`, returning the
 * arguments left for the script's own flags.
 */
export function takeInputOptions(
  argv: readonly string[],
  defaults: HuntInputOptions,
): { inputs: HuntInputOptions; rest: string[] } {
  const inputs: HuntInputOptions = { rules: [], builtin: false, events: defaults.events }
  let chosen = false
  const rest: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--builtin') {
      inputs.builtin = chosen = true
    } else if (arg === '--openssh') {
      inputs.events = 'openssh'
    } else if (arg === '--rules') {
      const value = argv[++i]
      if (!value) throw new Error('--rules: expected a rule folder or file after it')
      inputs.rules.push(value)
      chosen = true
    } else rest.push(arg)
  }
  if (!chosen) {
    inputs.rules = [...defaults.rules]
    inputs.builtin = defaults.builtin
  }
  return { inputs, rest }
}

/**
 * The flags both hunt benches take besides their inputs': `--json`, `--events N` and
 * `--max-slice-events N`.
 * @param inputFlags the input flags, for the message about an unknown argument
 */
export function takeRunOptions(
  rest: readonly string[],
  inputFlags: string,
): { json: boolean; events?: number; maxSliceEvents?: number } {
  const options: { json: boolean; events?: number; maxSliceEvents?: number } = { json: false }
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!
    if (arg === '--json') {
      options.json = true
      continue
    }

    const number = Number(rest[i + 1])
    if (arg !== '--events' && arg !== '--max-slice-events') {
      throw new Error(
        `unknown argument ${arg}: expected --json, --events N, --max-slice-events N, ` + inputFlags,
      )
    }
    if (!(number > 0)) throw new Error(`${arg}: expected a positive number, got ${rest[i + 1]}`)
    if (arg === '--events') options.events = Math.round(number)
    else options.maxSliceEvents = Math.round(number)
    i++
  }
  return options
}

/**
 * The paths to load rules from: each `--rules` value as a path when it exists, otherwise as a
 * folder of the SigmaHQ corpus (`rules/windows/process_creation`); then the built-in pack.
 */
export function ruleDirs(inputs: HuntInputOptions): string[] {
  const dirs = inputs.rules.map((given) => {
    if (existsSync(given)) return resolve(given)
    const inCorpus = join(corporaDir, 'sigma', given)
    if (existsSync(inCorpus)) return inCorpus
    throw new Error(`--rules ${given}: expected a path or a folder of ${join(corporaDir, 'sigma')}`)
  })
  if (inputs.builtin) dirs.push(packageInfo.builtinRulesDir)
  return dirs
}

/** A short name of the rules hunted, for the report. */
export function describeRules(inputs: HuntInputOptions): string {
  return [...inputs.rules, ...(inputs.builtin ? ['builtin'] : [])].join(', ')
}

/** The distinct events of `source`, parsed and normalised as ingest does, in file order. */
export function loadEvents(source: EventSource): PalisadeEvent[] {
  return source === 'openssh' ? opensshEvents(opensshLines, 'hunt-bench') : loadRegression()
}

/** The SigmaHQ regression data's events (EVTX as JSON). */
function loadRegression(): PalisadeEvent[] {
  const root = join(corporaDir, 'sigma', 'regression_data')
  const ctx: ParseContext = {
    stream: 'hunt-bench',
    receivedAt: new Date('2026-06-01T00:00:00Z'),
    timeZone: 'UTC',
  }
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.json'))
    .sort()
  const events: PalisadeEvent[] = []
  for (const file of files) {
    for (const record of parseEvtxJson(readFileSync(join(root, file), 'utf8'), ctx)) {
      const result = normaliseRecord(record, ctx)
      if (!result.ok) throw new Error(`${file}: ${result.reason.message}`)
      events.push(result.event)
    }
  }
  return events
}

/**
 * Stored events `start` to `end` (not included): the distinct ones over and over, each with
 * an id of its own and `STEP_MS` after the one before, from `HUNT_START`.
 */
export function copies(once: readonly PalisadeEvent[], start: number, end: number) {
  const batch: PalisadeEvent[] = []
  for (let i = start; i < end; i++) {
    const event = once[i % once.length]!
    const time = new Date(HUNT_START + i * STEP_MS).toISOString()
    batch.push({ ...event, id: uuidv7(), '@timestamp': time })
  }
  return batch
}
