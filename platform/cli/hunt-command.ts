import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'

import { SingleBar } from 'cli-progress'
import type { Command } from 'commander'

import type { RefusedRule } from '../../detectors/hunts/hunt-plan.ts'
import type { Alert } from '../alert-model.ts'
import { PalisadeError, ValidationError } from '../errors.ts'
import type { HuntRecord } from '../state/hunt-records.ts'
import type { ApiClient } from './api-client.ts'

interface HuntOptions {
  rule?: string[]
  ruleId?: string[]
  from: string
  to: string
  maxSliceEvents?: string
  json?: boolean
  progress: boolean
}

type HuntAnswer = HuntRecord & { alerts: { items: Alert[]; next_cursor: string | null } }

/** How often a hunt's progress is asked for while it runs. */
const POLL_MS = 500

/**
 * `palisade hunt`: asks a running Palisade to hunt Sigma rules (files, or ids of its loaded
 * rules) over its stored events of a time range, follows it with a progress bar, cancels it
 * on the server at Ctrl-C, and prints the alerts it found. `hunt status` and `hunt cancel`
 * act on a hunt by id.
 */
export function registerHuntCommand(program: Command, client: () => ApiClient): void {
  const hunt = program
    .command('hunt')
    .description(
      'hunt Sigma rules over the stored events of a time range on a running instance, and ' +
        'print the alerts found (needs an admin token)',
    )
    .option('--rule <file>', 'a Sigma rule file to hunt; repeatable', collect)
    .option('--rule-id <id>', 'the id of a loaded rule to hunt; repeatable', collect)
    .option('--from <time>', 'RFC 3339 start of event time (included)')
    .option('--to <time>', 'RFC 3339 end of event time (not included)')
    .option('--max-slice-events <n>', 'most events one slice reads (default 250000)')
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print the hunt and its alerts as JSON')
    .addHelpText(
      'after',
      `
Rules the SQL back end cannot run as the stream does (correlations other than event_count
and value_count among them), and rules that match nothing (no logsource route, a placeholder
without a value) are refused, each with its reason, on stderr. Ctrl-C cancels the hunt on the server; the alerts it found so far
are kept and printed.

Examples:
  palisade hunt --rule new-rule.yml --from 2026-09-01T00:00:00Z --to 2026-12-01T00:00:00Z
  palisade hunt --rule-id e4097b4e-7315-4ae2-81aa-e3533c7b3559 --from ... --to ... --json
  palisade hunt status 0193...     palisade hunt cancel 0193...
`,
    )
    .action(async (options: HuntOptions) => {
      const texts = (options.rule ?? []).map(readRuleFile)
      const ruleIds = options.ruleId ?? []
      if (texts.length === 0 && ruleIds.length === 0) {
        throw new ValidationError('hunt: expected --rule FILE or --rule-id ID, got neither')
      }
      if (!options.from || !options.to) {
        throw new ValidationError(
          `hunt: expected --from and --to (RFC 3339), got ${options.from ? '' : 'no --from'}` +
            `${!options.from && !options.to ? ' and ' : ''}${options.to ? '' : 'no --to'}`,
        )
      }
      const api = client()
      const started = await api.request<HuntRecord>('POST', '/v1/hunts', {
        body: {
          ...(texts.length > 0 ? { rules: texts } : {}),
          ...(ruleIds.length > 0 ? { rule_ids: ruleIds } : {}),
          from: options.from,
          to: options.to,
          ...(options.maxSliceEvents ? { max_slice_events: Number(options.maxSliceEvents) } : {}),
        },
      })
      if (!options.json) printRefused(started.refused)
      const ended = await follow(api, started.id, options.progress && !options.json)
      await printHunt(api, ended, options.json === true)
      if (ended.state === 'failed') process.exitCode = 1
      if (ended.state === 'cancelled') process.exitCode = 130
    })

  hunt
    .command('status')
    .description("a hunt's state and progress, and the alerts it found")
    .argument('<id>', 'the hunt id')
    .option('--json', 'print the hunt and its alerts as JSON')
    // `hunt` has a --json of its own, which commander gives the value to: read both.
    .action(async function (this: Command, id: string) {
      const options = this.optsWithGlobals<{ json?: boolean }>()
      const api = client()
      const record = await api.request<HuntAnswer>('GET', `/v1/hunts/${encodeURIComponent(id)}`)
      if (!options.json) printRefused(record.refused)
      await printHunt(api, record, options.json === true)
    })

  hunt
    .command('cancel')
    .description('cancel a running hunt; the alerts it found so far are kept')
    .argument('<id>', 'the hunt id')
    .option('--json', 'print the hunt as JSON')
    .action(async function (this: Command, id: string) {
      const options = this.optsWithGlobals<{ json?: boolean }>()
      const record = await client().request<HuntRecord>(
        'POST',
        `/v1/hunts/${encodeURIComponent(id)}/cancel`,
      )
      if (options.json) return print(JSON.stringify(record))
      print(summary(record))
    })
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

function readRuleFile(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    throw new ValidationError(`--rule ${file}: cannot read it (${(error as Error).message})`)
  }
}

/**
 * Polls a hunt until it ends, with a bar on stderr when that is a terminal. The first Ctrl-C
 * cancels the hunt on the server and waits for its answer; a second one leaves at once.
 */
async function follow(api: ApiClient, id: string, bar: boolean): Promise<HuntRecord> {
  const progress =
    bar && process.stderr.isTTY
      ? new SingleBar({
          format: 'hunt [{bar}] {percentage}% | slice {slice} | {events} events | {matches} alerts',
          stream: process.stderr,
        })
      : undefined
  let cancelling: Promise<HuntRecord> | undefined
  const onInterrupt = () => {
    if (cancelling) process.exit(130)
    progress?.stop()
    process.stderr.write(`palisade: cancelling hunt ${id} (Ctrl-C again to leave now)\n`)
    cancelling = api.request<HuntRecord>('POST', `/v1/hunts/${id}/cancel`)
    // A hunt that ended meanwhile cannot be cancelled; what it became is read below.
    cancelling.catch(() => undefined)
  }
  process.on('SIGINT', onInterrupt)
  progress?.start(1, 0, { slice: '0/0', events: '0/0', matches: 0 })
  try {
    for (;;) {
      if (cancelling) {
        try {
          return await cancelling
        } catch (error) {
          if (!(error instanceof PalisadeError) || error.code !== 'PAL_HUNT_NOT_RUNNING')
            throw error
        }
      }
      const record = await api.request<HuntRecord>('GET', `/v1/hunts/${id}`, {
        query: { limit: 1 },
      })
      const p = record.progress
      progress?.setTotal(Math.max(1, p.queries.total))
      progress?.update(p.queries.done, {
        slice: `${p.slices.done}/${p.slices.total}`,
        events: `${p.events.done}/${p.events.total}`,
        matches: p.matches,
      })
      if (record.state !== 'running') return record
      await sleep(POLL_MS)
    }
  } finally {
    progress?.stop()
    process.off('SIGINT', onInterrupt)
  }
}

/** Every alert of the hunt, one line each (as `palisade alerts` prints them), or JSON. */
async function printHunt(api: ApiClient, record: HuntRecord, json: boolean): Promise<void> {
  const alerts: Alert[] = []
  let cursor: string | null = null
  do {
    const page: HuntAnswer = await api.request<HuntAnswer>('GET', `/v1/hunts/${record.id}`, {
      query: { limit: 1000, cursor },
    })
    alerts.push(...page.alerts.items)
    cursor = page.alerts.next_cursor
    record = page
  } while (cursor)

  if (json) {
    return print(JSON.stringify({ ...record, alerts }))
  }
  for (const a of alerts) {
    print(
      `${a['@timestamp']}  ${a.level.padEnd(8)}  ${a.rule.title}  ` +
        `${a.entity.kind}=${a.entity.value}  (${a.event_ids.length} events)`,
    )
  }
  print(summary(record))
}

function printRefused(refused: readonly RefusedRule[]): void {
  for (const r of refused) {
    process.stderr.write(`palisade: refused ${r.title} (${r.id}): ${r.reason}\n`)
  }
}

function summary(record: HuntRecord): string {
  const p = record.progress
  const error = record.error ? ` (${record.error.code}: ${record.error.message})` : ''
  return (
    `hunt ${record.id} ${record.state}${error}: ${p.matches} alerts from ` +
    `${p.events.done}/${p.events.total} events in ${p.slices.done}/${p.slices.total} slices; ` +
    `${record.rules.length} rules hunted, ${record.refused.length} refused`
  )
}

function print(line: string): void {
  process.stdout.write(`${line}\n`)
}
