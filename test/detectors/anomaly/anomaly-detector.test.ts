import { describe, expect, it } from 'vitest'

import { anomalyEvent, createAnomalyDetector } from '../../../detectors/anomaly/anomaly-detector.ts'
import type { AnomalyOptions, ClosedWindow } from '../../../detectors/anomaly/anomaly-detector.ts'
import { parseFeatureSets } from '../../../detectors/anomaly/load-feature-sets.ts'
import type { Alert } from '../../../platform/alert-model.ts'
import { derivedId } from '../../../platform/event-id.ts'
import type { PalisadeEvent } from '../../../platform/event-model.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

const sets = parseFeatureSets(
  `feature_sets:
  - id: anomaly-test-users
    title: Unusual user
    entity: user.name
    window: 1h
    features:
      - { name: events, kind: count }
      - { name: failures, kind: count, where: { event.outcome: failure } }
      - { name: failure_ratio, kind: ratio, where: { event.outcome: failure }, min_spread: 0.1 }
      - { name: hosts, kind: distinct, field: host.name }
      - { name: bytes, kind: sum, field: network.bytes }
      - { name: hour, kind: hour_of_week }
      - { name: new_hosts, kind: first_seen, field: host.name }
`,
  'test.yml',
)

const T0 = Date.UTC(2025, 11, 1, 9) // Monday 09:00 UTC: hour of week 33
const MIN = 60_000
const HOUR = 60 * MIN

let n = 0
function login(user: string, t: number, host = 'ws1', outcome = 'success', bytes = 100) {
  n++
  return {
    id: derivedId('test', `${user}-${t}-${host}-${n}`),
    '@timestamp': new Date(t).toISOString(),
    event: { outcome },
    user: { name: user },
    host: { name: host },
    network: { bytes },
  } as PalisadeEvent
}

function detector(options: AnomalyOptions = {}) {
  const windows: ClosedWindow[] = []
  const d = createAnomalyDetector(sets, {
    now: () => Date.UTC(2026, 0, 1),
    onWindow: (w) => windows.push(w),
    ...options,
  })
  return { d, windows }
}

describe('anomaly windows on event time', () => {
  it('measures each declared feature over one entity’s hour', () => {
    const { d, windows } = detector()
    d.detect([
      login('ann', T0 + 1 * MIN, 'ws1', 'success', 100),
      login('ann', T0 + 2 * MIN, 'ws2', 'failure', 50),
      login('ann', T0 + 3 * MIN, 'ws2', 'failure', 25),
      login('ann', T0 + 4 * MIN, 'ws1', 'success', 0),
      login('bob', T0 + HOUR + 2 * MIN), // moves time past the window and the lateness
    ])
    expect(windows).toEqual([
      {
        featureSet: 'anomaly-test-users',
        entity: 'ann',
        start: T0,
        features: [4, 2, 0.5, 2, 175, 33, 2],
      },
    ])
  })

  it('counts an event out of order in its window while within the lateness, then as late', () => {
    const { d, windows } = detector({ allowedLatenessMs: 5 * MIN })
    d.detect([login('ann', T0 + 10 * MIN), login('bob', T0 + HOUR + 2 * MIN)])
    d.detect([login('ann', T0 + 50 * MIN)]) // 12 minutes after an event of the next hour
    expect(windows).toEqual([])
    d.detect([login('bob', T0 + HOUR + 5 * MIN)]) // the first hour's end plus the lateness
    expect(windows.map((w) => [w.entity, w.start, w.features[0]])).toEqual([['ann', T0, 2]])
    d.detect([login('ann', T0 + 55 * MIN)])
    expect(d.state().late).toBe(1)
  })

  it('counts a value new to the entity once, and not again in a later window', () => {
    const { d, windows } = detector()
    d.detect([login('ann', T0, 'ws1'), login('ann', T0 + MIN, 'ws1')])
    d.detect([login('ann', T0 + HOUR + 2 * MIN, 'ws1'), login('ann', T0 + HOUR + 3 * MIN, 'ws9')])
    d.detect([login('ann', T0 + 2 * HOUR + 2 * MIN, 'ws1')])
    expect(windows.map((w) => w.features[6])).toEqual([1, 1])
  })

  it('closes windows on the wall clock only once the stream has been quiet', () => {
    let wall = Date.UTC(2026, 0, 1)
    const { d, windows } = detector({ now: () => wall, idleMs: 60_000 })
    d.detect([login('ann', T0)])
    expect(d.flush(wall)).toEqual([])
    expect(windows).toEqual([])
    wall += 61_000
    d.flush(wall)
    expect(windows).toHaveLength(1)
  })
})

describe('anomaly state bounds', () => {
  it('holds at most maxEntities, forgets the least recently active and reports it', () => {
    const { d, windows } = detector({ maxEntities: 3 })
    d.detect(['u1', 'u2', 'u3', 'u4', 'u5'].map((u, i) => login(u, T0 + i * MIN)))
    expect(d.state()).toMatchObject({ entities: 3, evicted: { open: 2, idle: 0 } })
    d.detect([login('u6', T0 + HOUR + 2 * MIN)])
    // u1 and u2 were forgotten with their windows; u6 pushed out u3, whose window had closed.
    expect(windows.map((w) => w.entity)).toEqual(['u3', 'u4', 'u5'])
    expect(d.state().entities).toBe(3)
    expect(d.state()).toMatchObject({ entities: 3, evicted: { open: 2, idle: 1 } })
  })
})

/** Ten users over 120 working hours, each with their own steady habits, then one burst. */
function scenario({ burstBy = 'user-3', ...options }: AnomalyOptions & { burstBy?: string }) {
  const random = seededRandom(11)
  const { d, windows } = detector({ minTrainingWindows: 200, warmupWindows: 24, ...options })
  const alerts: Alert[] = []
  for (let h = 0; h < 120; h++) {
    const batch: PalisadeEvent[] = []
    for (let u = 0; u < 10; u++) {
      const count = 5 + u + Math.floor(random() * 3)
      for (let k = 0; k < count; k++) {
        batch.push(login(`user-${u}`, T0 + h * HOUR + k * MIN, `ws-${u}`, 'success', 100))
      }
    }
    alerts.push(...d.detect(batch))
  }
  const at = T0 + 120 * HOUR
  const burst = Array.from({ length: 40 }, (_, k) =>
    login(burstBy, at + k * MIN, `server-${k}`, 'failure', 100),
  )
  alerts.push(...d.detect(burst), ...d.detect([login('user-0', at + HOUR + 2 * MIN)]))
  return { alerts, windows, d }
}

describe('anomaly alerts', () => {
  it('give the same alert the same id, so a second run over the same events stores none', () => {
    const first = scenario({})
    const second = scenario({})
    expect(first.alerts.map((a) => a.entity.value)).toEqual(['user-3'])
    expect(second.alerts.map((a) => a.id)).toEqual(first.alerts.map((a) => a.id))
    expect(first.alerts[0]).toMatchObject({
      '@timestamp': new Date(T0 + 121 * HOUR).toISOString(),
      rule: { id: 'anomaly-test-users', kind: 'anomaly', version: sets[0]!.version },
      level: 'medium',
    })
  })

  it('scores every window once a model exists, retraining every so many windows', () => {
    const versions: number[] = []
    const { windows } = scenario({
      retrainEveryWindows: 300,
      retrainEveryMs: 30 * 24 * HOUR,
      onModel: (m) => versions.push(m.version),
    })
    const scored = windows.filter((w) => w.score !== undefined)
    // The first model comes with the 200th window; every window after it is scored.
    expect(windows.length - scored.length).toBe(200)
    // Trained at windows 200, 500, 800 and 1100 of 1200.
    expect(versions).toEqual([1, 2, 3, 4])
  })

  it('retrains once event time moved a day since the last training', () => {
    const through: string[] = []
    scenario({ retrainEveryWindows: 1e9, onModel: (m) => through.push(m.trainedThrough) })
    // First after 200 windows (hour 20, ten users), then a day of event time after each.
    expect(through).toEqual([20, 44, 68, 92, 116].map((h) => new Date(T0 + h * HOUR).toISOString()))
  })

  it('explain a new entity against the population when it may alert before warming up', () => {
    const { alerts } = scenario({ warmupWindows: 0, burstBy: 'newcomer' })
    expect(alerts.map((a) => a.entity.value)).toEqual(['newcomer'])
    const baselines = new Set(alerts[0]!.anomaly!.deviations.map((d) => d.baseline))
    expect([...baselines]).toEqual(['population'])
  })

  it('keep a new entity quiet until it has had its warm-up windows', () => {
    expect(scenario({ burstBy: 'newcomer' }).alerts).toEqual([])
  })

  it('raise none where no feature is far from its baseline, however rare the forest finds it', () => {
    const { alerts } = scenario({ minDeviation: 1000 })
    expect(alerts).toEqual([])
  })

  it('resume with a stored model and score from the first window', () => {
    const models: Parameters<NonNullable<AnomalyOptions['onModel']>>[0][] = []
    scenario({ onModel: (m) => models.push(m) })
    const { d, windows } = detector({ models: [models.at(-1)!] })
    d.detect([login('ann', T0), login('ann', T0 + HOUR + 2 * MIN)])
    expect(windows[0]!.score).toBeGreaterThan(0)
    expect(d.state().models[0]).toMatchObject({ version: models.at(-1)!.version })
  })
})

describe('anomaly events for correlations', () => {
  it('carry the entity under its own field at the window end, with the alert id', () => {
    const alert = { id: derivedId('t', 'a'), '@timestamp': '2025-12-01T10:00:00.000Z' }
    const e = anomalyEvent({ ...alert, entity: { kind: 'source.ip', value: '10.0.0.1' } } as Alert)
    expect(e).toMatchObject({ ...alert, source: { ip: '10.0.0.1' } })
  })
})
