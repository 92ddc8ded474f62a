import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { AuditEntryInput } from '../../audit/audit-log.ts'
import { leafHash, rootHash, verifyConsistency, verifyInclusion } from '../../audit/merkle/index.ts'
import { openAuditLog } from '../../audit/merkle-audit-log.ts'
import type { MerkleAuditLog } from '../../audit/merkle-audit-log.ts'
import { openAnalyticsStore } from '../../platform/clickhouse/analytics-store.ts'
import type { AnalyticsStore } from '../../platform/clickhouse/analytics-store.ts'
import { readAuditRows } from '../../platform/clickhouse/audit-repository.ts'
import { ValidationError } from '../../platform/errors.ts'
import { canonicalJson } from '../../platform/event-id.ts'
import { readAuditTree, writeAuditTree } from '../../platform/state/audit-tree.ts'
import { openStateStore } from '../../platform/state/state-store.ts'
import type { StateStore } from '../../platform/state/state-store.ts'

const dataDir = mkdtempSync(join(tmpdir(), 'palisade-audit-'))
let store: AnalyticsStore
let state: StateStore
let log: MerkleAuditLog

beforeAll(async () => {
  store = await openAnalyticsStore({ database: 'palisade', dataDir, eventDays: 30 })
  state = await openStateStore({ dataDir })
  log = await openAuditLog({ store, state })
})

afterAll(async () => {
  await state?.close()
  await store?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

function entry(i: number): AuditEntryInput {
  return {
    actor: { kind: 'token', id: `actor-${i % 3}` },
    action: 'token.create',
    target: { kind: 'token', id: `token-${i}` },
    outcome: 'success',
    details: { n: i },
  }
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')

async function storedLeaves(): Promise<Uint8Array[]> {
  const rows = await readAuditRows(store, 0, Number.MAX_SAFE_INTEGER)
  return rows.map((r) => new Uint8Array(Buffer.from(r.leaf_hash, 'hex')))
}

describe('the Merkle audit log', () => {
  const N = 37

  it('stores entries with no TTL on the table', async () => {
    const result = await store.client.query({
      query: `SHOW CREATE TABLE ${store.database}.audit_entries`,
      format: 'TabSeparatedRaw',
    })
    const ddl = await result.text()
    expect(ddl).toContain('ORDER BY idx')
    expect(ddl).not.toMatch(/TTL/i)
  })

  it('appends concurrent records in order, each leaf the hash of its canonical entry', async () => {
    const receipts = await Promise.all(Array.from({ length: N }, (_, i) => log.record(entry(i))))
    expect(receipts.map((r) => r.index)).toEqual(Array.from({ length: N }, (_, i) => i))
    expect(log.size()).toBe(N)

    const rows = await readAuditRows(store, 0, N)
    expect(rows).toHaveLength(N)
    for (const [i, row] of rows.entries()) {
      const stored = JSON.parse(row.entry)
      expect(stored).toMatchObject({ v: 1, index: i, ...entry(i) })
      expect(row.entry).toBe(canonicalJson(stored))
      expect(row.leaf_hash).toBe(hex(leafHash(Buffer.from(row.entry, 'utf8'))))
      expect(receipts[i]!.leaf_hash).toBe(row.leaf_hash)
      // The log sets the time; ClickHouse keeps it to the millisecond.
      expect(new Date(`${row.time}Z`).toISOString()).toBe(stored.time)
    }
  })

  it('has the root of RFC 9162 over the stored leaf hashes, in the state store too', async () => {
    const leaves = await storedLeaves()
    expect(hex(log.root())).toBe(hex(rootHash(leaves)))
    expect(JSON.parse((await readAuditTree(state.db))!).size).toBe(N)
  })

  it('serves an inclusion proof for every entry and consistency proofs that verify', async () => {
    const leaves = await storedLeaves()
    const root = log.root()
    for (let i = 0; i < N; i++) {
      const proof = await log.proofs.inclusionProof(i, N)
      verifyInclusion({ leafIndex: i, treeSize: N, leafHash: leaves[i]!, proof, root })
    }
    for (const size1 of [1, 7, 16, 20, N]) {
      const proof = await log.proofs.consistencyProof(size1, N)
      const root1 = rootHash(leaves.slice(0, size1))
      expect(hex(await log.proofs.rootHash(size1))).toBe(hex(root1))
      verifyConsistency({ size1, size2: N, root1, root2: root, proof })
    }
  })

  it('refuses an entry with a secret-looking detail and gives it no index', async () => {
    const before = log.size()
    await expect(
      log.record({ ...entry(0), details: { password: 'hunter2' } }),
    ).rejects.toBeInstanceOf(ValidationError)
    expect(log.size()).toBe(before)
    expect((await log.record(entry(99))).index).toBe(before)
  })

  it('replays entries stored after the frontier was last written when it opens', async () => {
    // A crash between the entry insert and the frontier update: the state store is stale.
    const stale = await readAuditTree(state.db)
    const staleSize = JSON.parse(stale!).size as number
    await log.record(entry(100))
    await log.record(entry(101))
    await writeAuditTree(state.db, staleSize, stale!)

    // And a crash right after an insert made by another run: a row the frontier never saw.
    const size = staleSize + 2
    const text = canonicalJson({ v: 1, index: size, time: new Date().toISOString(), ...entry(102) })
    await store.client.insert({
      table: `${store.database}.audit_entries`,
      values: [
        {
          idx: size,
          time: new Date().toISOString(),
          entry: text,
          leaf_hash: hex(leafHash(Buffer.from(text, 'utf8'))),
        },
      ],
      format: 'JSONEachRow',
    })

    const reopened = await openAuditLog({ store, state })
    expect(reopened.size()).toBe(size + 1)
    const leaves = await storedLeaves()
    expect(leaves).toHaveLength(size + 1)
    expect(hex(reopened.root())).toBe(hex(rootHash(leaves)))
    expect(JSON.parse((await readAuditTree(state.db))!).size).toBe(size + 1)

    const next = await reopened.record(entry(103))
    expect(next.index).toBe(size + 1)
    log = reopened
  })

  it('refuses to open when the frontier is ahead of the stored entries', async () => {
    const saved = (await readAuditTree(state.db))!
    await writeAuditTree(state.db, 0, JSON.stringify({ size: 1024, hashes: ['00'.repeat(32)] }))
    await expect(openAuditLog({ store, state })).rejects.toMatchObject({
      code: 'PAL_AUDIT_LOG_INCONSISTENT',
    })
    await writeAuditTree(state.db, JSON.parse(saved).size, saved)
  })
})
