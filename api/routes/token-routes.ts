import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'

import { PalisadeError } from '../../platform/errors.ts'
import {
  createToken,
  listTokens,
  revokeToken,
  tokenScopes,
} from '../../platform/state/api-tokens.ts'
import type { StateDb } from '../../platform/state/state-store.ts'
import { requireScope } from '../auth.ts'

/** API tokens, managed by admins. A new token is shown once, in the answer that makes it. */
export const tokenRoutes: FastifyPluginAsyncZod<{ db: StateDb }> = async (app, { db }) => {
  const admin = requireScope(db, 'admin')

  app.get(
    '/v1/tokens',
    { preHandler: admin, schema: { summary: 'List API tokens', tags: ['tokens'] } },
    async () => ({
      items: await listTokens(db),
    }),
  )

  app.post(
    '/v1/tokens',
    {
      preHandler: admin,
      schema: {
        summary: 'Create an API token',
        tags: ['tokens'],
        body: z.object({
          name: z.string().min(1).max(100),
          scopes: z.array(z.enum(tokenScopes)).min(1),
        }),
      },
    },
    async (request, reply) => {
      const { token, record } = await createToken(db, request.body.name, request.body.scopes)
      return reply.status(201).send({ ...record, token })
    },
  )

  app.delete(
    '/v1/tokens/:id',
    {
      preHandler: admin,
      schema: {
        summary: 'Revoke an API token',
        tags: ['tokens'],
        params: z.object({ id: z.string() }),
      },
    },
    async (request, reply) => {
      const active = await listTokens(db)
      const admins = active.filter((t) => t.scopes.includes('admin'))
      if (admins.length === 1 && admins[0]!.id === request.params.id) {
        // With no admin token left nobody could make one again, short of editing the state.
        throw new PalisadeError(
          'PAL_LAST_ADMIN_TOKEN',
          'this is the last admin token; create another admin token before revoking it',
          { status: 409 },
        )
      }
      if (!(await revokeToken(db, request.params.id))) {
        throw new PalisadeError('PAL_NOT_FOUND', `no active token with id ${request.params.id}`, {
          status: 404,
        })
      }
      return reply.status(204).send()
    },
  )
}
