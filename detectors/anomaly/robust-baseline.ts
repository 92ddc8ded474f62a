import { median, medianAbsoluteDeviation } from 'simple-statistics'

/**
 * Robust z-scores: how far a value is from a median, in units of the median absolute deviation
 * scaled to estimate a standard deviation (1.4826 MAD is σ for normal data; Rousseeuw and
 * Croux, "Alternatives to the median absolute deviation", JASA 1993). A median and a MAD are
 * moved by no single outlier, so a spike cannot hide itself by inflating its own baseline.
 */

/** 1 / Φ⁻¹(3/4): makes the MAD a consistent estimate of σ for normal data. */
export const MAD_TO_SIGMA = 1.482602218505602

export interface Baseline {
  median: number
  /** The median absolute deviation, unscaled. */
  mad: number
  /** The spread z is measured in: max(1.4826 MAD, the floor given). */
  scale: number
  /** How many values it was made from. */
  n: number
}

/**
 * The median and MAD of `values`, with a floor on the spread: values that never varied have a
 * MAD of 0, and a first change must be large, not infinite.
 *
 * @param minSpread the smallest `scale` (in the values' units), positive
 * @example robustBaseline([1, 2, 3, 4, 100], 0.1) // { median: 3, mad: 1, scale: 1.4826…, n: 5 }
 */
export function robustBaseline(values: readonly number[], minSpread: number): Baseline {
  if (values.length === 0) return { median: 0, mad: 0, scale: minSpread, n: 0 }
  const m = median(values as number[])
  const mad = medianAbsoluteDeviation(values as number[])
  return { median: m, mad, scale: Math.max(MAD_TO_SIGMA * mad, minSpread), n: values.length }
}

/** (x − median) / scale. */
export function robustZ(value: number, baseline: Baseline): number {
  return (value - baseline.median) / baseline.scale
}

/**
 * A fixed number of the latest values, oldest overwritten first. A baseline over the last
 * `capacity` windows follows an entity that changes slowly, and holds a bounded amount.
 */
export class RecentValues {
  private readonly values: Float64Array
  private next = 0
  private filled = 0

  constructor(capacity: number) {
    this.values = new Float64Array(capacity)
  }

  get size(): number {
    return this.filled
  }

  push(value: number): void {
    this.values[this.next] = value
    this.next = (this.next + 1) % this.values.length
    if (this.filled < this.values.length) this.filled++
  }

  toArray(): number[] {
    return Array.from(this.values.subarray(0, this.filled))
  }
}

/** Hours in a week: the seasons of a seasonal baseline. */
export const HOURS_PER_WEEK = 168

/**
 * Per hour of the week, the last `weeks` values seen in it: a count at 09:00 on a Monday is
 * compared with the Mondays at 09:00 before, not with the night. Only windows with activity
 * are recorded (a quiet hour has no window), so this is "how much, when active at this hour".
 */
export class SeasonalValues {
  private readonly values: Float64Array
  private readonly filled = new Uint8Array(HOURS_PER_WEEK)
  private readonly next = new Uint8Array(HOURS_PER_WEEK)

  constructor(private readonly weeks: number) {
    this.values = new Float64Array(HOURS_PER_WEEK * weeks)
  }

  push(hourOfWeek: number, value: number): void {
    const at = hourOfWeek * this.weeks
    this.values[at + this.next[hourOfWeek]!] = value
    this.next[hourOfWeek] = (this.next[hourOfWeek]! + 1) % this.weeks
    if (this.filled[hourOfWeek]! < this.weeks) this.filled[hourOfWeek]!++
  }

  at(hourOfWeek: number): number[] {
    const start = hourOfWeek * this.weeks
    return Array.from(this.values.subarray(start, start + this.filled[hourOfWeek]!))
  }
}

/** The hour of the week a time falls in, UTC: 0 is Sunday 00:00–00:59, 167 Saturday 23:00. */
export function hourOfWeek(ms: number): number {
  const d = new Date(ms)
  return d.getUTCDay() * 24 + d.getUTCHours()
}
