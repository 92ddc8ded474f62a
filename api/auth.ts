import type { FastifyReply, FastifyRequest } from 'fastify'

import type { AuditLog } from '../audit/audit-log.ts'
import { PalisadeError } from '../platform/errors.ts'
import { findToken } from '../platform/state/api-tokens.ts'
import type { ApiToken, TokenScope } from '../platform/state/api-tokens.ts'
import type { StateDb } from '../platform/state/state-store.ts'
import { auditContext } from './audit-context.ts'

declare module 'fastify' {
  interface FastifyRequest {
    token?: ApiToken
  }

  interface FastifyContextConfig {
    /**
     * What the route does, as the audit log names it, for auditing a token refused for its
     * scope: the action, and the kind of thing it acts on (its id is `id`, else the route's
     * `:id` parameter).
     */
    audit?: { action: string; target?: { kind: string; id?: string } }
  }
}

type ScopeCheck = (request: FastifyRequest, reply: FastifyReply) => Promise<void>

/**
 * A hook that admits a request whose bearer token exists and holds `scope` (an admin token
 * holds every scope): 401 for a missing or unknown token, 403 for one without the scope.
 *
 * Register it as the route's `onRequest` hook: it then runs before the body is read, parsed
 * and validated, so a caller without the right token gets 401 or 403 whatever it sends, and
 * never a 400 that would tell it what a valid request looks like.
 *
 * Given an audit log (always, for `admin`), a 403 is recorded before it is answered: outcome
 * `failure`, the token as actor, the route's `config.audit` action (else `api.request`) and
 * reason `scope`. A 401 is not: without a known token there is no actor to name.
 *
 * @example
 *   app.post('/v1/rules/reload', {
 *     onRequest: requireScope(db, 'admin', audit),
 *     config: { audit: { action: 'rules.reload' } },
 *   }, handler)
 */
export function requireScope(db: StateDb, scope: 'admin', audit: AuditLog): ScopeCheck
export function requireScope(
  db: StateDb,
  scope: Exclude<TokenScope, 'admin'>,
  audit?: AuditLog,
): ScopeCheck
export function requireScope(db: StateDb, scope: TokenScope, audit?: AuditLog): ScopeCheck {
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
      if (audit) await auditScopeRefusal(audit, request, token, scope)
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

/**
 * Records a token refused for its scope, under the action its route would have done. It runs
 * before the body is read, so the entry holds what the route and its parameters say, never
 * the body.
 */
async function auditScopeRefusal(
  audit: AuditLog,
  request: FastifyRequest,
  token: ApiToken,
  required: TokenScope,
): Promise<void> {
  const declared = request.routeOptions.config.audit
  const params = request.params as Record<string, unknown> | undefined
  const id = declared?.target?.id ?? params?.['id']
  await audit.record({
    ...auditContext(request, token),
    action: declared?.action ?? 'api.request',
    ...(declared?.target && typeof id === 'string' && id !== ''
      ? { target: { kind: declared.target.kind, id: id.slice(0, 256) } }
      : {}),
    outcome: 'failure',
    details: {
      reason: 'scope',
      code: 'PAL_AUTH_SCOPE',
      required,
      held: token.scopes.join(','),
      method: request.method,
      route: request.routeOptions.url ?? request.url.split('?')[0]!,
    },
  })
}
