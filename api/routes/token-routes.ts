import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'

import type { AuditLog } from '../../audit/audit-log.ts'
import { PalisadeError } from '../../platform/errors.ts'
import {
  createToken,
  listTokens,
  revokeToken,
  tokenScopes,
} from '../../platform/state/api-tokens.ts'
import type { StateDb } from '../../platform/state/state-store.ts'
import { auditContext } from '../audit-context.ts'
import { requireScope } from '../auth.ts'

export interface TokenRouteDeps {
  db: StateDb
  audit: AuditLog
}

/**
 * API tokens, managed by admins. A new token is shown once, in the answer that makes it. Each
 * creation and revocation is audited by token id before it is answered; the token's value
 * never reaches the audit log.
 */
export const tokenRoutes: FastifyPluginAsyncZod<TokenRouteDeps> = async (app, { db, audit }) => {
  const admin = requireScope(db, 'admin', audit)
  // Making or revoking a key is a key operation: a person needs a recent second factor.
  const keyOperation = requireScope(db, 'admin', audit, { stepUp: true })

  app.get(
    '/v1/tokens',
    {
      onRequest: admin,
      config: { audit: { action: 'token.list' } },
      schema: { summary: 'List API tokens', tags: ['tokens'] },
    },
    async () => ({
      items: await listTokens(db),
    }),
  )

  app.post(
    '/v1/tokens',
    {
      onRequest: keyOperation,
      config: { audit: { action: 'token.create' } },
      schema: {
        summary: 'Create an API token',
        tags: ['tokens'],
        body: z.object({
          name: z.string().min(1).max(100),
          scopes: z.array(z.enum(tokenScopes)).min(1),
          expires_in_days: z
            .number()
            .int()
            .min(1)
            .max(3650)
            .default(90)
            .meta({ description: 'Days until the token is refused; 90 unless told' }),
        }),
      },
    },
    async (request, reply) => {
      const { name, scopes, expires_in_days: days } = request.body
      const expiresAt = new Date(Date.now() + days * 86_400_000)
      const { token, record } = await createToken(db, name, scopes, { expiresAt })
      await audit.record({
        ...auditContext(request),
        action: 'token.create',
        target: { kind: 'token', id: record.id },
        outcome: 'success',
        details: {
          name: record.name,
          scopes: record.scopes.join(','),
          expires_at: record.expires_at ?? 'never',
        },
      })
      return reply.status(201).send({ ...record, token })
    },
  )

  app.delete(
    '/v1/tokens/:id',
    {
      onRequest: keyOperation,
      config: { audit: { action: 'token.revoke', target: { kind: 'token' } } },
      schema: {
        summary: 'Revoke an API token',
        tags: ['tokens'],
        params: z.object({ id: z.string() }),
      },
    },
    async (request, reply) => {
      const target = { kind: 'token', id: request.params.id }
      const refused = (code: string) =>
        audit.record({
          ...auditContext(request),
          action: 'token.revoke',
          target,
          outcome: 'failure',
          details: { code },
        })
      const active = await listTokens(db)
      const admins = active.filter((t) => t.scopes.includes('admin'))
      if (admins.length === 1 && admins[0]!.id === request.params.id) {
        // With no admin token left nobody could make one again, short of editing the state.
        await refused('PAL_LAST_ADMIN_TOKEN')
        throw new PalisadeError(
          'PAL_LAST_ADMIN_TOKEN',
          'this is the last admin token; create another admin token before revoking it',
          { status: 409 },
        )
      }
      if (!(await revokeToken(db, request.params.id))) {
        await refused('PAL_NOT_FOUND')
        throw new PalisadeError('PAL_NOT_FOUND', `no active token with id ${request.params.id}`, {
          status: 404,
        })
      }
      await audit.record({
        ...auditContext(request),
        action: 'token.revoke',
        target,
        outcome: 'success',
      })
      return reply.status(204).send()
    },
  )
}
