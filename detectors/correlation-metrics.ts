import { Gauge } from 'prom-client'
import type { Registry } from 'prom-client'

import type { SigmaDetector } from './detector.ts'

/**
 * The correlation engine's gauges, read from the running correlator at each scrape: late
 * events per correlation, group keys held against their limit, and keys evicted at it.
 * Late events are labelled with the correlation's id, which keeps the series few (one per
 * correlation that ever had a late event) and tells an operator which rule's senders lag;
 * `sum(palisade_correlation_late_events)` is the engine's total.
 */
export function registerCorrelationMetrics(
  registry: Registry,
  detector: Pick<SigmaDetector, 'correlator'>,
  maxGroups: number,
): void {
  new Gauge({
    name: 'palisade_correlation_late_events',
    help:
      'Events too late to count in a correlation (older than its group time less the allowed ' +
      'lateness, or after their window closed), per correlation id',
    labelNames: ['correlation'],
    registers: [registry],
    collect() {
      this.reset()
      for (const [correlation, n] of Object.entries(detector.correlator.state().lateBy)) {
        this.set({ correlation }, n)
      }
    },
  })
  new Gauge({
    name: 'palisade_correlation_groups',
    help: 'Group keys correlation rules hold now (a correlation and its group-by values)',
    registers: [registry],
    collect() {
      this.set(detector.correlator.groups())
    },
  })
  new Gauge({
    name: 'palisade_correlation_max_groups',
    help: 'Most group keys correlation rules may hold (sigma.correlation.maxGroups)',
    registers: [registry],
    collect() {
      this.set(maxGroups)
    },
  })
  new Gauge({
    name: 'palisade_correlation_evicted_groups',
    help:
      'Group keys evicted at the limit: with open windows (state "open": their alerts may ' +
      'be missed) or with only a watermark (state "idle")',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const { evicted, pruned } = detector.correlator.state()
      this.set({ state: 'open' }, evicted)
      this.set({ state: 'idle' }, pruned)
    },
  })
}
