import { execFileSync, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

/** Where Debian's PostgreSQL server binaries are, if the `postgresql` package is installed. */
export function findPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a))
  for (const v of versions) {
    const bin = join(root, v, 'bin')
    if (existsSync(join(bin, 'initdb'))) return bin
  }
  return undefined
}

export interface TestPostgres {
  url: string
  stop(): Promise<void>
}

/**
 * Starts a throwaway PostgreSQL server on a spare loopback port, in a temporary folder. The
 * server refuses to run as root, so when the tests run as root it runs as `postgres`.
 */
export async function startPostgres(bin: string): Promise<TestPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-pg-'))
  const asRoot = process.getuid?.() === 0
  const uid = asRoot ? Number(execFileSync('id', ['-u', 'postgres']).toString().trim()) : undefined
  const gid = asRoot ? Number(execFileSync('id', ['-g', 'postgres']).toString().trim()) : undefined
  if (asRoot) chownSync(dir, uid!, gid!)
  const data = join(dir, 'data')
  execFileSync(join(bin, 'initdb'), ['-D', data, '-U', 'palisade', '--auth=trust', '-E', 'UTF8'], {
    uid,
    gid,
    stdio: 'ignore',
  })

  const port = 20000 + Math.floor(Math.random() * 20000)
  const server: ChildProcess = spawn(
    join(bin, 'postgres'),
    ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1'],
    { uid, gid, stdio: 'ignore' },
  )
  const url = `postgres://palisade@127.0.0.1:${port}/postgres`
  const { default: pg } = await import('pg')
  for (let attempt = 0; ; attempt++) {
    const client = new pg.Client({ connectionString: url })
    try {
      await client.connect()
      await client.end()
      break
    } catch (error) {
      await client.end().catch(() => undefined)
      if (attempt > 100 || server.exitCode !== null) throw error
      await sleep(100)
    }
  }
  return {
    url,
    async stop() {
      server.kill('SIGTERM')
      await new Promise((resolve) => server.once('exit', resolve))
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
