import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

import { describe, expect, it } from 'vitest'

import { createCorrelator } from '../../../detectors/sigma/correlation-engine.ts'
import { stateDroppedRule } from '../../../detectors/sigma/state-dropped-alert.ts'
import type { PalisadeEvent } from '../../../platform/event-model.ts'
import { ruleSetFrom } from './helpers.ts'

/**
 * The memory test of issue 5: a million distinct group keys within one window (an attacker
 * spraying source addresses) keep the correlation engine within its configured bound, and
 * the eviction is reported. Slow (several seconds), hence an integration test.
 */

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
const heapUsed = () => {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

const rules = `title: failure
id: dddddddd-0000-4000-8000-000000000001
name: fail
logsource: {product: linux, service: sshd}
detection:
    s: {event.outcome: failure}
    condition: s
---
title: many failures
id: dddddddd-0000-4000-8000-000000000002
correlation:
    type: event_count
    rules: [fail]
    group-by: [source.ip]
    timespan: 5m
    condition: {gte: 5}
level: high
`

const START = Date.UTC(2025, 0, 1)
const KEYS = 1_000_000
const LIMIT = 10_000
const MB = 1024 * 1024

/** The `i`th failure: its own address, all within the first five-minute window. */
function failure(i: number): PalisadeEvent {
  return {
    id: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
    '@timestamp': new Date(START + Math.floor((i * 290_000) / KEYS)).toISOString(),
    event: { outcome: 'failure' },
    source: { ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` },
  } as PalisadeEvent
}

describe('a million distinct group keys within one window', () => {
  it('keep the engine within its configured bound, and the eviction is reported', () => {
    const set = ruleSetFrom(rules)
    const matched = set.rules.filter((r) => r.id === 'dddddddd-0000-4000-8000-000000000001')
    const correlator = createCorrelator(set, { maxGroups: LIMIT })
    const alerts = []

    const empty = heapUsed()
    let i = 0
    for (; i < LIMIT; i++) alerts.push(...correlator.process(failure(i), matched))
    const full = heapUsed()
    expect(correlator.state().evicted).toBe(0)

    const started = performance.now()
    let most = 0
    for (; i < KEYS; i++) {
      alerts.push(...correlator.process(failure(i), matched))
      if (i % 1000 === 0) most = Math.max(most, correlator.groups())
    }
    const seconds = (performance.now() - started) / 1000
    const flooded = heapUsed()
    const state = correlator.state()

    // The limit is honoured exactly, in every part of the state.
    expect(most).toBe(LIMIT)
    expect(correlator.groups()).toBe(LIMIT)
    expect(Object.keys(state.slides)).toHaveLength(LIMIT)
    expect(Object.keys(state.entityWatermarks)).toHaveLength(LIMIT)
    // Every key past the limit evicted one, and said so: counted, and one alert (one hour).
    expect(state.evicted).toBe(KEYS - LIMIT)
    expect(correlator.takeEvictions()).toEqual([
      { correlation: 'dddddddd-0000-4000-8000-000000000002', open: KEYS - LIMIT, idle: 0 },
    ])
    expect(alerts.map((a) => a.rule.id)).toEqual([stateDroppedRule.id])

    const perKey = (full - empty) / LIMIT
    const growth = flooded - full
    console.log(
      `${KEYS} keys, limit ${LIMIT}: heap ${(empty / MB).toFixed(1)} MB empty, ` +
        `${(full / MB).toFixed(1)} MB at the limit (${perKey.toFixed(0)} B a key), ` +
        `${(flooded / MB).toFixed(1)} MB after the flood; ` +
        `${((KEYS - LIMIT) / seconds / 1000).toFixed(0)}k evicting events/s`,
    )
    // The state at the limit is what the limit predicts (generously: under 2 KB a key)...
    expect(full - empty).toBeLessThan(LIMIT * 2048)
    // ...and 990 000 more keys add nothing a collection cannot take back (8 MB of slack, for
    // the collector and the index's hash tables; held unbounded, they would be ~0.5 GB).
    expect(growth).toBeLessThan(8 * MB)
  })
})
