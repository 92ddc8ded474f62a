import { describe, expect, it } from 'vitest'

import {
  contaminationThreshold,
  loadModel,
  storeModel,
  trainAnomalyModel,
} from '../../../detectors/anomaly/anomaly-model.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

const options = {
  featureSet: 'anomaly-test',
  featureSetVersion: 'v',
  version: 1,
  trainedThrough: Date.UTC(2025, 11, 1),
  features: ['a', 'b'],
  minSpread: [1, 1],
  contamination: 0.05,
}

describe('anomaly model thresholds from the expected contamination', () => {
  it('is the score quantile at 1 − contamination, interpolated as R type 7', () => {
    const scores = [11, 3, 7, 1, 5, 9, 2, 10, 4, 8, 6]
    expect(contaminationThreshold(scores, 0.1)).toBe(10)
    // (11 − 1) × 0.75 = 7.5: halfway between the 8th and 9th smallest, 8 and 9.
    expect(contaminationThreshold(scores, 0.25)).toBe(8.5)
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1)
    // 99 × 0.99 = 98.01: 99 + 0.01 × (100 − 99).
    expect(contaminationThreshold(hundred, 0.01)).toBeCloseTo(99.01, 10)
  })

  it('refuses a contamination of 0, one above a half, and no scores', () => {
    expect(() => contaminationThreshold([0.5], 0)).toThrow(/above 0 and at most 0.5, got 0/)
    expect(() => contaminationThreshold([0.5], 0.6)).toThrow(/got 0.6/)
    expect(() => contaminationThreshold([], 0.1)).toThrow(/got none/)
  })

  it('leaves about the contamination share of training windows above the threshold', () => {
    const random = seededRandom(3)
    const rows = Array.from({ length: 2000 }, () => [random() * 10, random() * 10])
    const model = trainAnomalyModel(rows, options)
    const above = rows.filter((r) => model.forest.score(r) > model.threshold).length
    expect(above / rows.length).toBeLessThanOrEqual(0.05)
    expect(above / rows.length).toBeGreaterThan(0.04)
    // A point far outside every training window scores above it.
    expect(model.forest.score([100, -50])).toBeGreaterThan(model.threshold)
  })

  it('keeps the population median and spread per feature, with the floor on the spread', () => {
    const rows = Array.from({ length: 100 }, (_, i) => [i % 10, 7])
    const model = trainAnomalyModel(rows, options)
    // 0..9 ten times each: median 4.5, MAD 2.5; a constant column gets the floor.
    expect(model.population.median).toEqual([4.5, 7])
    expect(model.population.scale[0]).toBeCloseTo(2.5 * 1.4826, 3)
    expect(model.population.scale[1]).toBe(1)
  })

  it('comes back from its stored JSON scoring the same', () => {
    const random = seededRandom(4)
    const rows = Array.from({ length: 300 }, () => [random(), random()])
    const model = trainAnomalyModel(rows, { ...options, version: 9 })
    const back = loadModel(JSON.parse(JSON.stringify(storeModel(model))))
    expect(back.version).toBe(9)
    expect(back.forest.seed).toBe(9)
    for (const r of rows.slice(0, 20)) expect(back.forest.score(r)).toBe(model.forest.score(r))
  })
})
