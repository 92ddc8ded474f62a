import type { Command } from 'commander'

import type { RuleInfo } from '../../detectors/describe-rules.ts'
import type { RuleWarning } from '../../detectors/sigma/rule-set.ts'
import type { RuleRejection } from '../../detectors/sigma/sigma-rule.ts'
import { PalisadeError, ValidationError } from '../errors.ts'
import { jsonError } from './offline-action.ts'
import type { ApiClient } from './api-client.ts'

interface Page<T> {
  items: T[]
  next_cursor: string | null
}

interface ReloadAnswer {
  added: string[]
  changed: string[]
  removed: string[]
  rejected: RuleRejection[]
  warnings: RuleWarning[]
  rules: number
  correlations: number
  filters: number
  correlation_state_dropped: string[]
}

/**
 * `rules list`, `rules enable`, `rules disable` and `rules reload`: the rules of a running
 * instance, through its API (enable, disable and reload need an admin token). Registered
 * under the `rules` command beside the offline tools.
 */
export function registerRulesManageCommands(program: Command, client: () => ApiClient): void {
  const rules = program.commands.find((c) => c.name() === 'rules') ?? program.command('rules')
  rules.description(
    'Sigma rules: check and test them offline; list, turn on or off and reload them on a ' +
      'running instance',
  )

  rules
    .command('list')
    .description('list the loaded rules, correlations and filters of a running instance')
    .option('--enabled', 'only those that are on')
    .option('--disabled', 'only those that are off')
    .option('--kind <kind>', 'detection, correlation or filter')
    .option('--tag <tag>', 'a tag, or an ATT&CK id without its prefix (t1110)')
    .option('--q <text>', 'text in the id, name, title or file')
    .option('--json', 'print {"items": [...]} as JSON')
    .action((options: ListOptions) =>
      reportErrors(options, async () => {
        if (options.enabled && options.disabled) {
          throw new ValidationError('rules list: expected --enabled or --disabled, got both')
        }
        const enabled = options.enabled ? 'true' : options.disabled ? 'false' : undefined
        const query = { enabled, kind: options.kind, tag: options.tag, q: options.q, limit: 1000 }
        const items: RuleInfo[] = []
        let cursor: string | null | undefined
        do {
          const page = await client().request<Page<RuleInfo>>('GET', '/v1/rules', {
            query: { ...query, cursor },
          })
          items.push(...page.items)
          cursor = page.next_cursor
        } while (cursor)

        if (options.json) return print(JSON.stringify({ items }))
        if (items.length === 0) return print('no rules match')
        for (const r of items) print(ruleLine(r))
        const off = items.filter((r) => !r.enabled).length
        print(`${items.length} listed: ${items.length - off} enabled, ${off} disabled`)
      }),
    )

  for (const enabled of [true, false]) {
    const verb = enabled ? 'enable' : 'disable'
    rules
      .command(verb)
      .description(
        enabled
          ? 'turn a rule, correlation or filter back on (admin)'
          : 'turn a rule, correlation or filter off: it neither alerts nor feeds correlations ' +
              '(admin; kept across restarts)',
      )
      .argument('<id>', 'the rule id')
      .option('--json', 'print the rule as JSON')
      .action((id: string, options: { json?: boolean }) =>
        reportErrors(options, async () => {
          const rule = await client().request<RuleInfo & { changed: boolean }>(
            'PATCH',
            `/v1/rules/${encodeURIComponent(id)}`,
            { body: { enabled } },
          )
          if (options.json) return print(JSON.stringify(rule))
          const state = enabled ? 'enabled' : 'disabled'
          print(rule.changed ? `${state} ${id} (${rule.title})` : `${id} was already ${state}`)
        }),
      )
  }

  rules
    .command('reload')
    .description(
      'make a running instance read its rule folders again (admin); the rules running now ' +
        'are kept when nothing loads',
    )
    .option('--json', 'print the answer as JSON')
    .action((options: { json?: boolean }) =>
      reportErrors(options, async () => {
        const answer = await client().request<ReloadAnswer>('POST', '/v1/rules/reload')
        if (options.json) return print(JSON.stringify(answer))
        for (const id of answer.added) print(`added    ${id}`)
        for (const id of answer.changed) print(`changed  ${id}`)
        for (const id of answer.removed) print(`removed  ${id}`)
        for (const r of answer.rejected) {
          const where = r.line ? `${r.file}:${r.line}` : r.file
          print(`rejected ${where}${r.rule_id ? ` (${r.rule_id})` : ''}: ${r.message}`)
        }
        for (const w of answer.warnings) {
          print(`warning  ${w.line ? `${w.file}:${w.line}` : w.file} (${w.rule_id}): ${w.message}`)
        }
        if (answer.correlation_state_dropped.length > 0) {
          print(`open windows dropped (changed): ${answer.correlation_state_dropped.join(', ')}`)
        }
        print(
          `reloaded ${answer.rules} rules, ${answer.correlations} correlations, ` +
            `${answer.filters} filters: ${answer.added.length} added, ` +
            `${answer.changed.length} changed, ${answer.removed.length} removed, ` +
            `${answer.rejected.length} rejected`,
        )
      }),
    )
}

/**
 * Runs an action; under `--json` an error is printed as `{"error": {code, message}}` on stdout,
 * with the exit code the command line gives it elsewhere (2 for a bad request, else 1), so a
 * script reading the output can always parse it. Without `--json` it goes up to the command
 * line, which prints it on stderr.
 */
async function reportErrors(options: { json?: boolean }, action: () => Promise<void>) {
  try {
    await action()
  } catch (error) {
    if (!options.json || !(error instanceof PalisadeError)) throw error
    print(jsonError(error))
    process.exitCode = error.status === 400 ? 2 : 1
  }
}

interface ListOptions {
  enabled?: boolean
  disabled?: boolean
  kind?: string
  tag?: string
  q?: string
  json?: boolean
}

/** State, kind, level, id, title, ATT&CK tags, place, and why it never fires if it cannot. */
function ruleLine(r: RuleInfo): string {
  const attack = r.attack.length > 0 ? `  [${r.attack.join(' ')}]` : ''
  const why = !r.enabled ? '' : r.inert ? `  (inert: ${r.inert})` : ''
  return (
    `${r.status.padEnd(8)}  ${r.kind.padEnd(11)}  ${(r.level ?? '-').padEnd(13)}  ${r.id}  ` +
    `${r.title}${attack}  ${r.file}:${r.line}${why}`
  )
}

function print(line: string): void {
  process.stdout.write(`${line}\n`)
}
