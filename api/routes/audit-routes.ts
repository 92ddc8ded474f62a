import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'

import type { CheckpointStore } from '../../audit/checkpoint-store.ts'
import type { AuditLog } from '../../audit/audit-log.ts'
import type { ExportJobs } from '../../audit/export/export-jobs.ts'
import { RANGE_VALUE_HELP } from '../../audit/export/export-range.ts'
import type { MerkleAuditLog } from '../../audit/merkle-audit-log.ts'
import type { CheckpointSigner } from '../../audit/signers/checkpoint-signer.ts'
import { PalisadeError, ValidationError } from '../../platform/errors.ts'
import type { StateDb } from '../../platform/state/state-store.ts'
import { auditContext } from '../audit-context.ts'
import { requireScope } from '../auth.ts'

export interface AuditRouteDeps {
  db: StateDb
  log: MerkleAuditLog
  checkpoints: CheckpointStore
  signer: CheckpointSigner
}

const size = (name: string, min: number) =>
  z.coerce
    .number({ error: `expected ${name} as an integer ≥ ${min}` })
    .int({ error: `expected ${name} as an integer ≥ ${min}` })
    .min(min, { error: `expected ${name} as an integer ≥ ${min}` })

const checkpointQuery = z.object({
  limit: z.coerce
    .number({ error: 'expected an integer from 1 to 1000, given once' })
    .int()
    .min(1)
    .max(1000)
    .default(100),
})

const inclusionQuery = z.object({ index: size('index', 0), tree_size: size('tree_size', 1) })
const consistencyQuery = z.object({ from: size('from', 1), to: size('to', 1) })

/**
 * The audit log's proofs and checkpoints (RFC 9162 §2.1.3, §2.1.4), for anyone holding a
 * `read` token. Hashes are lower-case hex; with the public key from `/v1/audit/public-key` a
 * client checks a checkpoint's signature, then proofs against its root, trusting nothing else.
 */
export const auditRoutes: FastifyPluginAsyncZod<AuditRouteDeps> = async (app, deps) => {
  const read = requireScope(deps.db, 'read')
  const { log } = deps

  app.get(
    '/v1/audit/checkpoints',
    {
      onRequest: read,
      schema: {
        summary: 'Checkpoints of the audit log, newest first: signed, pending or superseded',
        tags: ['audit'],
        querystring: checkpointQuery,
      },
    },
    async (request) => {
      const records = await deps.checkpoints.list()
      const items = records.reverse().slice(0, request.query.limit)
      return { items, log_size: log.size() }
    },
  )

  app.get(
    '/v1/audit/proofs/inclusion',
    {
      onRequest: read,
      schema: {
        summary: 'Proof that entry `index` is in the log of `tree_size` entries',
        tags: ['audit'],
        querystring: inclusionQuery,
      },
    },
    async (request) => {
      const { index, tree_size } = request.query
      checkWithinLog('tree_size', tree_size, log.size())

      if (index >= tree_size) {
        throw new ValidationError(
          `index: expected an entry index below tree_size ${tree_size}, got ${index}`,
          { path: 'querystring.index' },
          'PAL_PROOF_INDEX_OUT_OF_RANGE',
        )
      }

      const [leaf] = await log.leaves.leafHashes(index, index + 1)
      const proof = await log.proofs.inclusionProof(index, tree_size)
      const root = await log.proofs.rootHash(tree_size)
      return {
        index,
        tree_size,
        leaf_hash: hex(leaf!),
        proof: proof.map(hex),
        root_hash: hex(root),
      }
    },
  )

  app.get(
    '/v1/audit/proofs/consistency',
    {
      onRequest: read,
      schema: {
        summary: 'Proof that the log of `to` entries extends the log of `from` entries',
        tags: ['audit'],
        querystring: consistencyQuery,
      },
    },
    async (request) => {
      const { from, to } = request.query
      checkWithinLog('to', to, log.size())

      if (from > to) {
        throw new ValidationError(
          `from: expected a size at most to (${to}), got ${from}`,
          { path: 'querystring.from' },
          'PAL_PROOF_SIZE_INVALID',
        )
      }

      const proof = await log.proofs.consistencyProof(from, to)
      const [fromRoot, toRoot] = await Promise.all([
        log.proofs.rootHash(from),
        log.proofs.rootHash(to),
      ])
      return {
        from,
        to,
        proof: proof.map(hex),
        from_root_hash: hex(fromRoot),
        to_root_hash: hex(toRoot),
      }
    },
  )

  app.get(
    '/v1/audit/public-key',
    {
      onRequest: read,
      schema: {
        summary: 'The public key that verifies checkpoints, with its fingerprint',
        tags: ['audit'],
      },
    },
    async () => {
      const { signer } = deps
      return {
        public_key_pem: signer.publicKeyPem(),
        fingerprint: signer.fingerprint(),
        algorithm: signer.algorithm,
        signer_kind: signer.kind,
        key_id: signer.keyId,
      }
    },
  )
}

export interface AuditExportRouteDeps {
  db: StateDb
  exports: ExportJobs
  /** Where a token refused for its scope is recorded. */
  audit: AuditLog
}

const rangeValue = z
  .union([z.string().max(100), z.number()])
  .optional()
  .meta({
    description: RANGE_VALUE_HELP,
  })

const exportBody = z
  .strictObject({ from: rangeValue, to: rangeValue })
  .optional()
  .meta({ description: 'Both ends optional: by default the whole log as it is now' })

const exportParams = z.object({ id: z.string() })
const fileParams = z.object({ id: z.string(), name: z.string() })

const contentTypes: Record<string, string> = {
  '.json': 'application/json',
  '.jsonl': 'application/jsonl',
  '.pem': 'application/x-pem-file',
  '.sig': 'text/plain; charset=us-ascii',
}

/**
 * Signed audit exports (audit/export/export-format.ts): start one, follow it, download its
 * files. Every route needs an `admin` token or a person with the `audit_export` permission
 * (admin, compliance), the reads too: an export holds every entry of its range in clear (who
 * acted, on what, from which address), which no `read` route shows, and `read` tokens are the
 * ones dashboards and analysts hold. A person also needs a recent second factor (step-up), for
 * the reads as well, since a download is the export. Starting an export is audited before it
 * is answered, refusals included.
 */
export const auditExportRoutes: FastifyPluginAsyncZod<AuditExportRouteDeps> = async (app, deps) => {
  const admin = requireScope(deps.db, 'audit_export', deps.audit, { stepUp: true })
  const { exports } = deps

  app.post(
    '/v1/audit/exports',
    {
      onRequest: admin,
      config: { audit: { action: 'audit.export' } },
      schema: {
        summary: "Start an export of a range of the audit log; follow it at the answer's status",
        tags: ['audit'],
        body: exportBody,
      },
    },
    async (request, reply) => {
      const job = await exports.start({
        ...(request.body?.from === undefined ? {} : { from: request.body.from }),
        ...(request.body?.to === undefined ? {} : { to: request.body.to }),
        names: { from: 'body.from', to: 'body.to' },
        ...auditContext(request),
      })
      const status = `/v1/audit/exports/${job.id}`
      return reply
        .status(202)
        .header('location', status)
        .send({ ...job, status })
    },
  )

  app.get(
    '/v1/audit/exports',
    {
      onRequest: admin,
      config: { audit: { action: 'audit.export_list' } },
      schema: { summary: 'Audit exports, newest first, with their state', tags: ['audit'] },
    },
    async () => ({ items: exports.list() }),
  )

  app.get(
    '/v1/audit/exports/:id',
    {
      onRequest: admin,
      config: { audit: { action: 'audit.export_status', target: { kind: 'audit_export' } } },
      schema: {
        summary: "An export's state and progress; its manifest and files once done",
        tags: ['audit'],
        params: exportParams,
      },
    },
    async (request) => {
      const job = exports.status(request.params.id)
      if (!job) {
        throw new PalisadeError('PAL_NOT_FOUND', `no audit export with id ${request.params.id}`, {
          status: 404,
        })
      }
      return job
    },
  )

  app.get(
    '/v1/audit/exports/:id/files/:name',
    {
      onRequest: admin,
      config: { audit: { action: 'audit.export_download', target: { kind: 'audit_export' } } },
      schema: {
        summary: 'One file of a finished export, byte for byte',
        tags: ['audit'],
        params: fileParams,
      },
    },
    async (request, reply) => {
      const { id, name } = request.params
      const file = await exports.openFile(id, name)
      const type = contentTypes[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream'
      return reply
        .header('content-type', type)
        .header('content-length', file.bytes)
        .header('content-disposition', `attachment; filename="${name}"`)
        .send(file.stream)
    },
  )
}

/** A proof for a size the log has not reached would be a proof of nothing. */
function checkWithinLog(field: string, value: number, logSize: number): void {
  if (value <= logSize) return
  throw new ValidationError(
    `${field}: expected a tree size at most the log's size ${logSize}, got ${value}`,
    { path: `querystring.${field}`, log_size: logSize },
    'PAL_PROOF_SIZE_BEYOND_LOG',
  )
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}
