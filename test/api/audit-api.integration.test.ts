import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { readAuditRows } from '../../platform/clickhouse/audit-repository.ts'
import { startTestEngine } from '../helpers/test-engine.ts'
import type { TestEngine } from '../helpers/test-engine.ts'

let palisade: TestEngine

beforeAll(async () => {
  palisade = await startTestEngine()
})

afterAll(async () => {
  await palisade?.close()
})

/** Every stored audit entry's text, in index order. */
async function auditTexts(): Promise<string[]> {
  const rows = await readAuditRows(palisade.engine.store, 0, Number.MAX_SAFE_INTEGER)
  return rows.map((r) => r.entry)
}

describe('the API audits what it changes', () => {
  it('audits the first start, which made the admin token, without the token', async () => {
    const [first] = await auditTexts()
    expect(JSON.parse(first!)).toMatchObject({
      index: 0,
      actor: { kind: 'system' },
      action: 'token.create',
      outcome: 'success',
    })
    expect(first).not.toContain(palisade.adminToken)
  })

  it('audits a token created through the API by the calling token, never the new token', async () => {
    const before = palisade.engine.audit.size()
    const made = await palisade.request('POST', '/v1/tokens', {
      body: { name: 'ci reader', scopes: ['read'] },
    })
    expect(made.status).toBe(201)
    expect(palisade.engine.audit.size()).toBe(before + 1)

    const texts = await auditTexts()
    const entry = JSON.parse(texts[before]!)
    const caller = (await palisade.request('GET', '/v1/tokens')).body.items.find(
      (t: { name: string }) => t.name === 'admin (first start)',
    )
    expect(entry).toMatchObject({
      index: before,
      actor: { kind: 'token', id: caller.id },
      action: 'token.create',
      target: { kind: 'token', id: made.body.id },
      outcome: 'success',
      details: { name: 'ci reader', scopes: 'read' },
    })
    expect(entry.source.ip).toBeTruthy()
    for (const text of texts) {
      expect(text).not.toContain(made.body.token)
      expect(text).not.toContain(palisade.adminToken)
    }
  })

  it('audits a revocation, and a refused one as a failure', async () => {
    const made = await palisade.request('POST', '/v1/tokens', {
      body: { name: 'short-lived', scopes: ['ingest'] },
    })
    expect((await palisade.request('DELETE', `/v1/tokens/${made.body.id}`)).status).toBe(204)
    expect((await palisade.request('DELETE', `/v1/tokens/${made.body.id}`)).status).toBe(404)

    const [revoked, refused] = (await auditTexts()).slice(-2).map((t) => JSON.parse(t))
    expect(revoked).toMatchObject({ action: 'token.revoke', outcome: 'success' })
    expect(revoked.target).toEqual({ kind: 'token', id: made.body.id })
    expect(refused).toMatchObject({
      action: 'token.revoke',
      outcome: 'failure',
      details: { code: 'PAL_NOT_FOUND' },
    })
  })

  it('audits a dead-letter replay with its counts', async () => {
    const res = await palisade.request('POST', '/v1/dead-letters/replay', { body: {} })
    expect(res.status).toBe(200)
    const last = JSON.parse((await auditTexts()).at(-1)!)
    expect(last).toMatchObject({
      action: 'dead_letter.replay',
      outcome: 'success',
      details: { requested: 0, replayed: 0, failed_again: 0 },
    })
  })
})
