import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { pino } from 'pino'
import { beforeAll, describe, expect, it } from 'vitest'

import { createAnomalyDetector } from '../../../detectors/anomaly/anomaly-detector.ts'
import type { StoredModel } from '../../../detectors/anomaly/anomaly-model.ts'
import { loadFeatureSets } from '../../../detectors/anomaly/load-feature-sets.ts'
import { composeDetectors, createDetector } from '../../../detectors/detector.ts'
import type { Alert } from '../../../platform/alert-model.ts'
import type { Logger } from '../../../platform/logger.ts'
import { changedHour, DAY, event, HOUR, MONTH_START, syntheticMonth } from './synthetic-month.ts'

const CORRELATION = 'b3f1c2a4-7d5e-4c3b-9a8f-1e2d3c4b5a60'
const rules = `title: Audit log cleared
id: 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
name: audit_cleared
status: test
logsource: { product: linux, service: auditd }
detection:
  selection: { event.action: log-cleared }
  condition: selection
level: high
---
title: Unusual user, then the audit log cleared
id: ${CORRELATION}
status: test
correlation:
  type: temporal
  rules: [anomaly-user-behaviour, audit_cleared]
  group-by: [user.name]
  timespan: 2h
level: critical
`

/** `user` clears the audit log at `t`. */
function auditCleared(user: string, t: number) {
  return {
    ...event(user, t, {
      host: 'ws',
      outcome: 'success',
      process: 'auditctl',
      destination: '',
      bytes: 0,
    }),
    event: { dataset: 'auditd', action: 'log-cleared' },
  }
}

const changedAt = MONTH_START + 28 * DAY + 3 * HOUR

describe('anomaly detection over a synthetic month', () => {
  const normal: Alert[] = []
  const after: Alert[] = []
  const models: StoredModel[] = []
  let users: string[] = []

  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-anomaly-'))
    writeFileSync(join(dir, 'rules.yml'), rules)
    const sets = loadFeatureSets()
    const sigma = createDetector([dir], pino({ level: 'silent' }) as unknown as Logger, {
      externalRules: sets.map((s) => ({ id: s.id, title: s.title })),
    })
    const anomaly = createAnomalyDetector(sets, {
      now: () => Date.UTC(2026, 0, 1),
      correlate: (e, id) => sigma.correlate(e, id),
      onModel: (m) => models.push(m),
    })
    const detector = composeDetectors(sigma, anomaly)
    const month = syntheticMonth(7)
    users = month.users
    for (const batch of month.batches) normal.push(...detector.detect(batch))
    after.push(...detector.detect(changedHour('user-07', changedAt)))
    // An hour and ten minutes later the changed user clears the audit log, and so does a user
    // whose hour was normal: only the first is the chain the correlation looks for.
    after.push(
      ...detector.detect([
        auditCleared('user-07', changedAt + 70 * 60_000),
        auditCleared('user-01', changedAt + 75 * 60_000),
      ]),
    )
  }, 120_000)

  it('raises no anomaly alert in four normal weeks of 40 users', () => {
    expect(users).toHaveLength(40)
    expect(models.length).toBeGreaterThan(1)
    expect(normal).toEqual([])
  })

  it('names the one user whose behaviour changed and the features that moved', () => {
    const anomalies = after.filter((a) => a.rule.kind === 'anomaly')
    expect(anomalies.map((a) => [a.rule.id, a.entity])).toEqual([
      ['anomaly-user-behaviour', { kind: 'user.name', value: 'user-07' }],
    ])
    const finding = anomalies[0]!.anomaly!
    expect(finding.score).toBeGreaterThanOrEqual(finding.threshold)
    expect(finding.window).toEqual({
      start: new Date(changedAt).toISOString(),
      end: new Date(changedAt + HOUR).toISOString(),
    })
    const moved = new Set(finding.deviations.map((d) => d.feature))
    for (const f of ['failures', 'distinct_hosts', 'new_hosts', 'distinct_destinations']) {
      expect(moved).toContain(f)
    }
    expect(finding.deviations.every((d) => d.baseline !== 'population')).toBe(true)
    expect(anomalies[0]!.message).toContain('user-07')
    expect(anomalies[0]!.event_ids).toHaveLength(20)
  })

  it('lets a temporal correlation chain the anomaly with a Sigma rule hit for that user', () => {
    const chained = after.filter((a) => a.rule.id === CORRELATION)
    expect(chained.map((a) => a.entity)).toEqual([{ kind: 'user.name', value: 'user-07' }])
    const anomaly = after.find((a) => a.rule.kind === 'anomaly')!
    expect(chained[0]!.event_ids).toContain(anomaly.id)
  })
})
