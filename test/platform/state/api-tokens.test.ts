import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import {
  countTokens,
  createToken,
  findToken,
  listTokens,
  revokeToken,
} from '../../../platform/state/api-tokens.ts'
import { openStateStore } from '../../../platform/state/state-store.ts'
import type { StateStore } from '../../../platform/state/state-store.ts'

const dataDir = mkdtempSync(join(tmpdir(), 'palisade-state-'))
let state: StateStore

beforeAll(async () => {
  state = await openStateStore({ dataDir })
})

afterAll(async () => {
  await state.close()
  rmSync(dataDir, { recursive: true, force: true })
})

describe('API tokens in the SQLite state store', () => {
  it('finds a token it made, with its scopes, and stores only its hash', async () => {
    const { token, record } = await createToken(state.db, 'ingester', ['ingest'])
    expect(token).toMatch(/^pal_[A-Za-z0-9_-]{43}$/)
    expect(await findToken(state.db, token)).toMatchObject({ id: record.id, scopes: ['ingest'] })

    const rows = await state.db.selectFrom('api_tokens').selectAll().execute()
    expect(JSON.stringify(rows)).not.toContain(token)
  })

  it('does not find an unknown or revoked token', async () => {
    expect(await findToken(state.db, 'pal_unknown')).toBeNull()
    const { token, record } = await createToken(state.db, 'short-lived', ['read'])
    expect(await revokeToken(state.db, record.id)).toBe(true)
    expect(await findToken(state.db, token)).toBeNull()
    expect(await revokeToken(state.db, record.id)).toBe(false)
    expect((await listTokens(state.db)).map((t) => t.id)).not.toContain(record.id)
  })

  it('keeps tokens across a reopen, with migrations applied once', async () => {
    const before = await countTokens(state.db)
    await state.close()
    state = await openStateStore({ dataDir })
    expect(await countTokens(state.db)).toBe(before)
  })
})
