import type { Alert } from '../../platform/alert-model.ts'
import type { PalisadeEvent } from '../../platform/event-model.ts'
import type { FieldGetter } from './compile-value.ts'
import {
  correlationAlert,
  distinctValuesKept,
  slideAlertId,
  windowAlertId,
} from './correlation-alert.ts'
import { pathGetter } from './field-resolver.ts'
import type { CompiledCorrelation, CompiledRule, RuleSet } from './rule-set.ts'
import type { CorrelationType, CountCondition } from './sigma-rule.ts'
import { createGroupKeys, entityKey } from './group-keys.ts'
import type { Eviction, GroupKey } from './group-keys.ts'
import { keepValue, percentile, rankOf } from './percentile-sample.ts'
import { placeEvent, pruneGroup } from './sliding-group.ts'
import type { KeptEvent, SlideMeasure, SlidingGroup } from './sliding-group.ts'

/**
 * Correlation rules over a stream, on event time (Sigma correlation rules specification), with
 * the windows SLIDING.md defines, so the stream and the SQL back end agree:
 *
 * - A count, a number of distinct values or a sum whose condition has only a lower bound
 *   (`gt`, `gte`) slides (`event_count`, `value_count`, `value_sum`; see sliding-group.ts): an
 *   alert is raised at the event that completes a set of the group's events within a timespan
 *   meeting the condition, and those events count toward no other alert of the group. A burst
 *   of 50 failures against `gte: 10` raises 5 alerts, and a burst across an hour boundary is
 *   not split. Its id derives from the correlation, its version, the group and the event that
 *   completed the set, so redelivery cannot duplicate it. (A sum slides on the assumption that
 *   what it adds up, bytes or counts, is never negative.)
 * - Everything decided at a window's end (an upper bound: `lt`, `lte`, `eq`, `neq`, ranges;
 *   any `value_avg` or `value_percentile`) is anchored: a window opens at the group's first
 *   event that no open window of the group covers, covers `[t_open, t_open + T)`, and is
 *   decided once, when it closes. The next opens at the next event at or after its end. Its
 *   alert's id derives from the correlation, its version, the group and `t_open`.
 *
 * The metric types read their field as a number (a JSON number, or a string holding one); an
 * event whose field is missing or not a number does not count.
 *
 * `temporal` and `temporal_ordered` keep, per group, when each referenced rule last matched
 * (in order, for the ordered kind) and fire when all did within less than the timespan.
 *
 * Time is kept per entity: each (correlation, group) has its own watermark, the largest event
 * time seen for it. One global watermark let a single event from the future (a wrong clock)
 * or a newer log replayed before an older one mark every other entity's events late. An
 * event time beyond the wall clock plus a day does not move a watermark at all. A sliding
 * group counts an event no older than its watermark less the allowed lateness; an anchored
 * window closes when the watermark passes its end plus the allowed lateness and counts every
 * event in its span until then. An event too late for either is counted in `state.late` and
 * per correlation in `state.lateBy`, never silently lost. The state is plain JSON, so it can
 * be checkpointed with the offsets it reflects.
 *
 * State is bounded: at most `maxGroups` group keys (a correlation and its group-by values)
 * are held, with their windows, sequence and watermark; a new key beyond that evicts one (see
 * `createGroupKeys`), which is counted and reported. A sliding count keeps the times of the
 * group's events not yet in an alert within a timespan plus the allowed lateness of its
 * watermark: fewer than the threshold per timespan, or an alert would have taken them, so
 * under `2 * N` for `gte: N` when the allowance is at most the timespan. A sliding
 * value_count keeps one event per distinct value, as many. A sliding sum keeps at most
 * `maxEventIds` events and, past that, drops the oldest and marks the alerts they would have
 * counted in partial. An anchored value_percentile window keeps at most
 * `maxPercentileValues` values, a value_count window one more distinct value than its
 * condition's largest number (than `maxEventIds` if that is more and the condition has no
 * upper bound: its alert says "more than" past it; see `distinctValuesKept`), and every
 * window at most `maxEventIds` event ids.
 */

/** An anchored window (see above): what a condition decided at its end needs. */
export interface CountWindow {
  correlation: string
  group: string[]
  start: number
  end: number
  count: number
  /** Latest time of an event counted in it; absent in windows checkpointed before it was. */
  last?: number
  /** Contributing event ids, capped at `maxEventIds`. */
  eventIds: string[]
  /** The last event counted in it; absent in windows checkpointed before it was. */
  lastId?: string
  /** value_count: distinct values seen. */
  values?: string[]
  /** value_sum, value_avg: the sum of the field's values (`count` of them). */
  sum?: number
  /** value_percentile: the field's values, all up to `maxPercentileValues`, then a sample. */
  numbers?: number[]
  /** value_percentile: each kept value's rank (its event id's hash), as a max-heap. */
  ranks?: number[]
  /**
   * Opened after evicted state of its correlation reached its start, for a group key that may
   * have been evicted: it may lack events the dropped state counted, so it is never decided
   * when it closes (an average, a percentile or an upper bound of part of a window says
   * nothing about the whole).
   */
  partial?: boolean
  /** Always false now; true in a version 1 tumbling window that had fired on a lower bound. */
  fired: boolean
}

export interface SequenceState {
  correlation: string
  group: string[]
  /** Per referenced rule: [time it last matched, chain start, event id]; null if not yet. */
  steps: ([number, number, string] | null)[]
}

export type { KeptEvent, SlidingGroup } from './sliding-group.ts'

export interface CorrelationState {
  /**
   * 2 since windows slide (SLIDING.md): `slides` and `lateBy` are new. A version 1 state
   * resumes with its sequences, watermarks, counts and anchored windows; what its tumbling
   * windows had counted toward a sliding condition restarts (see `upgradeCorrelationState`).
   */
  version: 2
  /** Largest plausible event time seen, any entity (ms since the epoch); informational. */
  watermark: number
  /** Per (correlation, group) key: the largest plausible event time seen for it. */
  entityWatermarks: Record<string, number>
  /** Events too late to count: older than the allowance, or after their window had closed. */
  late: number
  /** The same, per correlation id. */
  lateBy: Record<string, number>
  /** Anchored windows, by correlation, start and group. */
  windows: Record<string, CountWindow>
  /** Sliding groups, by group key (see `entityKey`). */
  slides: Record<string, SlidingGroup>
  sequences: Record<string, SequenceState>
  /** Group keys whose open windows or sequence were evicted at the `maxGroups` limit. */
  evicted: number
  /** Group keys with nothing open (only their watermark) forgotten at the limit. */
  pruned: number
  /**
   * Per correlation: the latest event time that state evicted from it had reached. A window
   * it opens later that starts no later than this, or an alert on events no later, for a key
   * new since, is `partial`.
   */
  evictedThrough: Record<string, number>
}

export interface CorrelatorOptions {
  /** How much older than its group's time an event may be and still count (default 60 s). */
  allowedLatenessMs?: number
  /** Cap on the event ids an alert carries and on the events a sliding sum keeps (default 100). */
  maxEventIds?: number
  /** Most group keys held at once, across every correlation (default 100 000). */
  maxGroups?: number
  /** Most values a value_percentile window keeps (default 10 000); beyond, a sample. */
  maxPercentileValues?: number
  /** The wall clock, for telling future-dated events apart (default `Date.now`). */
  now?: () => number
  /**
   * Whether a correlation runs; one that does not is neither fed nor feeds correlations that
   * chain on it. Asked per match, so turning one off takes effect at the next event.
   */
  isEnabled?: (correlationId: string) => boolean
}

export interface Correlator {
  /** Feeds one event and the detection rules it matched; returns correlation alerts. */
  process(event: PalisadeEvent, matched: readonly CompiledRule[]): Alert[]
  /**
   * Closes windows their entity's watermark has passed, or, given `nowMs` (the wall clock
   * once the stream has gone quiet), every window that time has passed; returns their alerts.
   */
  flush(nowMs?: number): Alert[]
  /** The live state: serialise it with JSON.stringify. */
  state(): CorrelationState
  /** Group keys held now: with an open window or sequence, or only a watermark. */
  groups(): number
  /** Evictions per correlation since the last call, for whoever reports them. */
  takeEvictions(): Eviction[]
}

export type { Eviction } from './group-keys.ts'
export { percentile } from './percentile-sample.ts'

/** The limits on state a correlator keeps unless told otherwise (see `CorrelatorOptions`). */
export const correlationLimits = { maxGroups: 100_000, maxPercentileValues: 10_000 } as const

export function emptyCorrelationState(): CorrelationState {
  return {
    version: 2,
    watermark: 0,
    entityWatermarks: {},
    late: 0,
    lateBy: {},
    windows: {},
    slides: {},
    sequences: {},
    evicted: 0,
    pruned: 0,
    evictedThrough: {},
  }
}

/**
 * A checkpointed state in the current shape, in place. Version 1 (tumbling windows) had no
 * sliding groups: its windows are kept as anchored ones, which is what they are to a
 * condition decided at a window's end, and the windows of sliding conditions are closed
 * without a decision when their time passes, so what they had counted restarts.
 */
export function upgradeCorrelationState(state: CorrelationState): CorrelationState {
  const s = state as Partial<CorrelationState> & { version: number }
  s.entityWatermarks ??= {}
  s.lateBy ??= {}
  s.slides ??= {}
  s.evicted ??= 0
  s.pruned ??= 0
  s.evictedThrough ??= {}
  s.version = 2
  return state
}

/** A fired correlation as the correlations chained on it see it: an event, and its time. */
type Fired = [event: PalisadeEvent, at: number]

/**
 * @param ruleSet the compiled rules, whose correlations this runs
 * @param state a checkpointed state to resume from (an older version is upgraded in place)
 */
export function createCorrelator(
  ruleSet: RuleSet,
  options: CorrelatorOptions = {},
  state: CorrelationState = emptyCorrelationState(),
): Correlator {
  const lateness = options.allowedLatenessMs ?? 60_000
  const cap = options.maxEventIds ?? 100
  const maxGroups = options.maxGroups ?? correlationLimits.maxGroups
  const maxValues = options.maxPercentileValues ?? correlationLimits.maxPercentileValues
  const enabled = options.isEnabled
  const clock = options.now ?? Date.now
  /** Group keys the current event touched, and the times they saw; their watermarks move. */
  const touched: GroupKey[] = []
  const touchedAt: number[] = []
  upgradeCorrelationState(state)
  const users = new Map<string, CompiledCorrelation[]>()
  for (const c of ruleSet.correlations) {
    for (const id of new Set(c.ruleIds)) users.set(id, [...(users.get(id) ?? []), c])
  }

  const keys = createGroupKeys(state, maxGroups, (id) => ruleSet.ruleById(id)?.title)

  // What a sliding correlation measures and when it holds, made once, not per event.
  const measures = new Map<string, SlideMeasure>()
  const conditions = new Map<string, (n: number) => boolean>()
  for (const c of ruleSet.correlations) {
    measures.set(
      c.id,
      c.type === 'value_sum' ? 'sum' : c.type === 'value_count' ? 'distinct' : 'count',
    )
    conditions.set(c.id, (n) => holds(c.condition, n))
  }
  const measureOf = (c: CompiledCorrelation) => measures.get(c.id)!
  const meetsOf = (c: CompiledCorrelation) => conditions.get(c.id)!

  const chainGetters = new Map<string, FieldGetter>()
  const getter = (matchedId: string, field: string): FieldGetter => {
    const rule = ruleSet.ruleById(matchedId)
    if (rule?.kind === 'detection') return rule.field(field)
    // A fired correlation hands on the event that made it fire (with the alert's id and the
    // time of the event that completed its set), which a detection rule under it matched:
    // read it the way the first such rule does (a Windows `User` is in winlog.event_data), as
    // a correlation over that rule would. A window that held when it closed hands on its
    // group values under their own names (see `windowEvent`).
    const key = `${matchedId}\u0000${field}`
    let g = chainGetters.get(key)
    if (!g) {
      const path = pathGetter(field)
      const leaf = detectionUnder(ruleSet, matchedId)
      const read = leaf?.field(field)
      g = read ? (e) => read(e) ?? path(e) : path
      chainGetters.set(key, g)
    }
    return g
  }

  const groupOf = (c: CompiledCorrelation, matchedId: string, event: PalisadeEvent): string[] =>
    c.groupBy.map((field) => {
      const rule = ruleSet.ruleById(matchedId)
      const aliased = rule?.name ? c.aliases[field]?.[rule.name] : undefined
      return text(getter(matchedId, aliased ?? field)(event))
    })

  /** An alert on events of `group` from `from` to `at` (a set's first and last, or a window). */
  const alert = (
    c: CompiledCorrelation,
    group: string[],
    id: string,
    from: number,
    at: number,
    eventIds: string[],
    count: number,
    options: { partial?: boolean; countedTo?: number } = {},
  ): Alert => correlationAlert(c, group, id, from, at, eventIds, count, cap, options)

  const countLate = (c: CompiledCorrelation): void => {
    state.late++
    state.lateBy[c.id] = (state.lateBy[c.id] ?? 0) + 1
  }

  /**
   * One correlation sees one matched rule (or fired correlation); returns what correlations
   * chained on it count when it fired in a way they may count.
   */
  const step = (
    c: CompiledCorrelation,
    matchedId: string,
    event: PalisadeEvent,
    t: number,
    out: Alert[],
  ): Fired | undefined => {
    const group = groupOf(c, matchedId, event)
    const h = keys.hold(c.id, entityKey(c, group), t, event.id, out)
    touched.push(h)
    touchedAt.push(t)
    let fired: Fired | undefined
    if (c.type === 'temporal' || c.type === 'temporal_ordered') {
      fired = stepSequence(c, matchedId, event, t, group, h, out)
    } else if (slides(c)) fired = stepSlide(c, matchedId, event, t, group, h, out)
    else stepWindow(c, matchedId, event, t, group, h)
    keys.settle(h)
    return fired
  }

  const stepSlide = (
    c: CompiledCorrelation,
    matchedId: string,
    event: PalisadeEvent,
    t: number,
    group: string[],
    h: GroupKey,
    out: Alert[],
  ): Fired | undefined => {
    let value: number | string | undefined
    if (c.type === 'value_sum') {
      value = numeric(getter(matchedId, c.field ?? '')(event))
      if (value === undefined) return undefined
    } else if (c.type === 'value_count') {
      value = distinctValue(c, matchedId, event)
      if (value === '') return undefined
    }
    if (t < (state.entityWatermarks[h.key] ?? -Infinity) - lateness) {
      countLate(c)
      return undefined
    }
    let g = state.slides[h.key]
    if (!g) {
      g = { correlation: c.id, group, events: [], consumed: [] }
      if (h.partialThrough > -Infinity) g.partialThrough = h.partialThrough
      state.slides[h.key] = g
    }
    const kept: KeptEvent = value === undefined ? [t, event.id] : [t, event.id, value]
    const hit = placeEvent(g, kept, measureOf(c), c.timespanMs, meetsOf(c), cap)
    if (!hit) return undefined
    const [at, lastId] = hit.last
    const id = slideAlertId(c, group, lastId)
    // Part of the group was dropped at a limit: the set may repeat one an evicted state
    // already alerted on (its events were counted again), or lack a sum's oldest events.
    const partial =
      hit.first <= (g.partialThrough ?? -Infinity) ||
      (g.cappedThrough ?? -Infinity) > at - c.timespanMs
    if (ruleSet.isStandalone(c.id))
      out.push(alert(c, group, id, hit.first, at, hit.ids, hit.n, { partial }))
    // A partial alert feeds nothing: it may be the second for the same events.
    if (partial) return undefined
    return [{ ...event, id, '@timestamp': new Date(at).toISOString() }, at]
  }

  const stepWindow = (
    c: CompiledCorrelation,
    matchedId: string,
    event: PalisadeEvent,
    t: number,
    group: string[],
    h: GroupKey,
  ): void => {
    let x: number | undefined
    if (isMetric(c.type)) {
      x = numeric(getter(matchedId, c.field ?? '')(event))
      if (x === undefined) return
    }
    // The open window that covers t; windows overlap only where a late event opened one
    // before another, and then an event belongs to the one that started last.
    let key: string | undefined
    let next: string | undefined
    for (const k of h.windows) {
      const o = state.windows[k]!
      if (o.start <= t && t < o.end) {
        if (key === undefined || o.start > state.windows[key]!.start) key = k
      } else if (o.start > t && (next === undefined || o.start < state.windows[next]!.start)) {
        next = k
      }
    }
    if (key === undefined) {
      if (t < (state.entityWatermarks[h.key] ?? -Infinity) - lateness) {
        countLate(c)
        return
      }
      const later = next === undefined ? undefined : state.windows[next]!
      if (later?.last !== undefined && later.last < t + c.timespanMs) {
        // A late event before the group's open window whose events all lie within a timespan
        // of it: had it come in order the window would have opened at it.
        key = windowKey(c, t, group)
        delete state.windows[next!]
        h.windows[h.windows.indexOf(next!)] = key
        later.start = t
        later.end = t + c.timespanMs
        if (t <= h.partialThrough) later.partial = true
        state.windows[key] = later
      } else {
        key = windowKey(c, t, group)
        const w: CountWindow = {
          correlation: c.id,
          group,
          start: t,
          end: t + c.timespanMs,
          count: 0,
          eventIds: [],
          fired: false,
        }
        if (c.type === 'value_count') w.values = []
        if (c.type === 'value_sum' || c.type === 'value_avg') w.sum = 0
        if (c.type === 'value_percentile') w.numbers = []
        if (t <= h.partialThrough) w.partial = true
        state.windows[key] = w
        h.windows.push(key)
      }
    }
    const w = state.windows[key]!
    // An event that several referenced rules match is one event of the group (SLIDING.md),
    // stepped once per rule in a row: past `cap` ids, `eventIds` no longer tells, and it
    // counted twice. A redelivered event must not count twice either: exact while the window
    // holds at most `cap` ids, which covers every threshold up to the cap.
    if (w.lastId === event.id || w.eventIds.includes(event.id)) return
    w.lastId = event.id
    w.count++
    w.last = Math.max(w.last ?? t, t)
    if (w.eventIds.length < cap) w.eventIds.push(event.id)
    if (w.values && w.values.length < distinctValuesKept(c.condition, cap)) {
      const v = distinctValue(c, matchedId, event)
      if (v !== '' && !w.values.includes(v)) w.values.push(v)
    }
    if (x !== undefined && w.sum !== undefined) w.sum += x
    if (x !== undefined && w.numbers) {
      // A window checkpointed before ranks existed: its values count as ranked lowest.
      w.ranks ??= w.numbers.map(() => 0)
      keepValue(w.numbers, w.ranks, x, rankOf(event.id), maxValues)
    }
  }

  /**
   * What value_count counts of an event: several fields are "linked by an AND"
   * (specification, "Value Count"), so their distinct combinations, of events that have all
   * of them; '' when the event lacks one.
   */
  const distinctValue = (c: CompiledCorrelation, matchedId: string, event: PalisadeEvent) => {
    const parts = (c.field ?? '').split(',').map((f) => text(getter(matchedId, f)(event)))
    return parts.includes('') ? '' : parts.join('\u0001')
  }

  const stepSequence = (
    c: CompiledCorrelation,
    matchedId: string,
    event: PalisadeEvent,
    t: number,
    group: string[],
    h: GroupKey,
    out: Alert[],
  ): Fired | undefined => {
    const seq = (state.sequences[h.key] ??= {
      correlation: c.id,
      group,
      steps: c.ruleIds.map(() => null),
    })
    const ordered = c.type === 'temporal_ordered'
    // Walk steps from last to first so one event cannot advance two steps of a chain.
    for (let i = c.ruleIds.length - 1; i >= 0; i--) {
      if (c.ruleIds[i] !== matchedId) continue
      if (!ordered || i === 0) seq.steps[i] = [t, t, event.id]
      else {
        const prev = seq.steps[i - 1]
        // Within the timespan: less than it apart (SLIDING.md, as for every type).
        if (prev && prev[0] <= t && t - prev[1] < c.timespanMs)
          seq.steps[i] = [t, prev[1], event.id]
      }
    }
    const done = ordered ? seq.steps.at(-1) : undefined
    let start: number
    if (ordered) {
      if (!done) return undefined
      start = done[1]
    } else {
      if (seq.steps.some((s) => s === null)) return undefined
      const times = seq.steps.map((s) => s![0])
      start = Math.min(...times)
      if (Math.max(...times) - start >= c.timespanMs) return undefined
    }
    const ids = [...new Set(seq.steps.map((s) => s![2]))]
    delete state.sequences[h.key]
    const id = windowAlertId(c, group, start)
    if (ruleSet.isStandalone(c.id)) out.push(alert(c, group, id, start, t, ids, c.ruleIds.length))
    return [event, t]
  }

  /**
   * Feeds the ids of the rules an event matched to the correlations that use them; a fired
   * correlation is itself a match for correlations that chain on it.
   */
  const feed = (ids: string[], event: PalisadeEvent, t: number, out: Alert[]): void => {
    // What fired is fed in turn, with the event and time it hands on (`Fired`).
    const events: PalisadeEvent[] = []
    const times: number[] = []
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!
      const e = events[i] ?? event
      const at = times[i] ?? t
      for (const c of users.get(id) ?? []) {
        if (enabled && !enabled(c.id)) continue
        const fired = step(c, id, e, at, out)
        if (!fired) continue
        events[ids.length] = fired[0]
        times[ids.length] = fired[1]
        ids.push(c.id)
      }
    }
    // Taken before anything below feeds again (a closing window feeds correlations over it).
    const moved = touched.splice(0)
    const movedAt = touchedAt.splice(0)
    // A time past the wall clock (plus a day for skewed senders) is a wrong clock, not
    // progress: it must not make everyone else's events late.
    if (t > clock() + FUTURE_TOLERANCE_MS) return
    if (t > state.watermark) state.watermark = t
    for (let i = 0; i < moved.length; i++) {
      const h = moved[i]!
      const at = movedAt[i]!
      if (h.place === 'gone') continue
      if (at <= (state.entityWatermarks[h.key] ?? -Infinity)) continue
      state.entityWatermarks[h.key] = at
      closePassed(h, out)
    }
  }

  /**
   * Closes what a key's watermark, which has just moved, has passed. Only a key an event
   * touches has its watermark move, so this is all the closing the stream needs between
   * flushes; a sweep over every open window whenever event time moved on cost time in
   * proportion to all the windows held (92% of a thousand-correlation run).
   */
  const closePassed = (h: GroupKey, out: Alert[]): void => {
    const limit = state.entityWatermarks[h.key] ?? -Infinity
    if (h.windows.length > 0) {
      for (const key of [...h.windows]) {
        const w = state.windows[key]
        if (w && w.end + lateness <= limit) closeWindow(key, w, out)
      }
    }
    const g = state.slides[h.key]
    if (g) pruneSlide(h.key, g, limit)
    const s = state.sequences[h.key]
    if (s && sequencePassed(s, limit)) {
      delete state.sequences[h.key]
      keys.ended(s.correlation, h.key)
    }
  }

  /** Forgets what of a sliding group no event to come can use once its time reaches `limit`. */
  const pruneSlide = (key: string, g: SlidingGroup, limit: number): void => {
    const c = ruleSet.ruleById(g.correlation)
    const timespan = c?.kind === 'correlation' ? c.timespanMs : 0
    if (c?.kind === 'correlation' && !pruneGroup(g, limit, lateness, timespan)) return
    delete state.slides[key]
    keys.ended(g.correlation, key)
  }

  /** Whether a sequence can no longer complete once its key's time has reached `limit`. */
  const sequencePassed = (s: SequenceState, limit: number): boolean => {
    const c = ruleSet.ruleById(s.correlation)
    const newest = Math.max(...s.steps.map((x) => (x ? x[0] : 0)))
    return !c || c.kind !== 'correlation' || newest + c.timespanMs + lateness <= limit
  }

  /**
   * Closes one window: it is forgotten, and one whose condition holds raises its alert and
   * feeds the correlations over its own. Returns whether it fed.
   */
  const closeWindow = (key: string, w: CountWindow, out: Alert[]): boolean => {
    delete state.windows[key]
    keys.release(w, key)
    const c = ruleSet.ruleById(w.correlation)
    // A sliding condition's window is one a version 1 state tumbled: it already fired.
    if (!c || c.kind !== 'correlation' || w.fired || slides(c)) return false
    if (enabled && !enabled(c.id)) return false
    // Part of a window cannot decide an average, a percentile or an upper bound.
    if (w.partial) return false
    const n = measure(c, w)
    if (n === undefined || !holds(c.condition, n)) return false
    const id = windowAlertId(c, w.group, w.start)
    if (ruleSet.isStandalone(c.id)) {
      // Its distinct values were counted up to a limit: past it, the alert says "more than".
      const countedTo = w.values ? distinctValuesKept(c.condition, cap) : undefined
      const options = countedTo === undefined ? {} : { countedTo }
      out.push(alert(c, w.group, id, w.start, w.end, w.eventIds, n, options))
    }
    if (!users.has(c.id)) return false
    feed([c.id], windowEvent(c, w), w.end, out)
    return true
  }

  /**
   * Closes every window and sequence that its key's watermark, or the wall clock `now` (the
   * stream has gone quiet), has passed; the stream closes as it goes (`closePassed`).
   */
  const close = (now = -Infinity): Alert[] => {
    const out: Alert[] = []
    const passed = (c: string, group: string[]) =>
      Math.max(now, state.entityWatermarks[`${c}\u0000${group.join('\u0001')}`] ?? -Infinity)
    // A window that holds when it closes feeds the correlations over its own, which may open
    // windows that close in the next round (only with `now`: the watermarks did not move).
    for (let round = 0, fed = true; fed && round <= ruleSet.correlations.length; round++) {
      fed = false
      for (const [key, w] of Object.entries(state.windows)) {
        // Evicted, or closed, while this loop fed a chained correlation.
        if (state.windows[key] !== w) continue
        if (w.end + lateness > passed(w.correlation, w.group)) continue
        if (closeWindow(key, w, out)) fed = now !== -Infinity
      }
    }
    for (const [key, g] of Object.entries(state.slides)) {
      pruneSlide(key, g, passed(g.correlation, g.group))
    }
    for (const [key, s] of Object.entries(state.sequences)) {
      if (!sequencePassed(s, passed(s.correlation, s.group))) continue
      delete state.sequences[key]
      keys.ended(s.correlation, key)
    }
    if (now !== -Infinity) {
      // The stream is quiet: keys with nothing open are forgotten, so state stays small.
      keys.forgetIdle()
    }
    return out
  }

  return {
    state: () => state,
    groups: () => keys.size,
    takeEvictions: () => keys.takeEvictions(),
    flush: (nowMs) => close(nowMs),
    process(event, matched) {
      if (users.size === 0 || matched.length === 0) return []
      const t = Date.parse(event['@timestamp'])
      if (Number.isNaN(t)) return []
      const out: Alert[] = []
      const ids = matched.map((r) => r.id)
      feed(ids, event, t, out)
      return out
    },
  }
}

/** The first detection rule a correlation refers to, through correlations it refers to. */
function detectionUnder(
  ruleSet: RuleSet,
  id: string,
  seen = new Set<string>(),
): CompiledRule | undefined {
  const rule = ruleSet.ruleById(id)
  if (!rule || seen.has(id)) return undefined
  if (rule.kind === 'detection') return rule
  seen.add(id)
  for (const ref of rule.ruleIds) {
    const found = detectionUnder(ruleSet, ref, seen)
    if (found) return found
  }
  return undefined
}

/**
 * What a correlation over another sees of one of its windows that held when it closed (there
 * is no one event to show): the window's group values under its group-by names, at its end,
 * with the id the window's alert has, so a redelivered stream feeds the same id again.
 */
function windowEvent(c: CompiledCorrelation, w: CountWindow): PalisadeEvent {
  const event: Record<string, unknown> = {
    id: windowAlertId(c, w.group, w.start),
    '@timestamp': new Date(w.end).toISOString(),
  }
  c.groupBy.forEach((field, i) => {
    const keys = field.split('.')
    let node = event
    for (const key of keys.slice(0, -1)) {
      if (typeof node[key] !== 'object' || node[key] === null) node[key] = {}
      node = node[key] as Record<string, unknown>
    }
    node[keys.at(-1)!] = w.group[i]
  })
  return event as PalisadeEvent
}

/** Event times this far past the wall clock do not advance a watermark. */
const FUTURE_TOLERANCE_MS = 86_400_000

function lowerBoundOnly(c: CountCondition): boolean {
  return c.lt === undefined && c.lte === undefined && c.eq === undefined && c.neq === undefined
}

function isMetric(type: CorrelationType): boolean {
  return type === 'value_sum' || type === 'value_avg' || type === 'value_percentile'
}

/**
 * Whether a correlation's condition slides (SLIDING.md, section A): a count, a number of
 * distinct values or a sum, which only grow as events arrive, with only a lower bound.
 * Everything else is decided at the end of an anchored window (section B).
 */
function slides(c: CompiledCorrelation): boolean {
  const grows = c.type === 'event_count' || c.type === 'value_count' || c.type === 'value_sum'
  return grows && lowerBoundOnly(c.condition)
}

/** Where an anchored window is kept in `state.windows`. */
function windowKey(c: CompiledCorrelation, start: number, group: string[]): string {
  return `${c.id}\u0000${start}\u0000${group.join('\u0001')}`
}

/** The number a window's condition is about; undefined when the window has no value for it. */
function measure(c: CompiledCorrelation, w: CountWindow): number | undefined {
  switch (c.type) {
    case 'value_count':
      return w.values?.length ?? 0
    case 'value_sum':
      return w.sum ?? 0
    case 'value_avg':
      return w.count > 0 ? (w.sum ?? 0) / w.count : undefined
    case 'value_percentile':
      return percentile(w.numbers ?? [], c.percentile ?? 50)
    default:
      return w.count
  }
}

/** A field's value as a number: a finite JSON number, or a string that holds only one. */
function numeric(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined
  if (typeof v !== 'string' || !NUMBER.test(v)) return undefined
  return Number(v)
}

const NUMBER = /^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$/

/** Every comparison in the condition holds (several make a range). */
export function holds(c: CountCondition, n: number): boolean {
  if (c.gt !== undefined && !(n > c.gt)) return false
  if (c.gte !== undefined && !(n >= c.gte)) return false
  if (c.lt !== undefined && !(n < c.lt)) return false
  if (c.lte !== undefined && !(n <= c.lte)) return false
  if (c.eq !== undefined && n !== c.eq) return false
  if (c.neq !== undefined && n === c.neq) return false
  return true
}

function text(v: unknown): string {
  if (v === undefined || v === null) return ''
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  return JSON.stringify(v)
}
