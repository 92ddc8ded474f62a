import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'

import type { AuditLog } from '../../audit/audit-log.ts'
import { huntNotFound, type HuntJobs } from '../../detectors/hunts/hunt-jobs.ts'
import { queryAlerts } from '../../platform/clickhouse/alert-repository.ts'
import type { AnalyticsStore } from '../../platform/clickhouse/analytics-store.ts'
import { getHunt, listHunts } from '../../platform/state/hunt-records.ts'
import type { StateDb } from '../../platform/state/state-store.ts'
import { auditContext } from '../audit-context.ts'
import { requireScope } from '../auth.ts'
import { pageQuery } from './query-schemas.ts'

export interface HuntRouteDeps {
  db: StateDb
  store: AnalyticsStore
  audit: AuditLog
  hunts: HuntJobs
}

const rfc3339 = z.iso.datetime({ offset: true, error: 'expected an RFC 3339 date-time' })

const huntBody = z
  .strictObject({
    rules: z
      .array(z.string().min(1, { error: 'expected Sigma YAML text, got an empty string' }))
      .max(100, { error: 'expected at most 100 rule texts' })
      .optional()
      .meta({ description: 'Sigma YAML texts; each may hold several documents' }),
    rule_ids: z
      .array(z.string().min(1).max(256))
      .max(10_000, { error: 'expected at most 10,000 rule ids' })
      .optional()
      .meta({ description: 'Ids of loaded rules (GET /v1/rules)' }),
    from: rfc3339.meta({ description: 'The first instant of event time hunted (included)' }),
    to: rfc3339.meta({ description: 'The end of the range (not included)' }),
    max_slice_events: z
      .int({ error: 'expected an integer from 1,000 to 10,000,000' })
      .min(1000)
      .max(10_000_000)
      .optional()
      .meta({ description: 'Most events one slice (one query per batch of rules) reads' }),
  })
  .superRefine((body, ctx) => {
    if (!body.rules?.length && !body.rule_ids?.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['rules'],
        message: 'expected rules (YAML texts) or rule_ids, or both; got neither',
      })
    }
    if (Date.parse(body.from) >= Date.parse(body.to)) {
      ctx.addIssue({
        code: 'custom',
        path: ['from'],
        message: `expected from before to, got from=${body.from} and to=${body.to}`,
      })
    }
  })

const huntParams = z.object({ id: z.uuid({ error: 'expected a hunt id (a UUID)' }) })

const resultsQuery = z.strictObject({
  limit: pageQuery.shape.limit,
  cursor: pageQuery.shape.cursor,
})

const listQuery = z.strictObject({
  limit: pageQuery.shape.limit,
  cursor: z.uuid({ error: 'expected a cursor returned by a previous page' }).optional(),
})

/**
 * Hunts: the detection rules asked of the stored events of a time range, through the SQL back
 * end (detectors/hunts/). Starting and cancelling one need `admin` (a hunt runs every rule
 * over every event of its range, which a `read` token, held by dashboards, must not be able to
 * set off) and are audited; reading hunts and their alerts needs `read`, as alerts do.
 */
export const huntRoutes: FastifyPluginAsyncZod<HuntRouteDeps> = async (app, deps) => {
  const read = requireScope(deps.db, 'read')
  const admin = requireScope(deps.db, 'admin', deps.audit)
  const { hunts } = deps

  app.post(
    '/v1/hunts',
    {
      onRequest: admin,
      config: { audit: { action: 'hunt.start' } },
      schema: {
        summary: "Hunt rules over stored events; follow it at the answer's status",
        description:
          'Answers 202 with the hunt, running, and the rules it refused with the reason ' +
          '(rules and correlations the SQL back end cannot run as the stream does, rules that ' +
          'match nothing). 409 while another hunt runs; 422 when every rule is refused.',
        tags: ['hunts'],
        body: huntBody,
      },
    },
    async (request, reply) => {
      const { body } = request
      const hunt = await hunts.start({
        ...(body.rules ? { texts: body.rules } : {}),
        ...(body.rule_ids ? { ruleIds: body.rule_ids } : {}),
        from: body.from,
        to: body.to,
        ...(body.max_slice_events ? { maxSliceEvents: body.max_slice_events } : {}),
        ...auditContext(request),
      })
      const status = `/v1/hunts/${hunt.id}`
      return reply
        .status(202)
        .header('location', status)
        .send({ ...hunt, status })
    },
  )

  app.get(
    '/v1/hunts',
    {
      onRequest: read,
      schema: { summary: 'Hunts, newest first', tags: ['hunts'], querystring: listQuery },
    },
    async (request) => {
      const { limit, cursor } = request.query
      const rows = await listHunts(deps.db, {
        limit: limit + 1,
        ...(cursor ? { after: cursor } : {}),
      })
      const items = rows.slice(0, limit)
      return {
        items,
        next_cursor: rows.length > limit ? (items.at(-1)?.id ?? null) : null,
      }
    },
  )

  app.get(
    '/v1/hunts/:id',
    {
      onRequest: read,
      schema: {
        summary: "A hunt's state, progress, refused rules and alerts (a page of them)",
        tags: ['hunts'],
        params: huntParams,
        querystring: resultsQuery,
      },
    },
    async (request) => {
      const hunt = await getHunt(deps.db, request.params.id)
      if (!hunt) throw huntNotFound(request.params.id)
      const alerts = await queryAlerts(deps.store, {
        huntId: hunt.id,
        origin: 'hunt',
        limit: request.query.limit,
        ...(request.query.cursor ? { cursor: request.query.cursor } : {}),
      })
      return { ...hunt, alerts }
    },
  )

  const cancel = {
    onRequest: admin,
    config: { audit: { action: 'hunt.cancel', target: { kind: 'hunt' } } },
    schema: {
      summary: 'Cancel a running hunt; answers once it has stopped',
      description: 'The alerts it found so far are kept. 409 for a hunt that already ended.',
      tags: ['hunts'],
      params: huntParams,
    },
  }
  app.post('/v1/hunts/:id/cancel', cancel, async (request) =>
    hunts.cancel(request.params.id, auditContext(request)),
  )
  app.delete('/v1/hunts/:id', cancel, async (request) =>
    hunts.cancel(request.params.id, auditContext(request)),
  )
}
