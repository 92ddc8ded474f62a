import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'

import type { AuditLog } from '../../audit/audit-log.ts'
import type { Pipeline } from '../../ingest/pipeline.ts'
import type { AnalyticsStore } from '../../platform/clickhouse/analytics-store.ts'
import {
  getDeadLetters,
  insertDeadLetters,
  queryDeadLetters,
} from '../../platform/clickhouse/dead-letter-repository.ts'
import type { DeadLetter } from '../../platform/clickhouse/dead-letter-repository.ts'
import { PalisadeError } from '../../platform/errors.ts'
import type { StateDb } from '../../platform/state/state-store.ts'
import { auditContext } from '../audit-context.ts'
import { requireScope } from '../auth.ts'
import { ingestFormats } from '../ingest-formats.ts'
import type { IngestFormat } from '../ingest-formats.ts'
import { deadLetterQuery } from './query-schemas.ts'

export interface DeadLetterRouteDeps {
  db: StateDb
  store: AnalyticsStore
  audit: AuditLog
  pipeline: Pipeline
  timeZone: string
}

const replayBody = z
  .object({
    /** Dead letters to replay by id; or, without ids, the oldest pending ones. */
    ids: z.array(z.uuid()).max(1000).optional(),
    limit: z.number().int().min(1).max(1000).default(100),
  })
  // No body at all means "the oldest pending ones", as an empty object does.
  .nullish()
  .transform((body) => ({ limit: body?.limit ?? 100, ids: body?.ids }))

/** Listing dead letters, and replaying them through the pipeline once the cause is fixed. */
export const deadLetterRoutes: FastifyPluginAsyncZod<DeadLetterRouteDeps> = async (app, deps) => {
  app.get(
    '/v1/dead-letters',
    {
      onRequest: requireScope(deps.db, 'read'),
      schema: {
        summary: 'List dead letters',
        tags: ['dead letters'],
        querystring: deadLetterQuery,
      },
    },
    async (request) => queryDeadLetters(deps.store, request.query),
  )

  app.post(
    '/v1/dead-letters/replay',
    {
      onRequest: requireScope(deps.db, 'admin', deps.audit),
      config: { audit: { action: 'dead_letter.replay' } },
      schema: {
        summary: 'Replay dead letters',
        description:
          'Runs each dead letter through the pipeline again. One that now parses is stored and ' +
          'marked replayed; one that fails again is marked failed_again with the new reason and ' +
          'no new dead letter is made.',
        tags: ['dead letters'],
        body: replayBody,
      },
    },
    async (request) => {
      const ids = request.body.ids && [...new Set(request.body.ids.map((id) => id.toLowerCase()))]
      const letters = ids
        ? await getDeadLetters(deps.store, ids)
        : (await queryDeadLetters(deps.store, { status: 'pending', limit: request.body.limit }))
            .items
      if (ids && letters.length < ids.length) {
        const found = new Set(letters.map((l) => l.id))
        const missing = ids.filter((id) => !found.has(id))
        throw new PalisadeError('PAL_NOT_FOUND', `no dead letter with id ${missing.join(', ')}`, {
          status: 404,
          context: { missing },
        })
      }

      const outcomes = []
      const updated: DeadLetter[] = []
      for (const letter of letters) {
        const outcome = await replayOne(deps, letter)
        outcomes.push({ id: letter.id, ...outcome })
        updated.push({
          ...letter,
          status: outcome.status,
          reason: outcome.status === 'replayed' ? letter.reason : outcome.reason,
        })
      }
      await insertDeadLetters(deps.store, updated, new Date())
      const replayed = outcomes.filter((o) => o.status === 'replayed').length
      const failedAgain = outcomes.length - replayed
      // One entry per request: the ids are in the answer, and details hold only flat values.
      await deps.audit.record({
        ...auditContext(request),
        action: 'dead_letter.replay',
        outcome: failedAgain === 0 ? 'success' : 'failure',
        details: { requested: letters.length, replayed, failed_again: failedAgain },
      })
      return { replayed, failed_again: failedAgain, results: outcomes }
    },
  )
}

async function replayOne(
  deps: DeadLetterRouteDeps,
  letter: DeadLetter,
): Promise<
  | { status: 'replayed'; event_ids: string[] }
  | { status: 'failed_again'; reason: string; event_ids?: string[] }
> {
  const format = letter.format as IngestFormat
  const parser = ingestFormats[format]
  if (!parser) return { status: 'failed_again', reason: `unknown format ${letter.format}` }

  if (letter.reason_code === 'PAL_INVALID_UTF8') {
    // Its raw field holds the original bytes in base64: replaying that text would only fail
    // with a misleading reason. Such a body has to be fixed and sent again by its sender.
    return { status: 'failed_again', reason: letter.reason }
  }

  // An element cut out of a JSON array may span lines, so it is replayed as a one-element
  // array; an NDJSON line is replayed as the line it was, so a bad line stays one record.
  const body = format === 'json' ? `[${letter.raw}]` : letter.raw
  const parse = parser
  const receivedAt = new Date()
  let records
  try {
    records = parse(body, {
      stream: letter.stream,
      receivedAt,
      timeZone: deps.timeZone,
      startPosition: letter.position,
    })
  } catch (error) {
    return { status: 'failed_again', reason: (error as Error).message }
  }

  if (records.length === 0) {
    return { status: 'failed_again', reason: 'the dead letter holds no record to replay' }
  }

  const result = await deps.pipeline.process({
    records,
    source: 'replay',
    format: letter.format,
    stream: letter.stream,
    receivedAt,
    startPosition: letter.position,
    writeDeadLetters: false,
  })
  const eventIds = result.results.flatMap((r) => (r.status === 'dead_letter' ? [] : [r.id]))
  const failed = result.results.find((r) => r.status === 'dead_letter')
  if (failed && failed.status === 'dead_letter') {
    // Part of it may have been stored: say so, so the answer never hides a stored event.
    const stored = eventIds.length ? ` (${eventIds.length} of its records were stored)` : ''
    return { status: 'failed_again', reason: failed.error.message + stored, event_ids: eventIds }
  }
  return { status: 'replayed', event_ids: eventIds }
}
