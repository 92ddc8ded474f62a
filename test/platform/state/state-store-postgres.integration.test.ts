import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { createToken, findToken, revokeToken } from '../../../platform/state/api-tokens.ts'
import { readAuditTree, writeAuditTree } from '../../../platform/state/audit-tree.ts'
import { openStateStore } from '../../../platform/state/state-store.ts'
import type { StateStore } from '../../../platform/state/state-store.ts'
import { findPostgresBin, startPostgres } from '../../helpers/postgres.ts'
import type { TestPostgres } from '../../helpers/postgres.ts'

// CI installs Debian's postgresql (.ci/run); a developer machine without it skips this file
// with the reason printed, rather than failing on something the project does not control.
const bin = findPostgresBin()
if (!bin && process.env.CI) throw new Error('CI must have PostgreSQL: .ci/run installs it')

describe.skipIf(!bin)('the state store on PostgreSQL (skipped without Debian postgresql)', () => {
  let postgres: TestPostgres
  let state: StateStore

  beforeAll(async () => {
    postgres = await startPostgres(bin!)
    state = await openStateStore({ url: postgres.url, dataDir: '/nonexistent' })
  })

  afterAll(async () => {
    await state?.close()
    await postgres?.stop()
  })

  it('runs the same migrations and token queries as on SQLite', async () => {
    expect(state.kind).toBe('postgres')
    const { token, record } = await createToken(state.db, 'pg', ['read', 'ingest'])
    expect(await findToken(state.db, token)).toMatchObject({ scopes: ['read', 'ingest'] })
    expect(await revokeToken(state.db, record.id)).toBe(true)
    expect(await findToken(state.db, token)).toBeNull()
  })

  it('keeps one audit tree row, replaced on each write, with a size past 2^31', async () => {
    expect(await readAuditTree(state.db)).toBeNull()
    await writeAuditTree(state.db, 1, '{"size":1}')
    await writeAuditTree(state.db, 2 ** 40, '{"size":1099511627776}')
    expect(await readAuditTree(state.db)).toBe('{"size":1099511627776}')
    const rows = await state.db.selectFrom('audit_tree').select('size').execute()
    expect(rows.map((r) => Number(r.size))).toEqual([2 ** 40])
  })

  it('applies migrations once when opened again', async () => {
    const again = await openStateStore({ url: postgres.url, dataDir: '/nonexistent' })
    const tables = await again.db
      .selectFrom('api_tokens')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirst()
    expect(Number(tables?.n)).toBeGreaterThan(0)
    await again.close()
  })
})
