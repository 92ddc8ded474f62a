import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'

import type { AuditLog } from '../../audit/audit-log.ts'
import type { AccessControl } from '../../auth/zero-trust/access-control.ts'
import { riskEntityKinds } from '../../auth/zero-trust/risk-register.ts'
import type { AnalyticsStore } from '../../platform/clickhouse/analytics-store.ts'
import { queryDecisions } from '../../platform/clickhouse/decision-repository.ts'
import {
  findAccessPolicies,
  listAccessPolicyVersions,
} from '../../platform/state/access-policies.ts'
import type { StateDb } from '../../platform/state/state-store.ts'
import { PalisadeError } from '../../platform/errors.ts'
import { auditContext } from '../audit-context.ts'
import { requireScope } from '../auth.ts'
import { errorBody, handleError } from '../error-handler.ts'

export interface AccessRouteDeps {
  db: StateDb
  store: AnalyticsStore
  audit: AuditLog
  access: AccessControl
}

/**
 * Why a decision request's body could not be read, if that is what failed: Fastify's JSON
 * parser refuses an empty body, text that is not JSON, and a `__proto__` or `constructor` key
 * (prototype poisoning) before the handler runs, so those would be answered without a
 * decision.
 */
function unreadableBody(error: { code?: string }): string | undefined {
  if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || error.code === 'FST_ERR_CTP_EMPTY_TYPE') {
    return '(root): expected a JSON object, got an empty body'
  }
  if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return (
      '(root): expected a JSON object, got text that is not JSON or that holds a ' +
      '__proto__ or constructor key'
    )
  }
  return undefined
}

const riskParams = z.object({
  kind: z.enum(riskEntityKinds, { error: 'expected user, host, address or device' }),
  value: z.string().min(1).max(1024),
})

/**
 * Zero-trust access (issue 13): the decision point enforcement points ask, the policy set it
 * decides with, and the risk it weighs. Decisions need the `decide` scope (an enforcement
 * point's token); changing policies is an admin's sensitive action (step-up); clearing an
 * entity's risk is an analyst's.
 */
export const accessRoutes: FastifyPluginAsyncZod<AccessRouteDeps> = async (app, deps) => {
  const { access } = deps
  const read = requireScope(deps.db, 'read')

  app.post(
    '/v1/access/decisions',
    {
      onRequest: requireScope(deps.db, 'decide', deps.audit),
      config: { audit: { action: 'access.decide' } },
      // Fail closed on a body that does not parse too: an enforcement point reading `decision`
      // must find "deny", not an error body without one.
      errorHandler: (error, request, reply) => {
        const message = unreadableBody(error)
        if (message === undefined) return handleError(error, request, reply)
        const reasons = [{ code: 'malformed_request', message, path: '(root)' }]
        return reply.status(400).send({
          ...errorBody(
            'PAL_DECISION_REQUEST_INVALID',
            `the decision request is malformed, so it is denied: ${message}`,
            { problems: [{ path: '(root)', message }] },
          ),
          decision: 'deny',
          reasons,
          policies: [],
          obligations: [],
        })
      },
      schema: {
        summary: 'Decide whether a subject may act on a resource now',
        description:
          'Body: {subject: {type: "user", id}, resource: {type, id, sensitivity?}, action: ' +
          '{name}, context: {device?, network: {address}, location?, mfa?, session?}}. ' +
          'Answers allow, deny or step_up with reasons, the policies that decided, ' +
          'obligations and the risk weighed. Fails closed: a malformed request is answered ' +
          '400 with decision "deny" and every problem; an unknown subject or action is a deny.',
        tags: ['access'],
        body: z.unknown(),
      },
    },
    async (request, reply) => {
      const decision = await access.decide(request.body, auditContext(request))
      if (decision.reasons.some((r) => r.code === 'malformed_request')) {
        return reply.status(400).send({
          ...errorBody(
            'PAL_DECISION_REQUEST_INVALID',
            `the decision request is malformed, so it is denied: ` +
              decision.reasons.map((r) => r.message).join('; '),
            { problems: decision.reasons.map((r) => ({ path: r.path, message: r.message })) },
          ),
          ...decision,
        })
      }
      return decision
    },
  )

  app.get(
    '/v1/access/decisions',
    {
      onRequest: read,
      schema: {
        summary: 'Recent decisions from the decision log, newest first',
        tags: ['access'],
        querystring: z.strictObject({
          subject: z.string().min(1).max(256).optional(),
          decision: z.enum(['allow', 'deny', 'step_up']).optional(),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
        }),
      },
    },
    async (request) => {
      await access.flush()
      const { subject, decision, limit } = request.query
      return {
        items: await queryDecisions(deps.store, {
          limit,
          ...(subject !== undefined ? { subject } : {}),
          ...(decision !== undefined ? { decision } : {}),
        }),
      }
    },
  )

  app.get(
    '/v1/access/policies',
    {
      onRequest: read,
      schema: {
        summary: 'The policy set in force and the versions before it',
        tags: ['access'],
        querystring: z.strictObject({ version: z.coerce.number().int().min(1).optional() }),
      },
    },
    async (request) => {
      const version = request.query.version ?? access.policies.version
      const row = await findAccessPolicies(deps.db, version)
      if (!row) {
        throw new PalisadeError('PAL_NOT_FOUND', `no policy set version ${version}`, {
          status: 404,
        })
      }
      return {
        version: row.version,
        in_force: row.version === access.policies.version,
        digest: row.digest,
        created_at: row.created_at,
        created_by: row.created_by,
        policies: row.policies,
        versions: await listAccessPolicyVersions(deps.db),
      }
    },
  )

  app.put(
    '/v1/access/policies',
    {
      onRequest: requireScope(deps.db, 'admin', deps.audit, { stepUp: true }),
      config: { audit: { action: 'policy.update', target: { kind: 'access_policies' } } },
      schema: {
        summary: 'Put a new Cedar policy set in force',
        description:
          'Validated in strict mode against the schema first: a set with any problem is ' +
          'refused with 422 and every problem, and the set in force stays. Audited either way.',
        tags: ['access'],
        body: z.strictObject({ policies: z.string().min(1).max(1_000_000) }),
      },
    },
    async (request) => {
      let active
      try {
        active = await access.setPolicies(request.body.policies, auditContext(request))
      } catch (error) {
        if (error instanceof PalisadeError && error.code === 'PAL_POLICY_INVALID') {
          throw new PalisadeError(error.code, error.message, {
            status: 422,
            context: { ...error.context, version_in_force: access.policies.version },
          })
        }
        throw error
      }
      return {
        version: active.version,
        digest: active.set.digest,
        policies: [...active.set.info.values()],
      }
    },
  )

  app.get(
    '/v1/risk',
    {
      onRequest: read,
      schema: { summary: 'Entities with risk now, highest first', tags: ['access'] },
    },
    async () => ({ items: access.risk.list(access.now()) }),
  )

  app.get(
    '/v1/risk/:kind/:value',
    {
      onRequest: read,
      schema: {
        summary: "One entity's risk now and the alerts behind it",
        tags: ['access'],
        params: riskParams,
      },
    },
    async (request) => access.risk.risk(request.params.kind, request.params.value, access.now()),
  )

  app.post(
    '/v1/risk/:kind/:value/clear',
    {
      onRequest: requireScope(deps.db, 'risk_clear', deps.audit),
      config: { audit: { action: 'risk.clear' } },
      schema: {
        summary: "Clear an entity's risk after triage",
        description:
          'Every alert known now stops counting for this entity; alerts raised later count. ' +
          'Audited before it applies.',
        tags: ['access'],
        params: riskParams,
        body: z.strictObject({ reason: z.string().min(1).max(500) }),
      },
    },
    async (request) => {
      const { kind, value } = request.params
      return access.clearRisk(kind, value, request.body.reason, auditContext(request))
    },
  )
}
