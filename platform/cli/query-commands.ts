import type { Command } from 'commander'

import type { PalisadeEvent } from '../event-model.ts'
import type { ApiClient } from './api-client.ts'

interface Page<T> {
  items: T[]
  next_cursor: string | null
}

interface AlertRow {
  '@timestamp': string
  level: string
  rule: { id: string; title: string }
  entity: { kind: string; value: string }
  event_ids: string[]
}

/** Commands that read stored data through the API: alerts, events, dead letters, tokens. */
export function registerQueryCommands(program: Command, client: () => ApiClient): void {
  const listOptions = (command: Command) =>
    command
      .option('--from <time>', 'RFC 3339 start (inclusive)')
      .option('--to <time>', 'RFC 3339 end (exclusive)')
      .option('--q <text>', 'free text')
      .option('--limit <n>', 'how many (1-1000)', '50')
      .option('--cursor <cursor>', 'continue from a previous page')
      .option('--json', 'print the page as JSON')

  listOptions(
    program
      .command('alerts')
      .description('list alerts, newest first')
      .option('--rule-id <id>', 'only this rule')
      .option(
        '--level <level>',
        'this level or worse (informational, low, medium, high, critical)',
      ),
  ).action(async (options: Record<string, string | boolean>) => {
    const page = await client().request<Page<AlertRow>>('GET', '/v1/alerts', {
      query: { ...pageQuery(options), rule_id: options.ruleId, level: options.level },
    })
    if (options.json) return printJson(page)
    if (page.items.length === 0) return printNone('alerts')
    for (const a of page.items) {
      process.stdout.write(
        `${a['@timestamp']}  ${a.level.padEnd(8)}  ${a.rule.title}  ` +
          `${a.entity.kind}=${a.entity.value}  (${a.event_ids.length} events)\n`,
      )
    }
    printFooter(page)
  })

  listOptions(program.command('events').description('list stored events, newest first')).action(
    async (options: Record<string, string | boolean>) => {
      const page = await client().request<Page<PalisadeEvent>>('GET', '/v1/events', {
        query: pageQuery(options),
      })
      if (options.json) return printJson(page)
      if (page.items.length === 0) return printNone('events')
      for (const e of page.items) process.stdout.write(`${eventLine(e)}\n`)
      printFooter(page)
    },
  )

  const dead = program.command('dead-letters').description('records that could not be stored')
  listOptions(dead.command('list').description('list dead letters, newest first'))
    .option('--status <status>', 'pending, replayed or failed_again')
    .action(async (options: Record<string, string | boolean>) => {
      const page = await client().request<Page<Record<string, string>>>('GET', '/v1/dead-letters', {
        query: { ...pageQuery(options), status: options.status },
      })
      if (options.json) return printJson(page)
      if (page.items.length === 0) return printNone('dead letters')
      for (const d of page.items) {
        process.stdout.write(`${d.received}  ${d.id}  ${d.status}  ${d.format}  ${d.reason}\n`)
      }
      printFooter(page)
    })
  dead
    .command('replay')
    .description('run dead letters through the pipeline again (by id, or the oldest pending)')
    .argument('[id...]', 'dead letter ids')
    .option('--limit <n>', 'without ids: how many pending ones', '100')
    .option('--json', 'print the result as JSON')
    .action(async (ids: string[], options: { limit: string; json?: boolean }) => {
      const body = ids.length ? { ids } : { limit: Number(options.limit) }
      const result = await client().request<{ replayed: number; failed_again: number }>(
        'POST',
        '/v1/dead-letters/replay',
        { body },
      )
      if (options.json) return printJson(result)
      process.stdout.write(`${result.replayed} replayed, ${result.failed_again} failed again\n`)
    })

  const tokens = program.command('tokens').description('API tokens (needs an admin token)')
  tokens
    .command('create')
    .description('make a token; it is printed once')
    .requiredOption('--name <name>', 'what the token is for')
    .option('--scope <scope...>', 'ingest, read, decide, admin', ['read'])
    .option('--json', 'print as JSON')
    .action(async (options: { name: string; scope: string[]; json?: boolean }) => {
      const made = await client().request<{ id: string; token: string }>('POST', '/v1/tokens', {
        body: { name: options.name, scopes: options.scope },
      })
      if (options.json) return printJson(made)
      process.stdout.write(`${made.token}\n(id ${made.id}; this is the only time it is shown)\n`)
    })
  tokens
    .command('list')
    .option('--json', 'print as JSON')
    .action(async (options: { json?: boolean }) => {
      const list = await client().request<{
        items: { id: string; name: string; scopes: string[] }[]
      }>('GET', '/v1/tokens')
      if (options.json) return printJson(list)
      for (const t of list.items)
        process.stdout.write(`${t.id}  ${t.scopes.join(',')}  ${t.name}\n`)
    })
  tokens
    .command('revoke')
    .argument('<id>', 'token id')
    .action(async (id: string) => {
      await client().request('DELETE', `/v1/tokens/${encodeURIComponent(id)}`)
      process.stdout.write(`revoked ${id}\n`)
    })
}

function pageQuery(options: Record<string, string | boolean>) {
  return {
    from: options.from,
    to: options.to,
    q: options.q,
    limit: options.limit,
    cursor: options.cursor,
  }
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`)
}

function printNone(what: string): void {
  process.stdout.write(`no ${what} match\n`)
}

/** One line an event: time, what happened, the id to fetch it by, and its message. */
function eventLine(e: PalisadeEvent): string {
  const what =
    [e.event?.dataset, e.event?.action, e.event?.outcome].filter(Boolean).join('/') ||
    (e.log?.syslog?.appname ?? '')
  const host = e.host?.name ?? e.host?.hostname
  const who = [e.user?.name, e.source?.ip, host].filter(Boolean).join(' ')
  const text = String(e.message ?? '')
    .replace(/\s+/g, ' ')
    .slice(0, 100)
  return `${e['@timestamp']}  ${e.id}  ${what || '-'}  ${who || '-'}  ${text}`
}

function printFooter(page: Page<unknown>): void {
  if (page.next_cursor) process.stdout.write(`more: --cursor ${page.next_cursor}\n`)
}
