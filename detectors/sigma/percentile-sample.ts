/**
 * Percentiles of a correlation window's values: exact up to a cap, from a deterministic
 * sample beyond it.
 */

/**
 * The `p`th percentile (0 to 100) of `values`, interpolated linearly between the two closest
 * ranks (Hyndman and Fan's definition 7, the default of NumPy and R, and ClickHouse's
 * `quantileExactInclusive`): the median of 1, 2, 3, 4 is 2.5. Undefined for no values.
 */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  const rank = ((sorted.length - 1) * p) / 100
  const below = Math.floor(rank)
  const above = Math.min(below + 1, sorted.length - 1)
  return sorted[below]! + (rank - below) * (sorted[above]! - sorted[below]!)
}

/**
 * Keeps `x` among a value_percentile window's values `xs`, whose ranks are `rs`. Up to `max`
 * values every one is kept, so the percentile is exact. Beyond, the window keeps the `max`
 * values whose events have the lowest `rank` (a hash of the event id; a bottom-k sample): a
 * uniform sample of the window, and the same one whatever order or how often the events
 * arrive, so a replay decides the window as the first run did. A reservoir drawn with random
 * numbers would not; keeping the first `max` values would describe only the start of the
 * window. With 10 000 values the sampled median is within about 1 % of ranks of the true one
 * (binomial error, 0.5 / sqrt(n)). `rs` is a max-heap, its root the rank a new value must beat.
 */
export function keepValue(xs: number[], rs: number[], x: number, rank: number, max: number) {
  let i: number
  if (xs.length < max) {
    i = xs.length
    xs.push(x)
    rs.push(rank)
    while (i > 0 && rs[(i - 1) >> 1]! < rs[i]!) i = swap(xs, rs, i, (i - 1) >> 1)
    return
  }
  if (rank >= rs[0]!) return
  xs[0] = x
  rs[0] = rank
  for (i = 0; ;) {
    const l = 2 * i + 1
    const r = l + 1
    let top = i
    if (l < rs.length && rs[l]! > rs[top]!) top = l
    if (r < rs.length && rs[r]! > rs[top]!) top = r
    if (top === i) return
    i = swap(xs, rs, i, top)
  }
}

/** Swaps entries `i` and `j` of both arrays; returns `j`. */
function swap(xs: number[], rs: number[], i: number, j: number): number {
  ;[xs[i], xs[j]] = [xs[j]!, xs[i]!]
  ;[rs[i], rs[j]] = [rs[j]!, rs[i]!]
  return j
}

/** An event id's rank for `keepValue`: FNV-1a, then MurmurHash3's finaliser to mix it. */
export function rankOf(id: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193)
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}
