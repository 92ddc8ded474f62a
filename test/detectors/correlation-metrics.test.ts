import { join } from 'node:path'

import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'

import { registerCorrelationMetrics } from '../../detectors/correlation-metrics.ts'
import { describeRules } from '../../detectors/describe-rules.ts'
import { createDetector } from '../../detectors/detector.ts'
import { derivedId } from '../../platform/event-id.ts'
import type { PalisadeEvent } from '../../platform/event-model.ts'
import { createLogger } from '../../platform/logger.ts'
import { repoRoot } from '../helpers/test-engine.ts'

const BRUTE_FORCE = 'dbc9f7ff-1f83-4fa8-bd48-a06e250c39a6'
const SPRAYING = '159b5bee-3bf3-4ab7-b34f-59955668c1a8'
const AUTH_FAILURE = 'e4097b4e-7315-4ae2-81aa-e3533c7b3559'

function failure(second: number): PalisadeEvent {
  const at = Date.UTC(2025, 11, 10, 7, 0, second)
  return {
    id: derivedId('correlation-metrics-test', String(second)),
    '@timestamp': new Date(at).toISOString(),
    event: {
      dataset: 'sshd',
      category: ['authentication'],
      action: 'ssh_login',
      outcome: 'failure',
    },
    source: { ip: '198.51.100.9' },
    user: { name: 'root' },
    log: { syslog: { appname: 'sshd' } },
  }
}

/** The built-in pack with a 10 s allowance, fed a failure then five 25 to 45 s older. */
function lateDetector() {
  const detector = createDetector([join(repoRoot, 'rules', 'builtin')], createLogger('silent'), {
    correlation: { allowedLatenessMs: 10_000 },
  })
  detector.detect([70, 25, 30, 35, 40, 45].map(failure))
  return detector
}

describe('events too late for a correlation', () => {
  it('are counted per correlation in palisade_correlation_late_events', async () => {
    const registry = new Registry()
    registerCorrelationMetrics(registry, lateDetector(), 100_000)
    const text = await registry.getSingleMetricAsString('palisade_correlation_late_events')
    const series = text.split('\n').filter((l) => !l.startsWith('#'))
    // Each of the three correlations counting failures saw the five late ones.
    expect(series.sort()).toEqual(
      [
        `palisade_correlation_late_events{correlation="${BRUTE_FORCE}"} 5`,
        `palisade_correlation_late_events{correlation="${SPRAYING}"} 5`,
        'palisade_correlation_late_events{correlation="6492d0ee-a103-468f-9ea8-c0a9ca79db0f"} 5',
      ].sort(),
    )
  })

  it('are shown with each correlation the rules API describes, and null for a rule', () => {
    const detector = lateDetector()
    const infos = describeRules(detector.rules.live, () => true)
    const late = (id: string) => infos.find((r) => r.id === id)?.late_events
    expect(late(BRUTE_FORCE)).toBe(5)
    expect(late('53c8e5c5-3438-4202-8efd-06885b4999d2')).toBe(0)
    expect(late(AUTH_FAILURE)).toBeNull()
  })
})
