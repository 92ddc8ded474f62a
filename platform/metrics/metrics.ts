import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/** Prometheus metrics for one running instance; one registry, so tests can make their own. */
export interface Metrics {
  registry: Registry
  records: Counter<'source' | 'outcome'>
  alerts: Counter<'kind'>
  batchSeconds: Histogram<'source'>
}

export function createMetrics(): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'palisade_' })
  return {
    registry,
    records: new Counter({
      name: 'palisade_records_total',
      help: 'Records received, by source and outcome (stored or dead_letter)',
      labelNames: ['source', 'outcome'],
      registers: [registry],
    }),
    alerts: new Counter({
      name: 'palisade_alerts_total',
      help: 'Alerts raised, by detector kind (a resent batch raises its alerts again; storage keeps one)',
      labelNames: ['kind'],
      registers: [registry],
    }),
    batchSeconds: new Histogram({
      name: 'palisade_batch_seconds',
      help: 'Time from a batch arriving to its records and alerts being stored',
      labelNames: ['source'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  }
}
