import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

import Fastify from 'fastify'
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { handleError } from '../../api/error-handler.ts'
import { auditExportRoutes } from '../../api/routes/audit-routes.ts'
import { Checkpointer } from '../../audit/checkpointer.ts'
import { EXPORT_FILES } from '../../audit/export/export-format.ts'
import { clickHouseEntryReader, ExportJobs } from '../../audit/export/export-jobs.ts'
import type { ExportStatus } from '../../audit/export/export-jobs.ts'
import { verifyAuditExport } from '../../audit/export/verify-export.ts'
import type { CheckpointSigner } from '../../audit/signers/checkpoint-signer.ts'
import { HsmError } from '../../audit/signers/hsm-error.ts'
import { readAuditRows } from '../../platform/clickhouse/audit-repository.ts'
import { repoRoot, startTestEngine } from '../helpers/test-engine.ts'
import type { TestEngine } from '../helpers/test-engine.ts'

let palisade: TestEngine
let readToken: string
const work = mkdtempSync(join(tmpdir(), 'palisade-export-test-'))

beforeAll(async () => {
  palisade = await startTestEngine({ audit: { checkpoint: { everyEntries: 4 } } })
  const reader = await palisade.request('POST', '/v1/tokens', {
    body: { name: 'dashboards', scopes: ['read'] },
  })
  readToken = reader.body.token
  for (let i = 0; i < 3; i++) {
    const made = await palisade.request('POST', '/v1/tokens', {
      body: { name: `short-lived ${i}`, scopes: ['ingest'] },
    })
    expect((await palisade.request('DELETE', `/v1/tokens/${made.body.id}`)).status).toBe(204)
  }
})

afterAll(async () => {
  await palisade?.close()
  rmSync(work, { recursive: true, force: true })
})

async function auditEntries(): Promise<Record<string, any>[]> {
  const rows = await readAuditRows(palisade.engine.store, 0, Number.MAX_SAFE_INTEGER)
  return rows.map((row) => JSON.parse(row.entry))
}

async function finished(id: string): Promise<ExportStatus> {
  for (let i = 0; i < 600; i++) {
    const answer = await palisade.request('GET', `/v1/audit/exports/${id}`)
    expect(answer.status).toBe(200)
    if (answer.body.state !== 'running') return answer.body
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`export ${id} did not finish`)
}

/** Downloads every file of an export over the API, byte for byte, into a new folder. */
async function download(id: string): Promise<string> {
  const dir = join(work, `download-${id}`)
  mkdirSync(dir)
  for (const name of Object.values(EXPORT_FILES)) {
    const response = await fetch(`${palisade.url}/v1/audit/exports/${id}/files/${name}`, {
      headers: { authorization: `Bearer ${palisade.adminToken}` },
    })
    expect(response.status, name).toBe(200)
    writeFileSync(join(dir, name), Buffer.from(await response.arrayBuffer()))
  }
  return dir
}

async function exportRange(body: object): Promise<{ status: ExportStatus; dir: string }> {
  const started = await palisade.request('POST', '/v1/audit/exports', { body })
  expect(started.status, JSON.stringify(started.body)).toBe(202)
  const status = await finished(started.body.id)
  expect(status.state, JSON.stringify(status.error)).toBe('done')
  return { status, dir: await download(started.body.id) }
}

describe('audit exports over the API', () => {
  it('exports the whole log, audited before it answers, in a folder that verifies', async () => {
    const size = palisade.engine.audit.size()
    const started = await palisade.request('POST', '/v1/audit/exports', { body: {} })
    expect(started.status).toBe(202)
    expect(started.body.status).toBe(`/v1/audit/exports/${started.body.id}`)
    expect(started.body).toMatchObject({
      state: 'running',
      range: { from_index: 0, to_index: size },
      progress: { total: size },
    })
    expect(started.body.anchor_size).toBeGreaterThanOrEqual(size)

    // Recorded before the answer, by the calling token, from its address.
    const entries = await auditEntries()
    const audited = entries.find((e) => e.target?.id === started.body.id)
    const caller = (await palisade.request('GET', '/v1/tokens')).body.items.find(
      (t: { name: string }) => t.name === 'admin (first start)',
    )
    expect(audited).toMatchObject({
      index: size,
      actor: { kind: 'token', id: caller.id },
      action: 'audit.export',
      target: { kind: 'audit_export', id: started.body.id },
      outcome: 'success',
      details: { from_index: 0, to_index: size },
    })
    expect(audited!.source.ip).toBeTruthy()

    const status = await finished(started.body.id)
    expect(status).toMatchObject({
      state: 'done',
      progress: { done: size, total: size },
      files: Object.values(EXPORT_FILES),
      manifest: { export_id: started.body.id, range: { from_index: 0, to_index: size } },
    })
    const dir = await download(started.body.id)
    const key = await palisade.request('GET', '/v1/audit/public-key')
    const verdict = await verifyAuditExport(dir, { expectFingerprint: key.body.fingerprint })
    expect(verdict).toMatchObject({ ok: true })
    const exported = readFileSync(join(dir, 'entries.jsonl'), 'utf8').trimEnd().split('\n')
    expect(exported.map((line) => JSON.parse(line).index)).toEqual([...Array(size).keys()])
    expect(exported.some((line) => line.includes(palisade.adminToken))).toBe(false)

    const listed = await palisade.request('GET', '/v1/audit/exports')
    expect(listed.body.items[0]).toMatchObject({ id: started.body.id, state: 'done' })
  })

  it('has the previous export audited in the next one, which chains onto it', async () => {
    const before = (await palisade.request('GET', '/v1/audit/exports')).body.items[0]
    const { status, dir } = await exportRange({ from: before.range.to_index })
    expect(status.range.from_index).toBe(before.range.to_index)
    expect(await verifyAuditExport(dir)).toMatchObject({ ok: true })
    const first = JSON.parse(readFileSync(join(dir, 'entries.jsonl'), 'utf8').split('\n')[0]!)
    expect(first).toMatchObject({
      index: before.range.to_index,
      action: 'audit.export',
      target: { id: before.id },
    })
    expect(status.manifest!.base?.tree_size).toBeLessThanOrEqual(before.range.to_index)
  })

  it('selects entries by time, at or after from and before to', async () => {
    const entries = await auditEntries()
    const from = entries[2]!.time as string
    const to = new Date(Date.parse(entries.at(-1)!.time) + 1).toISOString()
    const { status, dir } = await exportRange({ from, to })
    const firstAtOrAfter = (t: string) => entries.findIndex((e) => e.time >= t)
    expect(status.range).toEqual({ from_index: firstAtOrAfter(from), to_index: entries.length })
    expect(status.requested).toEqual({ from, to })
    expect(status.manifest!.requested).toEqual({ from, to })
    expect(await verifyAuditExport(dir)).toMatchObject({ ok: true })
  })

  it('answers bad ranges with 400 saying what was expected, what came and where', async () => {
    const badTime = await palisade.request('POST', '/v1/audit/exports', {
      body: { from: '2026-13-01' },
    })
    expect(badTime.status).toBe(400)
    expect(badTime.body.error.code).toBe('PAL_EXPORT_RANGE_INVALID')
    expect(badTime.body.error.message).toMatch(
      /^body\.from: expected an entry index .*RFC 3339 time or date.*, got "2026-13-01"$/,
    )

    const backwards = await palisade.request('POST', '/v1/audit/exports', {
      body: { from: '2026-12-04T00:00:00Z', to: '2026-12-03T00:00:00Z' },
    })
    expect(backwards.status).toBe(400)
    expect(backwards.body.error.message).toMatch(
      /^body\.to: expected a time at or after body\.from/,
    )

    const beyond = await palisade.request('POST', '/v1/audit/exports', {
      body: { to: 1_000_000 },
    })
    expect(beyond.status).toBe(400)
    expect(beyond.body.error.message).toMatch(/^body\.to: expected an entry index at most the log/)

    const unknownField = await palisade.request('POST', '/v1/audit/exports', {
      body: { since: 'monday' },
    })
    expect(unknownField.status).toBe(400)
  })

  it('takes admin tokens only, and 404s unknown exports and file names', async () => {
    const asReader = { token: readToken }
    expect(
      (await palisade.request('POST', '/v1/audit/exports', { ...asReader, body: {} })).status,
    ).toBe(403)
    expect((await palisade.request('GET', '/v1/audit/exports', asReader)).status).toBe(403)
    expect((await palisade.request('GET', '/v1/audit/exports', { token: null })).status).toBe(401)

    const id = (await palisade.request('GET', '/v1/audit/exports')).body.items[0].id
    const missing = await palisade.request('GET', '/v1/audit/exports/0190c8b2-0000-7000-8000-0')
    expect(missing.status).toBe(404)
    for (const name of ['job.json', '..%2F..%2Fadmin-token', '..', `${id}.json`]) {
      const file = await palisade.request('GET', `/v1/audit/exports/${id}/files/${name}`)
      expect(file.status, name).toBe(404)
      expect(JSON.stringify(file.body)).not.toContain(palisade.adminToken)
    }
    const traversal = await palisade.request(
      'GET',
      `/v1/audit/exports/..%2F..%2F/files/admin-token`,
    )
    expect(traversal.status).toBe(404)
  })

  it('documents the export routes in the OpenAPI document', async () => {
    const docs = await palisade.request('GET', '/docs/json')
    expect(docs.status).toBe(200)
    expect(Object.keys(docs.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/audit/exports',
        '/v1/audit/exports/{id}',
        '/v1/audit/exports/{id}/files/{name}',
      ]),
    )
  })

  it('exports with the real CLI into a folder it verifies', async () => {
    const out = join(work, 'cli-out')
    const cli = (args: string[]) =>
      promisify(execFile)(
        process.execPath,
        [join(repoRoot, 'bin', 'palisade.js'), ...args, '--url', palisade.url],
        { env: { ...withoutPalisadeVariables(), PALISADE_TOKEN: palisade.adminToken } },
      )
    const fingerprint = palisade.engine.signer.fingerprint()
    const { stdout, stderr } = await cli([
      ...['audit', 'export', '--from', '1', '--out', out, '--json'],
      ...['--fingerprint', fingerprint],
    ])
    expect(stderr).toMatch(/warning: this export is signed by a software key/)
    const summary = JSON.parse(stdout)
    expect(summary).toMatchObject({
      verified: true,
      range: { from_index: 1 },
      signer_kind: 'software',
      key_fingerprint: fingerprint,
    })
    expect(readdirSync(out).sort()).toEqual(Object.values(EXPORT_FILES).sort())
    expect(await verifyAuditExport(out)).toMatchObject({ ok: true })

    // A folder that holds anything is refused before an export starts.
    const exportsBefore = (await palisade.request('GET', '/v1/audit/exports')).body.items.length
    await expect(cli(['audit', 'export', '--out', out])).rejects.toMatchObject({
      stderr: expect.stringMatching(/--out: expected an empty or new folder/),
    })
    expect((await palisade.request('GET', '/v1/audit/exports')).body.items).toHaveLength(
      exportsBefore,
    )
  })

  it('refuses with 409 while the signer fails, and nothing signs in its place', async () => {
    // The engine's own key, in a signer that fails as an HSM that lost its token does.
    const { engine } = palisade
    await engine.checkpointer.stop()
    await palisade.request('POST', '/v1/tokens', { body: { name: 'late', scopes: ['read'] } })
    const failing: CheckpointSigner = {
      keyId: engine.signer.keyId,
      algorithm: engine.signer.algorithm,
      kind: engine.signer.kind,
      publicKeyPem: () => engine.signer.publicKeyPem(),
      fingerprint: () => engine.signer.fingerprint(),
      sign: async () => {
        throw new HsmError('PAL_HSM_TOKEN_MISSING', 'simulated: the token is gone')
      },
      close: async () => undefined,
    }
    const checkpointer = await Checkpointer.open({
      log: engine.audit,
      signer: failing,
      store: engine.checkpoints,
      everyEntries: 4,
      everySeconds: 3600,
      onSignerFailure: () => undefined,
    })
    const exports = await ExportJobs.open({
      dir: join(work, 'failing-exports'),
      log: engine.audit,
      entries: clickHouseEntryReader(engine.store),
      checkpoints: engine.checkpoints,
      checkpointer,
      signer: failing,
    })
    const app = Fastify()
    app.setValidatorCompiler(validatorCompiler)
    app.setSerializerCompiler(serializerCompiler)
    app.setErrorHandler(handleError)
    await app.register(auditExportRoutes, { db: engine.state.db, exports, audit: engine.audit })

    const signedBefore = (await engine.checkpoints.list()).filter((r) => r.status === 'signed')
    const answer = await app.inject({
      method: 'POST',
      url: '/v1/audit/exports',
      headers: { authorization: `Bearer ${palisade.adminToken}` },
      payload: {},
    })
    expect(answer.statusCode).toBe(409)
    expect(answer.json().error).toMatchObject({ code: 'PAL_EXPORT_UNANCHORED' })
    expect(answer.json().error.message).toMatch(
      /checkpoints are pending because the signer fails \(PAL_HSM_TOKEN_MISSING\)/,
    )

    const records = await engine.checkpoints.list()
    const signed = records.filter((r) => r.status === 'signed')
    expect(signed).toEqual(signedBefore)
    for (const record of signed) expect(record.key_fingerprint).toBe(engine.signer.fingerprint())
    expect(records.at(-1)).toMatchObject({ status: 'pending', error_code: 'PAL_HSM_TOKEN_MISSING' })

    const refused = (await auditEntries()).filter((e) => e.action === 'audit.export').at(-1)
    expect(refused).toMatchObject({
      outcome: 'failure',
      details: { error_code: 'PAL_EXPORT_UNANCHORED' },
    })
    expect(exports.list()).toEqual([])
    await app.close()
  })
})

function withoutPalisadeVariables(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] => !entry[0].startsWith('PALISADE_') && !!entry[1],
    ),
  )
}
