import { answers, SCOPE_401, STEP_UP } from './error-responses.ts'
import { randomBytes } from 'node:crypto'

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'

import type { AuditLog } from '../../audit/audit-log.ts'
import { roles } from '../../auth/roles.ts'
import { PalisadeError } from '../../platform/errors.ts'
import { deleteUserSessions } from '../../platform/state/sessions.ts'
import type { StateDb } from '../../platform/state/state-store.ts'
import {
  findUser,
  findUserByName,
  hashEnrolmentToken,
  insertUser,
  listUsers,
  publicUser,
  updateUser,
} from '../../platform/state/users.ts'
import type { UserRow } from '../../platform/state/users.ts'
import { auditContext } from '../audit-context.ts'
import { requireScope } from '../auth.ts'
import type { PeopleContext } from '../people-context.ts'

export interface UserRouteDeps {
  db: StateDb
  audit: AuditLog
  people: PeopleContext
}

const userParams = z.object({ id: z.string().min(1).max(64) })

/** Enrolment tokens carry 256 random bits and their own prefix, like API tokens. */
function newEnrolmentToken(): string {
  return 'pal_enrol_' + randomBytes(32).toString('base64url')
}

/**
 * People, managed by admins (with a recent second factor, for a session): add one with a
 * one-time enrolment link, change a role, disable, reset factors. A role change, a disable
 * and a factor reset end the user's sessions, so the new privileges come with a new session
 * id. Every change is an auth event.
 */
export const userRoutes: FastifyPluginAsyncZod<UserRouteDeps> = async (app, deps) => {
  const { db, people, audit } = deps
  const read = requireScope(db, 'admin', audit)
  const change = requireScope(db, 'admin', audit, { stepUp: true })

  const record = async (
    request: Parameters<typeof auditContext>[0],
    user: UserRow,
    action: 'user_change' | 'factor_reset',
    details: Record<string, string | number | boolean>,
  ) => {
    const actor = auditContext(request).actor
    await people.events.record({
      action,
      outcome: 'success',
      user: { id: user.id, name: user.name },
      actor: actor.kind === 'system' ? undefined : { ...actor, kind: actor.kind },
      ip: request.ip,
      details,
      time: people.now(),
    })
  }

  app.get(
    '/v1/users',
    {
      onRequest: read,
      config: { audit: { action: 'user.list' } },
      schema: {
        summary: 'People who can sign in',
        tags: ['users'],
        response: answers(200, { 401: SCOPE_401, 403: ['PAL_AUTH_SCOPE'] }),
      },
    },
    async () => ({ items: (await listUsers(db)).map(publicUser) }),
  )

  app.post(
    '/v1/users',
    {
      onRequest: change,
      config: { audit: { action: 'user.create' } },
      schema: {
        summary: 'Add a person; answers a one-time enrolment link, shown once',
        description: 'Errors: 401 step_up_required, 409 PAL_USER_EXISTS.',
        tags: ['users'],
        response: answers(201, {
          400: ['PAL_INVALID_REQUEST'],
          401: [...SCOPE_401, STEP_UP],
          403: ['PAL_AUTH_SCOPE'],
          409: ['PAL_USER_EXISTS'],
        }),
        body: z.strictObject({
          name: z
            .string()
            .min(1)
            .max(100)
            .regex(/^[\p{L}\p{N}._@-]+$/u, {
              error: 'expected a name of letters, digits and . _ @ -',
            }),
          role: z.enum(roles),
        }),
      },
    },
    async (request, reply) => {
      if (await findUserByName(db, request.body.name)) {
        throw new PalisadeError('PAL_USER_EXISTS', `a user named ${request.body.name} exists`, {
          status: 409,
        })
      }
      const token = newEnrolmentToken()
      const expires = new Date(people.now().getTime() + people.enrolmentMs)
      const user = await insertUser(db, {
        name: request.body.name,
        role: request.body.role,
        enrolmentHash: hashEnrolmentToken(token),
        enrolmentExpiresAt: expires,
      })
      await record(request, user, 'user_change', { change: 'create', role: user.role })
      const base = people.publicUrl ?? `${request.protocol}://${request.host}`
      return reply.status(201).send({
        user: publicUser(user),
        enrolment_token: token,
        // In the fragment, so the token is never in a server's access log or a Referer.
        enrolment_url: `${base.replace(/\/+$/, '')}/enrol#${token}`,
        enrolment_expires_at: expires.toISOString(),
      })
    },
  )

  app.patch(
    '/v1/users/:id',
    {
      onRequest: change,
      config: { audit: { action: 'user.update', target: { kind: 'user' } } },
      schema: {
        summary: "Change a person's role or disable them; ends their sessions",
        tags: ['users'],
        response: answers(200, {
          400: ['PAL_INVALID_REQUEST'],
          401: [...SCOPE_401, STEP_UP],
          403: ['PAL_AUTH_SCOPE'],
          404: ['PAL_NOT_FOUND'],
        }),
        params: userParams,
        body: z
          .strictObject({ role: z.enum(roles).optional(), disabled: z.boolean().optional() })
          .refine((b) => b.role !== undefined || b.disabled !== undefined, {
            error: 'expected at least one of role and disabled, got neither',
          }),
      },
    },
    async (request) => {
      const user = await mustFind(db, request.params.id)
      const { role, disabled } = request.body
      await updateUser(db, user.id, {
        ...(role ? { role } : {}),
        ...(disabled === undefined
          ? {}
          : { disabled_at: disabled ? people.now().toISOString() : null }),
      })
      const ended = await deleteUserSessions(db, user.id)
      await record(request, user, 'user_change', {
        change: 'update',
        ...(role ? { old_role: user.role, new_role: role } : {}),
        ...(disabled === undefined ? {} : { disabled }),
        sessions_ended: ended,
      })
      return publicUser((await findUser(db, user.id))!)
    },
  )

  app.post(
    '/v1/users/:id/factor-reset',
    {
      onRequest: change,
      config: { audit: { action: 'user.factor_reset', target: { kind: 'user' } } },
      schema: {
        summary: "Remove a person's second factors and recovery codes; ends their sessions",
        tags: ['users'],
        response: answers(200, {
          401: [...SCOPE_401, STEP_UP],
          403: ['PAL_AUTH_SCOPE'],
          404: ['PAL_NOT_FOUND'],
        }),
        params: userParams,
      },
    },
    async (request) => {
      const user = await mustFind(db, request.params.id)
      await updateUser(db, user.id, {
        totp_secret: null,
        totp_pending_secret: null,
        totp_confirmed: 0,
        totp_last_step: null,
        factor_reset_at: people.now().toISOString(),
      })
      await db.deleteFrom('webauthn_credentials').where('user_id', '=', user.id).execute()
      await db.deleteFrom('recovery_codes').where('user_id', '=', user.id).execute()
      const ended = await deleteUserSessions(db, user.id)
      await record(request, user, 'factor_reset', { sessions_ended: ended })
      return publicUser((await findUser(db, user.id))!)
    },
  )
}

async function mustFind(db: StateDb, id: string): Promise<UserRow> {
  const user = await findUser(db, id)
  if (!user) throw new PalisadeError('PAL_NOT_FOUND', `no user with id ${id}`, { status: 404 })
  return user
}
