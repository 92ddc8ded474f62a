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
  z.object({
    index: z.number(),
    status: z.enum(['stored', 'duplicate', 'accepted']),
    id: z.string(),
  }),
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
    { parseAs: 'buffer' },
    (request, body, done) => {
      const charset = /;\s*charset=("?)([^";]+)\1/i.exec(request.headers['content-type'] ?? '')
      if (charset && !/^(utf-?8|us-ascii)$/i.test(charset[2]!)) {
        return done(
          new PalisadeError(
            'PAL_UNSUPPORTED_CHARSET',
            `expected a UTF-8 body (charset=utf-8), got charset=${charset[2]}`,
            { status: 415 },
          ),
        )
      }
      // Bytes that are not UTF-8 reach the handler undecoded, after authentication, which
      // keeps them whole as a dead letter; decoding them loosely would alter them silently.
      try {
        done(null, strictUtf8.decode(body as Buffer))
      } catch {
        done(null, body)
      }
    },
  )

  app.post(
    '/v1/events',
    {
      onRequest: requireScope(deps.db, 'ingest'),
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
        body: z.union([z.string(), z.instanceof(Buffer)]),
        response: {
          202: z.object({
            /** With the Kafka transport: records the brokers acknowledged for the workers. */
            accepted: z.number().optional(),
            stored: z.number(),
            duplicates: z.number(),
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

      if (Buffer.isBuffer(request.body)) {
        const offset = firstInvalidUtf8(request.body)
        return keepWhole(
          batch,
          request.body.toString('base64'),
          'PAL_INVALID_UTF8',
          `expected a UTF-8 body, got a byte sequence that is not UTF-8 at byte ${offset}; ` +
            'the body is kept base64-encoded as one dead letter',
        )
      }
      const body = request.body

      let records
      try {
        records = ingestFormats[format](body, {
          stream,
          receivedAt,
          timeZone: deps.timeZone,
          startPosition: request.query.position ?? 0,
        })
      } catch (error) {
        if (!(error instanceof PalisadeError) || error.code !== 'PAL_UNFRAMEABLE') throw error
        return keepWhole(batch, body, error.code, error.message)
      }

      const result = await deps.pipeline.process({ ...batch, records })
      return reply.status(202).send(result)

      /** Nothing could be split into records: keep the whole body as one dead letter. */
      async function keepWhole(b: typeof batch, raw: string, code: string, message: string) {
        const kept = await deps.pipeline.process({
          ...b,
          records: [{ index: 0, raw, error: { code, message } }],
        })
        const letter = kept.results[0]
        throw new PalisadeError(code, message, {
          status: 400,
          context: {
            format: b.format,
            dead_letter_id: letter?.status === 'dead_letter' ? letter.dead_letter_id : undefined,
          },
        })
      }
    },
  )
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/** Offset where the first sequence that is not UTF-8 starts, for the error message. */
function firstInvalidUtf8(bytes: Buffer): number {
  let low = 0
  let high = bytes.length
  // Decoding is all or nothing, so find the shortest failing prefix by halving.
  while (high - low > 1) {
    const middle = (low + high) >>> 1
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, middle), { stream: true })
      low = middle
    } catch {
      high = middle
    }
  }
  // The decoder fails on the byte that cannot continue a sequence; the sequence itself may
  // have started with a lead byte just before it.
  let at = high - 1
  for (let back = 1; back <= 3 && at - back >= 0; back++) {
    const byte = bytes[at - back]!
    if ((byte & 0xc0) === 0x80) continue
    if (byte >= 0xc0) at -= back
    break
  }
  return at
}
