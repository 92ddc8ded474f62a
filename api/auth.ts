import type { FastifyReply, FastifyRequest } from 'fastify'

import type { AuditLog } from '../audit/audit-log.ts'
import { isRole, rolePermissions } from '../auth/roles.ts'
import type { Permission } from '../auth/roles.ts'
import { PalisadeError } from '../platform/errors.ts'
import { findToken } from '../platform/state/api-tokens.ts'
import type { ApiToken } from '../platform/state/api-tokens.ts'
import { deleteSession, findSession, touchSession } from '../platform/state/sessions.ts'
import type { StateDb } from '../platform/state/state-store.ts'
import { findUser, hasSecondFactor } from '../platform/state/users.ts'
import { auditContext } from './audit-context.ts'
import { SESSION_COOKIE } from './people-context.ts'
import type { PeopleContext, SignedIn } from './people-context.ts'

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

/** Options of `requireScope`. */
export interface ScopeOptions {
  /**
   * A sensitive action (audit export, rule changes, tokens, user admin): a person's session
   * must have verified a second factor within `people.stepUpMinutes`, else 401
   * `step_up_required`. API tokens are for services, which have no second factor; they pass
   * on their scope alone.
   */
  stepUp?: boolean
}

/**
 * A hook that admits a request whose bearer token exists and holds `scope` (an admin token
 * holds every scope), or whose session cookie names a live session of a person whose role
 * grants it (see `rolePermissions`): 401 for missing, unknown or expired credentials, 403
 * for a caller without the scope, 401 `step_up_required` for a sensitive action whose second
 * factor is not recent enough. A bearer header wins over a cookie.
 *
 * Register it as the route's `onRequest` hook: it then runs before the body is read, parsed
 * and validated, so a caller without the right token gets 401 or 403 whatever it sends, and
 * never a 400 that would tell it what a valid request looks like.
 *
 * Given an audit log (always, for `admin`), a 403 is recorded before it is answered: outcome
 * `failure`, the token or user as actor, the route's `config.audit` action (else
 * `api.request`) and reason `scope`. A 401 is not: without a known caller there is no actor.
 *
 * @example
 *   app.post('/v1/rules/reload', {
 *     onRequest: requireScope(db, 'admin', audit, { stepUp: true }),
 *     config: { audit: { action: 'rules.reload' } },
 *   }, handler)
 */
export function requireScope(
  db: StateDb,
  scope: 'admin' | 'audit_export' | 'risk_clear',
  audit: AuditLog,
  options?: ScopeOptions,
): ScopeCheck
export function requireScope(
  db: StateDb,
  scope: Exclude<Permission, 'admin' | 'audit_export' | 'risk_clear'>,
  audit?: AuditLog,
  options?: ScopeOptions,
): ScopeCheck
export function requireScope(
  db: StateDb,
  scope: Permission,
  audit?: AuditLog,
  options: ScopeOptions = {},
): ScopeCheck {
  return async function checkScope(request: FastifyRequest, _reply: FastifyReply) {
    const header = request.headers.authorization
    const people = request.server.people
    const cookie = request.cookies?.[SESSION_COOKIE]
    if (!header && people && cookie) {
      const signedIn = await requireSignedIn(db, people, request, cookie)
      const role = signedIn.user.role
      const held = isRole(role) ? rolePermissions[role] : []
      if (!held.includes(scope)) {
        if (audit) await auditScopeRefusal(audit, request, scope, held.join(','))
        throw new PalisadeError(
          'PAL_AUTH_SCOPE',
          `this request needs the "${scope}" permission; the role ${role} has: ${held.join(', ')}`,
          { status: 403, context: { required: scope, role } },
        )
      }
      if (options.stepUp) requireRecentFactor(people, signedIn)
      return
    }

    if (!header) {
      throw new PalisadeError(
        'PAL_AUTH_MISSING',
        'expected an Authorization: Bearer <token> header or a session cookie, got neither',
        { status: 401 },
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
      throw new PalisadeError(
        'PAL_AUTH_UNKNOWN',
        'the bearer token is unknown, revoked or expired',
        { status: 401 },
      )
    }

    // Scopes no token is given are held through admin.
    const tokenScope = scope === 'audit_export' || scope === 'risk_clear' ? 'admin' : scope
    if (!token.scopes.includes(tokenScope) && !token.scopes.includes('admin')) {
      if (audit) await auditScopeRefusal(audit, request, tokenScope, token.scopes.join(','), token)
      throw new PalisadeError(
        'PAL_AUTH_SCOPE',
        `this request needs a token with the "${tokenScope}" scope; ` +
          `this token has: ${token.scopes.join(', ')}`,
        { status: 403, context: { required: tokenScope, held: token.scopes } },
      )
    }
    request.token = token
  }
}

/**
 * A hook for routes only people use (their session, their factors): admits a live session;
 * with `partial`, also one still waiting for its second factor.
 */
export function requireSession(db: StateDb, options: { partial?: boolean } = {}): ScopeCheck {
  return async function checkSession(request: FastifyRequest) {
    const people = request.server.people
    const cookie = request.cookies?.[SESSION_COOKIE]
    if (!people || !cookie) {
      throw new PalisadeError(
        'PAL_SESSION_REQUIRED',
        'expected a session cookie: sign in with POST /v1/session first',
        { status: 401 },
      )
    }
    await requireSignedIn(db, people, request, cookie, options.partial)
  }
}

/**
 * The live session a cookie names, its user, and whether its second factor is done; sets
 * `request.signedIn`. Timeouts as NIST SP 800-63B §7.2 and OWASP's session guidance give
 * them: idle since the last request, absolute since sign-in; an ended session is deleted.
 */
async function requireSignedIn(
  db: StateDb,
  people: PeopleContext,
  request: FastifyRequest,
  cookie: string,
  partial = false,
): Promise<SignedIn> {
  const session = await findSession(db, cookie)
  if (!session) {
    throw new PalisadeError('PAL_SESSION_INVALID', 'the session is unknown or was ended', {
      status: 401,
    })
  }

  const now = people.now().getTime()
  const idle = now - new Date(session.last_seen_at).getTime() > people.idleMs
  const old = now - new Date(session.created_at).getTime() > people.absoluteMs
  const user = await findUser(db, session.user_id)
  if (idle || old || !user || user.disabled_at !== null) {
    await deleteSession(db, session.id)
    const why = idle ? 'was idle too long' : old ? 'reached its absolute timeout' : 'has no user'
    throw new PalisadeError('PAL_SESSION_EXPIRED', `the session ${why}; sign in again`, {
      status: 401,
    })
  }

  if (!partial && session.mfa_at === null && (await hasSecondFactor(db, user))) {
    throw new PalisadeError(
      'PAL_MFA_REQUIRED',
      'this session has not verified a second factor yet: POST /v1/session/totp, ' +
        '/v1/session/webauthn or /v1/session/recovery-code',
      { status: 401 },
    )
  }

  await touchSession(db, session.id, people.now())
  const signedIn = { session, user }
  request.signedIn = signedIn
  return signedIn
}

/** Throws 401 `step_up_required` unless the session verified a second factor recently. */
export function requireRecentFactor(people: PeopleContext, { session }: SignedIn): void {
  const at = session.mfa_at === null ? undefined : new Date(session.mfa_at).getTime()
  if (at !== undefined && people.now().getTime() - at <= people.stepUpMs) return
  throw new PalisadeError(
    'step_up_required',
    `this action needs a second factor verified within the last ${people.stepUpMs / 60_000} ` +
      'minutes: verify one with POST /v1/session/totp, /v1/session/webauthn (user ' +
      'verification required) or /v1/session/recovery-code, then repeat the request',
    {
      status: 401,
      context: {
        max_age_seconds: people.stepUpMs / 1000,
        verified_at: session.mfa_at,
        methods: ['totp', 'webauthn', 'recovery_code'],
      },
    },
  )
}

/**
 * Records a caller refused for its scope, under the action its route would have done. It runs
 * before the body is read, so the entry holds what the route and its parameters say, never
 * the body.
 */
async function auditScopeRefusal(
  audit: AuditLog,
  request: FastifyRequest,
  required: Permission,
  held: string,
  token?: ApiToken,
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
      held,
      method: request.method,
      route: request.routeOptions.url ?? request.url.split('?')[0]!,
    },
  })
}
