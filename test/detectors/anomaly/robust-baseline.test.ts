import { describe, expect, it } from 'vitest'

import {
  hourOfWeek,
  MAD_TO_SIGMA,
  RecentValues,
  robustBaseline,
  robustZ,
  SeasonalValues,
} from '../../../detectors/anomaly/robust-baseline.ts'

describe('robust baselines', () => {
  it('takes the median and MAD worked out by hand', () => {
    // Sorted: 2 4 4 5 7 9 30, median 5; distances 3 1 1 0 2 4 25, sorted 0 1 1 2 3 4 25: MAD 2.
    const b = robustBaseline([7, 2, 30, 4, 9, 5, 4], 0.5)
    expect(b).toEqual({ median: 5, mad: 2, scale: 2 * MAD_TO_SIGMA, n: 7 })
    // 30 is 25 from the median: 25 / 2.9652 = 8.43 robust z; a mean and standard deviation
    // (8.71 and a sample deviation of 9.66) would have called it 2.20, the outlier hiding itself.
    expect(robustZ(30, b)).toBeCloseTo(8.431, 3)
    expect(robustZ(5, b)).toBe(0)
    expect(robustZ(2, b)).toBeCloseTo(-1.012, 3)
  })

  it('takes the mean of the middle two for an even count', () => {
    // 1 2 3 4 5 6 → median 3.5; distances 2.5 1.5 0.5 0.5 1.5 2.5 → MAD 1.5.
    expect(robustBaseline([6, 1, 5, 2, 4, 3], 0.1)).toMatchObject({ median: 3.5, mad: 1.5 })
  })

  it('gives values that never varied the floor as their spread, not zero', () => {
    const b = robustBaseline([1, 1, 1, 1], 1)
    expect(b).toEqual({ median: 1, mad: 0, scale: 1, n: 4 })
    expect(robustZ(3, b)).toBe(2)
  })

  it('is 1.4826, the MAD of a standard normal turned into its sigma', () => {
    expect(MAD_TO_SIGMA).toBeCloseTo(1.4826, 4)
  })

  it('keeps only the last values, oldest overwritten first', () => {
    const recent = new RecentValues(3)
    for (const v of [1, 2, 3, 4, 5]) recent.push(v)
    expect(recent.size).toBe(3)
    expect(recent.toArray().sort()).toEqual([3, 4, 5])
  })

  it('keeps per hour of the week the last four weeks, apart from other hours', () => {
    const seasonal = new SeasonalValues(4)
    for (const v of [10, 11, 12, 13, 14]) seasonal.push(33, v)
    seasonal.push(34, 99)
    expect(seasonal.at(33).sort()).toEqual([11, 12, 13, 14])
    expect(seasonal.at(34)).toEqual([99])
    expect(seasonal.at(35)).toEqual([])
  })

  it('counts hours of the week from Sunday 00:00 UTC', () => {
    expect(hourOfWeek(Date.UTC(2025, 10, 30, 0, 0))).toBe(0) // a Sunday
    expect(hourOfWeek(Date.UTC(2025, 11, 1, 9, 30))).toBe(33) // Monday 09:30
    expect(hourOfWeek(Date.UTC(2025, 11, 6, 23, 59))).toBe(167) // Saturday 23:59
  })
})
