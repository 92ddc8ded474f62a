import type { FastifyReply, FastifyRequest } from 'fastify'

import { PalisadeError } from '../platform/errors.ts'
import { findToken } from '../platform/state/api-tokens.ts'
import type { ApiToken, TokenScope } from '../platform/state/api-tokens.ts'
import type { StateDb } from '../platform/state/state-store.ts'

declare module 'fastify' {
  interface FastifyRequest {
    token?: ApiToken
  }
}

/**
 * A hook that admits a request whose bearer token exists and holds `scope` (an admin token
 * holds every scope): 401 for a missing or unknown token, 403 for one without the scope.
 *
 * Register it as the route's `onRequest` hook: it then runs before the body is read, parsed
 * and validated, so a caller without the right token gets 401 or 403 whatever it sends, and
 * never a 400 that would tell it what a valid request looks like.
 */
export function requireScope(db: StateDb, scope: TokenScope) {
  return async function checkScope(request: FastifyRequest, _reply: FastifyReply) {
    const header = request.headers.authorization
    if (!header) {
      throw new PalisadeError(
        'PAL_AUTH_MISSING',
        'expected an Authorization: Bearer <token> header, got none',
        {
          status: 401,
        },
      )
    }

    const match = /^Bearer\s+(\S+)$/i.exec(header)
    if (!match) {
      // Never echo the header: without its scheme it is most likely the bare token.
      throw new PalisadeError(
        'PAL_AUTH_MALFORMED',
        'expected an Authorization header of the form "Bearer <token>", got one without the ' +
          'Bearer scheme or with spaces in the token',
        { status: 401 },
      )
    }

    const token = await findToken(db, match[1]!)
    if (!token) {
      throw new PalisadeError('PAL_AUTH_UNKNOWN', 'the bearer token is unknown or revoked', {
        status: 401,
      })
    }

    if (!token.scopes.includes(scope) && !token.scopes.includes('admin')) {
      throw new PalisadeError(
        'PAL_AUTH_SCOPE',
        `this request needs a token with the "${scope}" scope; ` +
          `this token has: ${token.scopes.join(', ')}`,
        { status: 403, context: { required: scope, held: token.scopes } },
      )
    }
    request.token = token
  }
}
