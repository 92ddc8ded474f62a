import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'

import { queryAlerts } from '../../platform/clickhouse/alert-repository.ts'
import type { AnalyticsStore } from '../../platform/clickhouse/analytics-store.ts'
import { countStored, getEvent, queryEvents } from '../../platform/clickhouse/event-repository.ts'
import { PalisadeError } from '../../platform/errors.ts'
import type { StateDb } from '../../platform/state/state-store.ts'
import { requireScope } from '../auth.ts'
import { alertQuery, eventQuery } from './query-schemas.ts'

export interface QueryRouteDeps {
  db: StateDb
  store: AnalyticsStore
}

/** Reading stored events and alerts, newest first, a page at a time. */
export const queryRoutes: FastifyPluginAsyncZod<QueryRouteDeps> = async (app, deps) => {
  const read = requireScope(deps.db, 'read')

  app.get(
    '/v1/events',
    {
      onRequest: read,
      schema: { summary: 'List stored events', tags: ['events'], querystring: eventQuery },
    },
    async (request) => queryEvents(deps.store, request.query),
  )

  app.get(
    '/v1/events/:id',
    {
      onRequest: read,
      schema: {
        summary: 'One stored event',
        tags: ['events'],
        params: z.object({ id: z.uuid({ error: 'expected an event id (a UUID)' }) }),
      },
    },
    async (request) => {
      const event = await getEvent(deps.store, request.params.id)
      if (!event) {
        throw new PalisadeError('PAL_NOT_FOUND', `no event with id ${request.params.id}`, {
          status: 404,
        })
      }
      return event
    },
  )

  app.get(
    '/v1/stats',
    {
      onRequest: read,
      schema: { summary: 'How many events, alerts and dead letters are stored', tags: ['events'] },
    },
    async () => countStored(deps.store),
  )

  app.get(
    '/v1/alerts',
    {
      onRequest: read,
      schema: { summary: 'List alerts', tags: ['alerts'], querystring: alertQuery },
    },
    async (request) => {
      const { rule_id, hunt_id, ...rest } = request.query
      return queryAlerts(deps.store, { ...rest, ruleId: rule_id, huntId: hunt_id })
    },
  )
}
