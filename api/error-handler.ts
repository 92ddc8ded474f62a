import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod'

import { describeValue, PalisadeError } from '../platform/errors.ts'

function valueAt(source: unknown, keys: string[]): unknown {
  let node = source
  for (const key of keys) {
    if (typeof node !== 'object' || node === null) return undefined
    node = (node as Record<string, unknown>)[key]
  }
  return node
}

/** Every error body has the same shape: `{ error: { code, message, ...context } }`. */
export function errorBody(code: string, message: string, context: Record<string, unknown> = {}) {
  return { error: { code, message, ...context } }
}

/**
 * Turns any error into a precise answer: what was expected, what came, and where. Fastify's
 * own errors (body too large, unknown content type) are rephrased in the same shape.
 */
export function handleError(
  error: FastifyError | PalisadeError | Error,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  if (error instanceof PalisadeError) {
    if (error.status >= 500) request.log.error({ err: error }, 'request failed')
    // RFC 9110 §10.2.3: a 503 that will pass says when to try again.
    const retryAfter = error.context.retry_after_seconds
    if (error.status === 503 && error.retriable && typeof retryAfter === 'number') {
      void reply.header('retry-after', String(retryAfter))
    }
    return reply.status(error.status).send(errorBody(error.code, error.message, error.context))
  }

  if (hasZodFastifySchemaValidationErrors(error)) {
    const context = error.validationContext ?? 'body'
    const source =
      context === 'querystring'
        ? request.query
        : context === 'params'
          ? request.params
          : context === 'headers'
            ? request.headers
            : request.body
    const problems = error.validation.map((v) => {
      const keys = v.instancePath.split('/').filter(Boolean)
      const path = [error.validationContext, ...keys].join('.')
      const message = v.message ?? 'invalid'
      // Say what came, unless the message already does (zod's often say "received ...").
      const came = keys.length > 0 ? valueAt(source, keys) : undefined
      const tail =
        came === undefined || /\b(got|received)\b/.test(message)
          ? ''
          : `, got ${describeValue(came)}`
      return { path, message: message + tail }
    })
    const message = problems.map((p) => `${p.path}: ${p.message}`).join('; ')
    return reply.status(400).send(errorBody('PAL_INVALID_REQUEST', message, { problems }))
  }

  const fastifyError = error as FastifyError
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': {
      const limit = request.routeOptions.bodyLimit ?? 'the configured'
      const came = request.headers['content-length'] ?? 'more'
      return reply
        .status(413)
        .send(
          errorBody(
            'PAL_BODY_TOO_LARGE',
            `expected a body of at most ${limit} bytes, got ${came} bytes; ` +
              'split it into smaller batches',
          ),
        )
    }
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return reply
        .status(415)
        .send(
          errorBody(
            'PAL_UNSUPPORTED_MEDIA_TYPE',
            `expected Content-Type application/json, application/x-ndjson or text/plain, ` +
              `got ${request.headers['content-type'] ?? 'none'}`,
          ),
        )
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_TYPE':
      return reply
        .status(400)
        .send(errorBody('PAL_EMPTY_BODY', 'expected a request body, got none'))
  }

  const status =
    fastifyError.statusCode && fastifyError.statusCode < 500 ? fastifyError.statusCode : 500
  if (status >= 500) {
    // The cause (a store's message, a stack) goes to the log, not to the caller.
    request.log.error({ err: error }, 'request failed')
    return reply.status(500).send(errorBody('PAL_INTERNAL', 'internal error; see the server log'))
  }
  return reply.status(status).send(errorBody(fastifyError.code ?? 'PAL_BAD_REQUEST', error.message))
}
