import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'

import { repoRoot } from './test-engine.ts'

/**
 * Embedded ClickHouse (chDB) is one process per data path, and there is no ClickHouse server
 * on these machines. So that several Palisade processes (two workers and a gateway) can share
 * one store in a test, this helper runs chDB in its own process and puts a minimal front on
 * it that speaks the part of ClickHouse's HTTP interface `@clickhouse/client` uses: the SQL in
 * the body (or, for an insert, in `?query=` with the rows in the body), `param_*` query
 * parameters, settings as URL parameters, and errors as `Code: N. DB::Exception: ...` with
 * status 500. The SQL runs in real ClickHouse; only the HTTP wire is this front, not
 * ClickHouse's own server.
 */
export interface SharedClickHouse {
  /** For `PALISADE_CLICKHOUSE_URL`. */
  url: string
  stop(): Promise<void>
}

/**
 * @param port 0 for one the OS picks; the port of a stopped instance to bring the same store
 *   back where its clients expect it
 */
export async function startSharedClickHouse(dataDir: string, port = 0): Promise<SharedClickHouse> {
  const child: ChildProcess = spawn(
    process.execPath,
    [join(repoRoot, 'bin', 'run-ts.js'), fileURLToPath(import.meta.url), dataDir, String(port)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      const match = /^listening (http:\/\/\S+)$/m.exec(stdout)
      if (match) resolve(match[1]!)
    })
    child.once('exit', (code) =>
      reject(new Error(`the shared ClickHouse exited with ${code}:\n${stderr}`)),
    )
  })
  return {
    url,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      await exited
    },
  }
}

/** Parameters of the HTTP interface that are not settings. */
const notSettings = new Set([
  'query',
  'query_id',
  'database',
  'session_id',
  'role',
  'default_format',
  'wait_end_of_query',
  'enable_http_compression',
])

async function serve(dataDir: string, port: number): Promise<void> {
  const { createChdbConnection } = await import('chdb/connection')
  const connection = createChdbConnection({ path: join(dataDir, 'clickhouse') })

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://localhost')
    if (url.pathname === '/ping') return void response.end('Ok.\n')
    const chunks: Buffer[] = []
    for await (const chunk of request) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks).toString('utf8')

    const queryParams: Record<string, string> = {}
    const settings: Record<string, string> = {}
    for (const [name, value] of url.searchParams) {
      if (name.startsWith('param_')) queryParams[name.slice('param_'.length)] = value
      else if (!notSettings.has(name)) settings[name] = value
    }
    const common = {
      query_id: url.searchParams.get('query_id') ?? undefined,
      clickhouse_settings: settings,
      ...(Object.keys(queryParams).length > 0 ? { query_params: queryParams } : {}),
    }
    try {
      const insert = url.searchParams.get('query')
      if (insert) {
        await connection.insert({ ...common, query: insert, values: body } as never)
        response.end()
        return
      }
      const result = await connection.exec({ ...common, query: body } as never)
      Readable.from(result.stream as AsyncIterable<Buffer>).pipe(response)
    } catch (error) {
      const e = error as { code?: string; type?: string; message?: string }
      const code = /^\d+$/.test(e.code ?? '') ? e.code! : '1002'
      response.statusCode = 500
      response.setHeader('x-clickhouse-exception-code', code)
      response.end(`Code: ${code}. DB::Exception: ${e.message}. (${e.type ?? 'UNKNOWN_EXCEPTION'})`)
    }
  }

  const server = createServer((request, response) => void handle(request, response))
  server.listen(port, '127.0.0.1', () => {
    const address = server.address() as { port: number }
    process.stdout.write(`listening http://127.0.0.1:${address.port}\n`)
  })
  process.once('SIGTERM', () => {
    server.close()
    void connection.close().finally(() => process.exit(0))
  })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await serve(process.argv[2]!, Number(process.argv[3] ?? 0))
}
