import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll } from 'vitest'

import { openStateStore } from '../../platform/state/state-store.ts'
import type { StateStore } from '../../platform/state/state-store.ts'
import { findPostgresBin, startPostgres } from './postgres.ts'
import type { TestPostgres } from './postgres.ts'

/**
 * The two state stores a test file runs its cases on, for `describe.each`: SQLite in a fresh
 * folder, and PostgreSQL started on first use (one server for the file). Both are cleaned up
 * after the file. CI installs Debian's postgresql (.ci/run), so there a missing server is an
 * error; elsewhere `postgres` is false and the PostgreSQL cases should be skipped.
 * Call at the top level of a test file.
 */
export function bothStateStores(name: string): {
  stores: [string, () => Promise<StateStore>][]
  postgres: boolean
} {
  const bin = findPostgresBin()
  if (!bin && process.env.CI) throw new Error('CI must have PostgreSQL: .ci/run installs it')

  const dir = mkdtempSync(join(tmpdir(), `palisade-${name}-`))
  let server: TestPostgres | undefined
  afterAll(async () => {
    await server?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  return {
    postgres: bin !== undefined,
    stores: [
      ['SQLite', () => openStateStore({ dataDir: dir })],
      [
        'PostgreSQL',
        async () => {
          server ??= await startPostgres(bin!)
          return openStateStore({ url: server.url, dataDir: '/nonexistent' })
        },
      ],
    ],
  }
}
