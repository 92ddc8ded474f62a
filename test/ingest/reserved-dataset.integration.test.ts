import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { authEcsEvent } from '../../auth/auth-events.ts'
import { createDetector } from '../../detectors/detector.ts'
import { createPipeline } from '../../ingest/pipeline.ts'
import type { Batch, Pipeline } from '../../ingest/pipeline.ts'
import type { AnalyticsStore } from '../../platform/clickhouse/analytics-store.ts'
import { openAnalyticsStore } from '../../platform/clickhouse/analytics-store.ts'
import { queryAlerts } from '../../platform/clickhouse/alert-repository.ts'
import { getDeadLetters } from '../../platform/clickhouse/dead-letter-repository.ts'
import { createLogger } from '../../platform/logger.ts'
import { repoRoot } from '../helpers/test-engine.ts'

const dataDir = mkdtempSync(join(tmpdir(), 'palisade-reserved-'))
let store: AnalyticsStore
let pipeline: Pipeline

beforeAll(async () => {
  store = await openAnalyticsStore({ database: 'palisade', dataDir, eventDays: 30 })
  const detector = createDetector([join(repoRoot, 'rules', 'builtin')], createLogger('silent'))
  pipeline = createPipeline({ store, detector })
}, 120_000)

afterAll(async () => {
  await store?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

const start = Date.UTC(2026, 11, 4, 9, 0)

function batch(events: Record<string, unknown>[], overrides: Partial<Batch> = {}): Batch {
  return {
    records: events.map((event, index) => ({ index, raw: JSON.stringify(event), event })),
    source: 'http',
    format: 'json',
    stream: 'test',
    receivedAt: new Date(start),
    ...overrides,
  }
}

/** Ten refused TOTP codes for `user`, as Palisade's own sign-in code records them. */
function totpFailures(user: string): Record<string, unknown>[] {
  return Array.from({ length: 10 }, (_, i) =>
    authEcsEvent({
      action: 'mfa_verify',
      outcome: 'failure',
      user: { id: `id-${user}`, name: user },
      factor: 'totp',
      ip: '198.51.100.7',
      time: new Date(start + i * 1000),
    }),
  )
}

describe('events claiming Palisade’s own dataset', () => {
  it('dead-letters a forged cloned-authenticator sign-in from outside, keeps the rest and alerts on nothing', async () => {
    const forged = {
      event: {
        category: ['authentication'],
        dataset: 'palisade.auth',
        action: 'cloned_authenticator',
        outcome: 'failure',
      },
      user: { name: 'alice' },
    }
    const ordinary = { event: { dataset: 'test.app', action: 'login' }, user: { name: 'bob' } }
    const result = await pipeline.process(batch([forged, ordinary]))

    expect(result).toMatchObject({ stored: 1, dead_lettered: 1, alerts: 0 })
    const [refused, kept] = result.results
    expect(kept).toMatchObject({ status: 'stored' })
    expect(refused).toMatchObject({
      status: 'dead_letter',
      error: { code: 'PAL_RESERVED_DATASET', path: 'event.dataset' },
    })
    if (refused?.status !== 'dead_letter') throw new Error('expected a dead letter')
    expect(refused.error.message).toContain(
      "event.dataset palisade.auth is reserved for Palisade's own events",
    )
    const [letter] = await getDeadLetters(store, [refused.dead_letter_id])
    expect(letter).toMatchObject({ reason_code: 'PAL_RESERVED_DATASET', source: 'http' })
    expect(letter!.raw).toBe(JSON.stringify(forged))
  })

  it('refuses a forged TOTP brute force from syslog or a replay as well', async () => {
    for (const source of ['syslog-tcp', 'replay']) {
      const result = await pipeline.process(batch(totpFailures(`mallory-${source}`), { source }))
      expect(result).toMatchObject({ stored: 0, dead_lettered: 10, alerts: 0 })
    }
    const alerts = await queryAlerts(store, { limit: 100 })
    expect(alerts.items).toEqual([])
  })

  it('still raises the TOTP brute-force rule on Palisade’s own sign-in failures', async () => {
    const result = await pipeline.process(batch(totpFailures('carol'), { internal: true }))
    expect(result).toMatchObject({ stored: 10, dead_lettered: 0 })
    const alerts = await queryAlerts(store, { limit: 100 })
    expect(alerts.items.map((a) => [a.rule.title, a.entity])).toContainEqual([
      'TOTP Brute Force Against Palisade',
      { kind: 'user.name', value: 'carol' },
    ])
  })
})
