import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, describe, expect, it } from 'vitest'

import { listDisabledRules, setRuleDisabled } from '../../../platform/state/disabled-rules.ts'
import { openStateStore } from '../../../platform/state/state-store.ts'
import type { StateStore } from '../../../platform/state/state-store.ts'
import { findPostgresBin, startPostgres } from '../../helpers/postgres.ts'
import type { TestPostgres } from '../../helpers/postgres.ts'

// CI installs Debian's postgresql (.ci/run); without it the PostgreSQL half is skipped.
const bin = findPostgresBin()
if (!bin && process.env.CI) throw new Error('CI must have PostgreSQL: .ci/run installs it')

const dir = mkdtempSync(join(tmpdir(), 'palisade-disabled-rules-'))
let postgres: TestPostgres | undefined

afterAll(async () => {
  await postgres?.stop()
  rmSync(dir, { recursive: true, force: true })
})

const stores: [string, () => Promise<StateStore>][] = [
  ['SQLite', () => openStateStore({ dataDir: dir })],
  [
    'PostgreSQL',
    async () => {
      postgres ??= await startPostgres(bin!)
      return openStateStore({ url: postgres.url, dataDir: '/nonexistent' })
    },
  ],
]

describe.each(stores)('rules turned off, kept in the state store on %s', (kind, open) => {
  it.skipIf(kind === 'PostgreSQL' && !bin)(
    'keeps each rule turned off once, forgets it when turned on, and survives a reopen',
    async () => {
      const state = await open()
      try {
        await setRuleDisabled(state.db, 'rule-a', true, 'token:1')
        await setRuleDisabled(state.db, 'rule-b', true, 'token:1')
        await setRuleDisabled(state.db, 'rule-a', true, 'token:2')
        await setRuleDisabled(state.db, 'rule-b', false, 'token:2')
        await setRuleDisabled(state.db, 'never-off', false, 'token:2')
        expect((await listDisabledRules(state.db)).sort()).toEqual(['rule-a'])
        const row = await state.db.selectFrom('disabled_rules').selectAll().executeTakeFirst()
        expect(row?.disabled_by).toBe('token:1')
      } finally {
        await state.close()
      }
      const again = await open()
      try {
        expect(await listDisabledRules(again.db)).toEqual(['rule-a'])
      } finally {
        await again.close()
      }
    },
  )
})
