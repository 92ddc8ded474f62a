import { describe, expect, it } from 'vitest'

import { packSlices } from '../../../detectors/hunts/hunt-slices.ts'

const b = (start: number, end: number, events: number) => ({ start, end, events })

describe('cutting a hunt range into slices', () => {
  it('packs consecutive buckets up to the bound and covers the range with no gap', () => {
    const slices = packSlices(
      0,
      100,
      [b(0, 10, 4), b(10, 20, 4), b(20, 30, 4), b(40, 50, 1), b(90, 100, 6)],
      8,
    )
    expect(slices).toEqual([b(0, 20, 8), b(20, 90, 5), b(90, 100, 6)])
  })

  it('gives a bucket holding more than the bound a slice of its own', () => {
    expect(packSlices(0, 30, [b(0, 10, 1), b(10, 11, 50), b(11, 30, 2)], 10)).toEqual([
      b(0, 10, 1),
      b(10, 11, 50),
      b(11, 30, 2),
    ])
  })

  it('makes one empty slice of a range without events, so the hunt still reads it once', () => {
    expect(packSlices(5, 50, [], 10)).toEqual([b(5, 50, 0)])
    expect(packSlices(5, 50, [b(5, 20, 0)], 10)).toEqual([b(5, 50, 0)])
  })

  it('counts every event once across the slices', () => {
    const buckets = Array.from({ length: 100 }, (_, i) => b(i * 10, i * 10 + 10, (i * 7) % 13))
    const slices = packSlices(0, 1000, buckets, 25)
    expect(slices.reduce((n, s) => n + s.events, 0)).toBe(buckets.reduce((n, s) => n + s.events, 0))
    expect(slices.every((s) => s.events <= 25)).toBe(true)
    for (let i = 1; i < slices.length; i++) expect(slices[i]!.start).toBe(slices[i - 1]!.end)
  })
})
