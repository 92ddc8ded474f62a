/**
 * The sliding windows of a lower-bounded count, distinct count or sum (SLIDING.md, section A):
 * one group's events not yet in an alert, and the set among them that meets the condition.
 *
 * A group's events are taken in order of (event time, event id), the id breaking ties so
 * every back end orders them alike. At event k the candidate set is the group's events up to
 * k that are in no alert yet and less than a timespan older than k (`t_k - T < t_j`,
 * half-open like the windows `[start, start + T)` before). When it meets the condition an
 * alert is raised on it, and its events count toward no other alert of the group. In order,
 * the events before the last alert's event that are in no alert are more than a timespan
 * older than any event to come, so this is the specification's "after < j <= k".
 */

/** An event a sliding group keeps: its time and id, and its value for value_sum and value_count. */
export type KeptEvent = [time: number, id: string, value?: number | string]

export interface SlidingGroup {
  correlation: string
  group: string[]
  /** Events in no alert yet, in (time, id) order; value_count keeps one per value. */
  events: KeptEvent[]
  /**
   * The latest events alerts took, at most `cap`, in (time, id) order, while one could still
   * be redelivered within the allowed lateness: redelivered, it counts no second time.
   */
  consumed: KeptEvent[]
  /** (time, id) at or before which no event counts: older `consumed` ones were dropped. */
  sealed?: [number, string]
  /** Set when the group was opened after eviction of its correlation had reached this time. */
  partialThrough?: number
  /** value_sum: the latest time of an event dropped to stay within the cap. */
  cappedThrough?: number
}

/** What is measured of a candidate set: its events, its distinct values, or their sum. */
export type SlideMeasure = 'count' | 'distinct' | 'sum'

/** A candidate set that met the condition, now taken out of the group. */
export interface SlideHit {
  /** Time of its first event. */
  first: number
  /** Its last event, the one that completed it (event k). */
  last: KeptEvent
  ids: string[]
  /** What was measured of it. */
  n: number
}

/**
 * Places an event among its group's kept events and returns the candidate set it completed,
 * if any. A late event is placed by its time, so it counts as if it had come in order: it may
 * complete a set with events that came after it, or join the set of the next alert. At most
 * one set is completed: the events of every later set were already short of the condition,
 * and those of the one completed leave.
 *
 * Not counted: an event an alert already took or that is kept (redelivered); one at or before
 * `sealed` (it may have been taken by an alert whose events are no longer remembered); and for
 * value_count a value that a later event already stands for, kept or taken. A value_count
 * group keeps each value's latest event only: a late event then counts its value from the
 * time of the latest one, which may miss a set, never make a wrong one. A value_sum group
 * keeps at most `cap` events, dropping the oldest (`cappedThrough`).
 *
 * @param meets whether a measured number meets the correlation's condition
 * @param cap most events a sum keeps, and most taken events remembered
 */
export function placeEvent(
  g: SlidingGroup,
  event: KeptEvent,
  measure: SlideMeasure,
  timespanMs: number,
  meets: (n: number) => boolean,
  cap: number,
): SlideHit | undefined {
  const [t, id] = event
  if (g.sealed && !follows(t, id, g.sealed[0], g.sealed[1])) return undefined
  const taken = g.consumed
  const newest = taken.at(-1)
  if (newest && !follows(t, id, newest[0], newest[1])) {
    for (const x of taken) {
      if (x[1] === id && x[0] === t) return undefined
      if (measure === 'distinct' && x[2] === event[2] && follows(x[0], x[1], t, id))
        return undefined
    }
  }
  const xs = g.events
  let p = searchFrom(xs, t, id)
  if (p < xs.length && xs[p]![0] === t && xs[p]![1] === id) return undefined

  if (measure === 'distinct') {
    const q = xs.findIndex((x) => x[2] === event[2])
    if (q >= p) return undefined
    if (q >= 0) {
      xs.splice(q, 1)
      p--
    }
  }
  xs.splice(p, 0, event)
  if (measure === 'sum' && xs.length > cap) {
    const dropped = xs.shift()!
    g.cappedThrough = Math.max(g.cappedThrough ?? -Infinity, dropped[0])
    if (p === 0) return undefined
    p--
  }

  for (let k = p; k < xs.length; k++) {
    const since = xs[k]![0] - timespanMs
    let lo = k
    let n = measure === 'sum' ? (xs[k]![2] as number) : 1
    while (lo > 0 && xs[lo - 1]![0] > since) {
      lo--
      n = measure === 'sum' ? n + (xs[lo]![2] as number) : n + 1
    }
    if (!meets(n)) continue
    const set = xs.splice(lo, k + 1 - lo)
    take(g, set, cap)
    return { first: set[0]![0], last: set.at(-1)!, ids: set.map((x) => x[1]), n }
  }
  return undefined
}

/** Remembers the events of an alert, the latest `cap` of all taken; older ones seal. */
function take(g: SlidingGroup, set: KeptEvent[], cap: number): void {
  const taken = g.consumed
  const newest = taken.at(-1)
  const inOrder = !newest || follows(set[0]![0], set[0]![1], newest[0], newest[1])
  taken.push(...set)
  if (!inOrder) taken.sort((a, b) => (follows(a[0], a[1], b[0], b[1]) ? 1 : -1))
  if (taken.length <= cap) return
  const dropped = taken.splice(0, taken.length - cap).at(-1)!
  if (!g.sealed || follows(dropped[0], dropped[1], g.sealed[0], g.sealed[1])) {
    g.sealed = [dropped[0], dropped[1]]
  }
}

/**
 * Forgets what no event yet to come can use, once the group's time has reached `limit`: an
 * event still counted is no older than `limit - lateness`, so its sets hold no event older
 * than a timespan before that, and an older redelivered one is late anyway.
 * Returns whether the group now holds nothing.
 */
export function pruneGroup(
  g: SlidingGroup,
  limit: number,
  lateness: number,
  timespanMs: number,
): boolean {
  const counted = limit - lateness
  let drop = 0
  while (drop < g.events.length && g.events[drop]![0] <= counted - timespanMs) drop++
  if (drop > 0) g.events.splice(0, drop)
  drop = 0
  while (drop < g.consumed.length && g.consumed[drop]![0] < counted) drop++
  if (drop > 0) g.consumed.splice(0, drop)
  if (g.sealed && g.sealed[0] < counted) delete g.sealed
  return g.events.length === 0 && g.consumed.length === 0 && g.sealed === undefined
}

/** Whether (t, id) comes after (at, atId) in the order events of a group are taken in. */
function follows(t: number, id: string, at: number, atId: string): boolean {
  return t > at || (t === at && id > atId)
}

/** The first index whose event is not before (t, id). */
function searchFrom(xs: readonly KeptEvent[], t: number, id: string): number {
  let lo = 0
  let hi = xs.length
  // Events mostly come in order: the place is usually at the end.
  if (hi === 0 || follows(t, id, xs[hi - 1]![0], xs[hi - 1]![1])) return hi
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    const x = xs[mid]!
    if (follows(t, id, x[0], x[1])) lo = mid + 1
    else hi = mid
  }
  return lo
}
