import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'

import type { Pipeline } from '../../ingest/pipeline.ts'
import { PalisadeError } from '../../platform/errors.ts'
import type { StateDb } from '../../platform/state/state-store.ts'
import { requireScope } from '../auth.ts'
import { defaultFormatFor, ingestFormatNames, ingestFormats } from '../ingest-formats.ts'
import type { IngestFormat } from '../ingest-formats.ts'

export interface IngestRouteDeps {
  db: StateDb
  pipeline: Pipeline
  timeZone: string
}

const recordResult = z.union([
  z.object({ index: z.number(), status: z.literal('stored'), id: z.string() }),
  z.object({
    index: z.number(),
    status: z.literal('dead_letter'),
    dead_letter_id: z.string(),
    error: z.object({ code: z.string(), message: z.string(), path: z.string().optional() }),
  }),
])

/**
 * `POST /v1/events`: one batch per request, answered 202 only once every record is stored
 * (events, dead letters and the alerts they raised). This plugin reads bodies as text in its
 * own scope, because the parsers need the original bytes of every record.
 */
export const ingestRoutes: FastifyPluginAsyncZod<IngestRouteDeps> = async (app, deps) => {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser(
    Object.keys(defaultFormatFor),
    { parseAs: 'string' },
    (_req, body, done) => done(null, body),
  )

  app.post(
    '/v1/events',
    {
      preHandler: requireScope(deps.db, 'ingest'),
      schema: {
        summary: 'Ingest a batch of events',
        description:
          'A JSON array, NDJSON, concatenated Windows event objects exported from EVTX ' +
          '(`format=evtx-json`) or syslog lines (`format=syslog`, text/plain). Answers 202 once ' +
          'stored, with a result per record; invalid records go to dead letters with the reason.',
        tags: ['ingest'],
        querystring: z.object({
          format: z.enum(ingestFormatNames as [IngestFormat, ...IngestFormat[]]).optional(),
          /** Names the stream, so derived syslog ids stay stable when a client resends. */
          stream: z.string().max(200).optional(),
          /** Position of the first record in the stream (for syslog ids). */
          position: z.coerce.number().int().min(0).optional(),
        }),
        body: z.string(),
        response: {
          202: z.object({
            stored: z.number(),
            dead_lettered: z.number(),
            alerts: z.number(),
            results: z.array(recordResult),
          }),
        },
      },
    },
    async (request, reply) => {
      const contentType = (request.headers['content-type'] ?? '')
        .split(';')[0]!
        .trim()
        .toLowerCase()
      const format = request.query.format ?? defaultFormatFor[contentType] ?? 'json'
      const receivedAt = new Date()
      // Without a named stream, a batch's syslog ids derive from the token and its content, so
      // resending the same body from the same client gives the same ids.
      const stream = request.query.stream ?? `http:${request.token?.id ?? 'anonymous'}`
      const batch = {
        source: 'http',
        format,
        stream,
        receivedAt,
        startPosition: request.query.position ?? 0,
      }

      let records
      try {
        records = ingestFormats[format](request.body, {
          stream,
          receivedAt,
          timeZone: deps.timeZone,
          startPosition: request.query.position ?? 0,
        })
      } catch (error) {
        if (!(error instanceof PalisadeError) || error.code !== 'PAL_UNFRAMEABLE') throw error
        // Nothing could be split into records: keep the whole body as one dead letter.
        const kept = await deps.pipeline.process({
          ...batch,
          records: [
            { index: 0, raw: request.body, error: { code: error.code, message: error.message } },
          ],
        })
        const letter = kept.results[0]
        throw new PalisadeError(error.code, error.message, {
          status: 400,
          context: {
            format,
            dead_letter_id: letter?.status === 'dead_letter' ? letter.dead_letter_id : undefined,
          },
        })
      }

      const result = await deps.pipeline.process({ ...batch, records })
      return reply.status(202).send(result)
    },
  )
}
