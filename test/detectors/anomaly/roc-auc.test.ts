import { describe, expect, it } from 'vitest'

import { rocAuc } from '../../../detectors/anomaly/roc-auc.ts'

describe('rocAuc', () => {
  it('is 1 when every anomaly scores above every normal point, and 0 the other way', () => {
    expect(rocAuc([0.9, 0.8, 0.1, 0.2], [true, true, false, false])).toBe(1)
    expect(rocAuc([0.1, 0.2, 0.9, 0.8], [true, true, false, false])).toBe(0)
  })

  it('counts a tie between an anomaly and a normal point as half', () => {
    expect(rocAuc([0.5, 0.5], [true, false])).toBe(0.5)
    expect(rocAuc([0.7, 0.7, 0.7, 0.7], [true, false, true, false])).toBe(0.5)
  })

  it('gives the known answer of a small mixed case: 3 of 4 pairs in order', () => {
    // Anomalies 0.35 and 0.8 against normal 0.1 and 0.4: (0.35 > 0.1), (0.8 > both): 3/4.
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [false, false, true, true])).toBe(0.75)
  })

  it('refuses a set with one class only, or labels that do not pair with the scores', () => {
    expect(() => rocAuc([0.1, 0.2], [false, false])).toThrow(/both anomalies and normal/)
    expect(() => rocAuc([0.1, 0.2], [true])).toThrow(/a label for each of the 2 scores, got 1/)
  })
})
