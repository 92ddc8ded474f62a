import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { verifyCheckpoint } from '../../audit/checkpoint.ts'
import type { Checkpoint } from '../../audit/checkpoint.ts'
import { leafHash, verifyConsistency, verifyInclusion } from '../../audit/merkle/index.ts'
import { readAuditRows } from '../../platform/clickhouse/audit-repository.ts'
import { startTestEngine } from '../helpers/test-engine.ts'
import type { TestEngine } from '../helpers/test-engine.ts'

let palisade: TestEngine
/** Entries the start itself recorded (admin token, checkpoint key, engine.start). */
let atStart: number

interface CheckpointItem extends Checkpoint {
  status: string
  signature: string
}

const bytes = (hex: string) => new Uint8Array(Buffer.from(hex, 'hex'))

async function createTokens(count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const made = await palisade.request('POST', '/v1/tokens', {
      body: { name: `reader ${i}`, scopes: ['read'] },
    })
    expect(made.status).toBe(201)
  }
}

async function signedCheckpoints(): Promise<CheckpointItem[]> {
  const listed = await palisade.request('GET', '/v1/audit/checkpoints')
  expect(listed.status).toBe(200)
  return (listed.body.items as CheckpointItem[]).filter((c) => c.status === 'signed')
}

beforeAll(async () => {
  palisade = await startTestEngine({ audit: { checkpoint: { everyEntries: 3 } } })
  // Ticks are driven by the test, so which sizes get signed does not depend on timing.
  await palisade.engine.checkpointer.stop()

  // The first start audited itself (atStart entries), then 3 more make a checkpoint due.
  atStart = palisade.engine.audit.size()
  await createTokens(3)
  expect(await palisade.engine.checkpointer.tick()).toBe('signed')
  await createTokens(2)
  expect(await palisade.engine.checkpointer.tick()).toBe('idle')
  await createTokens(1)
  expect(await palisade.engine.checkpointer.tick()).toBe('signed')
})

afterAll(async () => {
  await palisade?.close()
})

describe('the audit API', () => {
  it('lists checkpoints newest first, and each verifies with the published public key', async () => {
    const key = await palisade.request('GET', '/v1/audit/public-key')
    expect(key.status).toBe(200)
    expect(key.body).toMatchObject({ signer_kind: 'software', algorithm: 'ecdsa-p256-sha256' })
    expect(key.body.fingerprint).toMatch(/^[0-9a-f]{64}$/)

    const [newest, older] = await signedCheckpoints()
    expect(newest!.tree_size).toBe(atStart + 6)
    expect(older!.tree_size).toBe(atStart + 3)
    for (const item of [newest!, older!]) {
      const verdict = verifyCheckpoint(item, item.signature, key.body.public_key_pem)
      expect(verdict).toEqual({
        valid: true,
        signer_kind: 'software',
        key_fingerprint: key.body.fingerprint,
      })
    }

    const limited = await palisade.request('GET', '/v1/audit/checkpoints?limit=1')
    expect(limited.body.items).toHaveLength(1)
    expect(limited.body.items[0].tree_size).toBe(atStart + 6)
  })

  it('gives an inclusion proof that verifies against a signed checkpoint root', async () => {
    const [checkpoint] = await signedCheckpoints()
    const index = 2
    const answer = await palisade.request(
      'GET',
      `/v1/audit/proofs/inclusion?index=${index}&tree_size=${checkpoint!.tree_size}`,
    )
    expect(answer.status).toBe(200)
    expect(answer.body.root_hash).toBe(checkpoint!.root_hash)

    // The leaf hash is the hash of the stored entry, not just a number the API made up.
    const [row] = await readAuditRows(palisade.engine.store, index, index + 1)
    const expectedLeaf = Buffer.from(leafHash(Buffer.from(row!.entry, 'utf8'))).toString('hex')
    expect(answer.body.leaf_hash).toBe(expectedLeaf)

    expect(() =>
      verifyInclusion({
        leafIndex: index,
        treeSize: checkpoint!.tree_size,
        leafHash: bytes(answer.body.leaf_hash),
        proof: (answer.body.proof as string[]).map(bytes),
        root: bytes(checkpoint!.root_hash),
      }),
    ).not.toThrow()
  })

  it('gives a consistency proof between two signed checkpoints that verifies', async () => {
    const [newer, older] = await signedCheckpoints()
    const answer = await palisade.request(
      'GET',
      `/v1/audit/proofs/consistency?from=${older!.tree_size}&to=${newer!.tree_size}`,
    )
    expect(answer.status).toBe(200)
    expect(answer.body.from_root_hash).toBe(older!.root_hash)
    expect(answer.body.to_root_hash).toBe(newer!.root_hash)

    expect(() =>
      verifyConsistency({
        size1: older!.tree_size,
        size2: newer!.tree_size,
        root1: bytes(older!.root_hash),
        root2: bytes(newer!.root_hash),
        proof: (answer.body.proof as string[]).map(bytes),
      }),
    ).not.toThrow()
  })

  it('answers 400 for sizes beyond the log, saying the log size', async () => {
    const size = palisade.engine.audit.size()
    const inclusion = await palisade.request(
      'GET',
      `/v1/audit/proofs/inclusion?index=0&tree_size=${size + 1}`,
    )
    expect(inclusion.status).toBe(400)
    expect(inclusion.body.error.code).toBe('PAL_PROOF_SIZE_BEYOND_LOG')
    expect(inclusion.body.error.message).toContain(`log's size ${size}, got ${size + 1}`)

    const consistency = await palisade.request(
      'GET',
      `/v1/audit/proofs/consistency?from=1&to=${size + 10}`,
    )
    expect(consistency.status).toBe(400)
    expect(consistency.body.error.code).toBe('PAL_PROOF_SIZE_BEYOND_LOG')
  })

  it('answers 400 for an index not below the tree size, sizes out of order, or not numbers', async () => {
    const cases = [
      '/v1/audit/proofs/inclusion?index=4&tree_size=4',
      '/v1/audit/proofs/inclusion?index=0&tree_size=0',
      '/v1/audit/proofs/consistency?from=5&to=4',
      '/v1/audit/proofs/consistency?from=0&to=4',
      '/v1/audit/proofs/consistency?from=abc&to=4',
    ]
    for (const path of cases) {
      const answer = await palisade.request('GET', path)
      expect(answer.status, path).toBe(400)
      expect(answer.body.error.message, path).toMatch(/expected/)
    }
  })

  it('exports the signer failure counter for alerting', async () => {
    const metrics = await palisade.request('GET', '/metrics')
    expect(metrics.body).toContain('# TYPE palisade_audit_signer_failures_total counter')
  })

  it('refuses callers without a token', async () => {
    const answer = await palisade.request('GET', '/v1/audit/public-key', { token: null })
    expect(answer.status).toBe(401)
  })
})
