import { isIP } from 'node:net'

import type { FastifyRequest } from 'fastify'

import type { AuditEntryInput } from '../audit/audit-log.ts'
import type { ApiToken } from '../platform/state/api-tokens.ts'

/**
 * Who made a request and from where, as an audit entry wants them: the calling token by its
 * id and name (never its value), or the signed-in person by id and name. Call only after
 * `requireScope` or `requireSession` has admitted the request, or with the token it refused.
 */
export function auditContext(
  request: FastifyRequest,
  token: Pick<ApiToken, 'id' | 'name'> | undefined = request.token,
): Pick<AuditEntryInput, 'actor' | 'source'> {
  const user = request.signedIn?.user
  const actor = token
    ? { kind: 'token' as const, id: token.id, name: token.name }
    : user
      ? { kind: 'user' as const, id: user.id, name: user.name }
      : { kind: 'system' as const, id: 'unauthenticated' }
  return { actor, source: isIP(request.ip) ? { ip: request.ip } : {} }
}
