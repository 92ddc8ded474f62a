import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'

import type { AuditLog } from '../../audit/audit-log.ts'
import type { Responder } from '../../auth/zero-trust/responder.ts'
import type { StateDb } from '../../platform/state/state-store.ts'
import { auditContext } from '../audit-context.ts'
import { requireScope } from '../auth.ts'

export interface ResponseRouteDeps {
  db: StateDb
  audit: AuditLog
  responder: Responder
}

const actionParams = z.object({ id: z.string().min(1).max(64) })

/**
 * What response playbooks did, would do (dry run) and wait to do (approval). Approving and
 * undoing change who may do what: an admin's sensitive actions (step-up), audited.
 */
export const responseRoutes: FastifyPluginAsyncZod<ResponseRouteDeps> = async (app, deps) => {
  const admin = requireScope(deps.db, 'admin', deps.audit, { stepUp: true })

  app.get(
    '/v1/response/actions',
    {
      onRequest: requireScope(deps.db, 'read'),
      schema: { summary: 'Response actions, newest first', tags: ['response'] },
    },
    async () => {
      await deps.responder.settled()
      return { items: await deps.responder.list() }
    },
  )

  app.post(
    '/v1/response/actions/:id/approve',
    {
      onRequest: admin,
      config: { audit: { action: 'response.approve', target: { kind: 'response_action' } } },
      schema: {
        summary: 'Approve an action that waits for a person, which then runs',
        tags: ['response'],
        params: actionParams,
      },
    },
    async (request) => deps.responder.approve(request.params.id, auditContext(request)),
  )

  app.post(
    '/v1/response/actions/:id/undo',
    {
      onRequest: admin,
      config: { audit: { action: 'response.undo', target: { kind: 'response_action' } } },
      schema: {
        summary: 'Undo an action that was done, restoring what it changed',
        tags: ['response'],
        params: actionParams,
      },
    },
    async (request) => deps.responder.undo(request.params.id, auditContext(request)),
  )
}
