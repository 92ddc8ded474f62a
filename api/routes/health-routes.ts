import type { FastifyPluginAsync } from 'fastify'

import type { AnalyticsStore } from '../../platform/clickhouse/analytics-store.ts'
import type { Metrics } from '../../platform/metrics/metrics.ts'
import type { StateStore } from '../../platform/state/state-store.ts'
import { errorBody } from '../error-handler.ts'

export interface HealthRouteDeps {
  store: AnalyticsStore
  state: StateStore
  metrics: Metrics
}

/**
 * `/healthz` says the process is alive; `/readyz` that it can store and read (ClickHouse and
 * the state store answer); `/metrics` is Prometheus text. None needs a token, as probes and
 * scrapers run without one; none reveals data.
 */
export const healthRoutes: FastifyPluginAsync<HealthRouteDeps> = async (app, deps) => {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }))

  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const checks: Record<string, string> = {}
    const ping = await deps.store.client.ping()
    checks.clickhouse = ping.success ? 'ok' : `failed: ${ping.error.message}`
    try {
      await deps.state.db.selectFrom('api_tokens').select('id').limit(1).execute()
      checks.state = 'ok'
    } catch (error) {
      checks.state = `failed: ${(error as Error).message}`
    }
    const ready = Object.values(checks).every((c) => c === 'ok')
    if (!ready) {
      return reply
        .status(503)
        .send(errorBody('PAL_NOT_READY', 'a store is not answering', { checks }))
    }
    return { status: 'ready', checks }
  })

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.type(deps.metrics.registry.contentType)
    return deps.metrics.registry.metrics()
  })
}
