/**
 * The sliding windows of a lower-bounded count, distinct count or sum (SLIDING.md, section A):
 * one group's events not yet in an alert, and the set among them that meets the condition.
 *
 * A group's events are taken in order of (event time, event id), the id breaking ties so
 * every back end orders them alike. At event k the candidate set is the events after the one
 * that raised the group's last alert, up to k, and less than a timespan older than k
 * (`t_k - T < t_j`, half-open like the windows `[start, start + T)` before). When it meets the
 * condition an alert is raised on it, and its events count toward no other alert of the group.
 */

/** One event a sliding group keeps: its time and id, and for value_sum and value_count its value. */
export type KeptEvent = [time: number, id: string, value?: number | string]

export interface SlidingGroup {
  correlation: string
  group: string[]
  /** Events not yet in an alert, in (time, id) order; value_count keeps one per value. */
  events: KeptEvent[]
  /**
   * (time, id) of the event that raised the group's last alert. Only events after it count;
   * kept while an event could still arrive before it within the allowed lateness.
   */
  after?: [number, string]
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
 * complete a set with events that came after it. At most one set is completed: the events of
 * every later set were already short of the condition, and those of the one completed leave.
 *
 * Not counted: an event at or before the one that raised the group's last alert (it had its
 * place in that alert or before it; this is also what makes a redelivered batch raise nothing),
 * an event already kept (redelivered), and for value_count a value a later kept event already
 * stands for. A value_count group keeps each value's latest event only: a late event then
 * counts its value from the time of the latest one, which may miss a set, never make a wrong
 * one. A value_sum group keeps at most `cap` events, dropping the oldest
 * (`cappedThrough`).
 *
 * @param meets whether a measured number meets the correlation's condition
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
  if (g.after && !follows(t, id, g.after[0], g.after[1])) return undefined
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
    let n = 1
    if (measure === 'sum') n = xs[k]![2] as number
    while (lo > 0 && xs[lo - 1]![0] > since) {
      lo--
      n = measure === 'sum' ? n + (xs[lo]![2] as number) : n + 1
    }
    if (!meets(n)) continue
    const set = xs.splice(0, k + 1).slice(lo)
    const last = set.at(-1)!
    g.after = [last[0], last[1]]
    return { first: set[0]![0], last, ids: set.map((x) => x[1]), n }
  }
  return undefined
}

/**
 * Forgets what no event yet to come can use, once the group's time has reached `limit`: an
 * event still counted is no older than `limit - lateness`, so its sets hold no event older
 * than a timespan before that, and nothing before the last alert's event can arrive.
 * Returns whether the group now holds nothing.
 */
export function pruneGroup(
  g: SlidingGroup,
  limit: number,
  lateness: number,
  timespanMs: number,
): boolean {
  const horizon = limit - lateness - timespanMs
  let drop = 0
  while (drop < g.events.length && g.events[drop]![0] <= horizon) drop++
  if (drop > 0) g.events.splice(0, drop)
  if (g.after && g.after[0] < limit - lateness) delete g.after
  return g.events.length === 0 && g.after === undefined
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
