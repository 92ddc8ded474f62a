import type { Alert } from '../../platform/alert-model.ts'
import type { CorrelationState, CountWindow } from './correlation-engine.ts'
import { RecencyOrder } from './recency-order.ts'
import { stateDroppedAlert, stateDroppedHour } from './state-dropped-alert.ts'

/** Group keys of one correlation evicted at the `maxGroups` limit. */
export interface Eviction {
  correlation: string
  /** Keys whose open windows or sequence were dropped. */
  open: number
  /** Keys that held only a watermark. */
  idle: number
}

/** One group key held: what the engine needs to move, settle or evict it. */
export interface GroupKey {
  key: string
  correlation: string
  /** Keys in `state.windows` of its open windows. */
  windows: string[]
  /** Windows it opens that start no later than this are partial (see `CountWindow`). */
  partialThrough: number
  /** Where it is filed: not yet, open, idle, or nowhere since it was evicted (`gone`). */
  place: 'new' | 'open' | 'idle' | 'gone'
  /** When it was last used and when it was filed where it is, in uses of any key. */
  used: number
  filed: number
}

/** The group keys a correlator holds, bounded: see `createGroupKeys`. */
export interface GroupKeys {
  /**
   * The key's entry, marked used. A key not held yet may first evict another, and the alert
   * that reports it (one per correlation and hour) goes to `out`.
   */
  hold(correlation: string, key: string, t: number, eventId: string, out: Alert[]): GroupKey
  /** Files a key as open or idle by what it holds now (its windows or sequence changed). */
  settle(key: GroupKey): void
  /** A window closed: its key may now hold nothing open. */
  release(window: CountWindow, windowKey: string): void
  /** A sequence ended or a sliding group emptied: its key may now hold nothing open. */
  ended(correlation: string, key: string): void
  /** Forgets every key with nothing open, watermark included (the stream has gone quiet). */
  forgetIdle(): void
  /** Keys held now. */
  readonly size: number
  /** Evictions per correlation since the last call. */
  takeEvictions(): Eviction[]
}

/**
 * The index of the group keys (a correlation and its group-by values) whose windows, sequence
 * and watermark a correlator's `state` holds: at most `maxGroups` of them. A key not held yet
 * evicts one when the limit is reached (see `evictOne`); every eviction is counted in the
 * state (`evicted`, `pruned`), handed to `takeEvictions`, and one of open state raises a
 * dropped-state alert. Rebuilt from the state it is given, so a checkpoint resumes counted.
 *
 * @param titleOf a correlation's title; undefined if it is not loaded (then no alert)
 */
export function createGroupKeys(
  state: CorrelationState,
  maxGroups: number,
  titleOf: (correlation: string) => string | undefined,
): GroupKeys {
  /** Per correlation, its keys with an open window or sequence, in eviction order. */
  const open = new Map<string, RecencyOrder<GroupKey>>()
  /** Keys with nothing open but their watermark, longest idle first. */
  const idle = new RecencyOrder<GroupKey>()
  let held = 0
  /** Uses of any key so far: the clock `GroupKey.used` and `GroupKey.filed` read. */
  let tick = 0
  /** An open key used since it was filed gets a second chance (see `RecencyOrder`). */
  const spare = (h: GroupKey): boolean => {
    if (h.used <= h.filed) return false
    h.filed = h.used
    return true
  }
  const evictions = new Map<string, Eviction>()
  /** Per correlation, the hour of event time its last dropped-state alert covered. */
  const reported = new Map<string, number>()
  const openOf = (id: string): RecencyOrder<GroupKey> => {
    let o = open.get(id)
    if (!o) open.set(id, (o = new RecencyOrder<GroupKey>()))
    return o
  }
  const lookUp = (correlation: string, key: string): GroupKey | undefined =>
    open.get(correlation)?.get(key) ?? idle.get(key)
  /** Files a key under open or idle by what it holds now. */
  const settle = (h: GroupKey): void => {
    if (h.place === 'gone') return
    const busy =
      h.windows.length > 0 ||
      state.sequences[h.key] !== undefined ||
      state.slides[h.key] !== undefined
    if (busy && h.place !== 'open') {
      if (h.place === 'idle') idle.delete(h.key)
      openOf(h.correlation).touch(h.key, h)
      h.place = 'open'
      h.filed = h.used
    } else if (!busy && h.place !== 'idle') {
      if (h.place === 'open') open.get(h.correlation)?.delete(h.key)
      idle.touch(h.key, h)
      h.place = 'idle'
    }
  }
  const newGroupKey = (correlation: string, key: string): GroupKey => {
    held++
    const through = state.evictedThrough[correlation] ?? -Infinity
    return {
      key,
      correlation,
      windows: [],
      partialThrough: through,
      place: 'new',
      used: tick,
      filed: tick,
    }
  }
  // Rebuild the index of a checkpointed state.
  {
    const found = new Map<string, GroupKey>()
    const get = (correlation: string, key: string) => {
      let h = found.get(key)
      if (!h) found.set(key, (h = newGroupKey(correlation, key)))
      return h
    }
    for (const key of Object.keys(state.entityWatermarks))
      get(key.slice(0, key.indexOf('\u0000')), key)
    for (const [key, w] of Object.entries(state.windows)) {
      get(w.correlation, entityKey({ id: w.correlation }, w.group)).windows.push(key)
    }
    for (const [key, s] of Object.entries(state.sequences)) get(s.correlation, key)
    for (const [key, g] of Object.entries(state.slides)) get(g.correlation, key)
    for (const h of found.values()) settle(h)
  }

  /**
   * Makes room for one more key. Which state goes:
   *
   * - First a key with nothing open, only the watermark that marks its too-late events late:
   *   forgetting it loses no count.
   * - Else the least recently updated key of the correlation that holds the most (nearly:
   *   one not updated since it was filed, see `RecencyOrder`). The most:
   *   a flood of sprayed addresses against one rule must not evict the few keys a quiet
   *   correlation (a new admin, then a log clearing) holds for hours. Least recently updated,
   *   not closest to expiry: in a flood every sprayed key's window opened moments apart, so
   *   expiry can hardly tell them apart, while a sprayed key is touched once and an entity
   *   under attack keeps being touched, so the key that goes is the one least likely to reach
   *   a threshold. (Evicting by smallest count would make an attacker
   *   spend more to push out a key, at the price of an O(log n) structure.)
   *
   * An evicted key restarts from nothing: its alert in the windows it had open may be missed,
   * but none is raised wrongly, since what it opens again up to the evicted time is `partial`.
   */
  let victim: string | undefined
  const evictOne = (growing: string, t: number, eventId: string, out: Alert[]): boolean => {
    const quiet = idle.shift()
    if (quiet) {
      forget(quiet[1], 'idle', t, eventId, out)
      return true
    }
    const size = (id: string | undefined) => (id === undefined ? 0 : (open.get(id)?.size ?? 0))
    // The largest as of the last look, looked for again only when the growing correlation
    // outgrows it: a flood on one rule then costs no scan of every correlation per event.
    if (size(victim) === 0 || size(victim) < size(growing)) {
      victim = undefined
      for (const [id, o] of open) if (o.size > size(victim)) victim = id
    }
    const entry = victim === undefined ? undefined : open.get(victim)?.shift(spare)
    if (!entry) return false
    forget(entry[1], 'open', t, eventId, out)
    return true
  }
  const forget = (h: GroupKey, kind: 'open' | 'idle', t: number, eventId: string, out: Alert[]) => {
    held--
    h.place = 'gone'
    let through = state.entityWatermarks[h.key] ?? -Infinity
    for (const key of h.windows) {
      // An anchored window covers its whole span: one the key opens again inside it would
      // lack what the dropped one counted.
      through = Math.max(through, (state.windows[key]?.end ?? -Infinity) - 1)
      delete state.windows[key]
    }
    if (state.sequences[h.key]) {
      for (const s of state.sequences[h.key]!.steps) through = Math.max(through, s?.[0] ?? through)
      delete state.sequences[h.key]
    }
    const slide = state.slides[h.key]
    if (slide) {
      const last = Math.max(slide.consumed.at(-1)?.[0] ?? through, slide.sealed?.[0] ?? through)
      through = Math.max(through, last, slide.events.at(-1)?.[0] ?? through)
      delete state.slides[h.key]
    }
    delete state.entityWatermarks[h.key]
    const before = state.evictedThrough[h.correlation] ?? -Infinity
    if (through > before) state.evictedThrough[h.correlation] = through
    let e = evictions.get(h.correlation)
    if (!e) evictions.set(h.correlation, (e = { correlation: h.correlation, open: 0, idle: 0 }))
    e[kind]++
    if (kind === 'idle') {
      state.pruned++
      return
    }
    state.evicted++
    const title = titleOf(h.correlation)
    if (title === undefined || reported.get(h.correlation) === stateDroppedHour(t)) return
    reported.set(h.correlation, stateDroppedHour(t))
    out.push(stateDroppedAlert({ id: h.correlation, title }, maxGroups, t, eventId))
  }
  /** The key's entry, marked used; a new key may evict another first. */
  const hold = (correlation: string, key: string, t: number, id: string, out: Alert[]) => {
    let h = open.get(correlation)?.get(key) ?? idle.get(key)
    if (!h) {
      while (held >= maxGroups && evictOne(correlation, t, id, out));
      h = newGroupKey(correlation, key)
    }
    h.used = ++tick
    if (h.place === 'open') return h
    if (h.place === 'idle') idle.delete(key)
    openOf(correlation).touch(key, h)
    h.place = 'open'
    h.filed = h.used
    return h
  }
  /** A window closed or was dropped: its key may now hold nothing open. */
  const release = (w: CountWindow, windowKey: string) => {
    const h = lookUp(w.correlation, entityKey({ id: w.correlation }, w.group))
    if (!h) return
    const i = h.windows.indexOf(windowKey)
    if (i >= 0) h.windows.splice(i, 1)
    settle(h)
  }

  return {
    hold,
    settle,
    release,
    ended(correlation, key) {
      const h = lookUp(correlation, key)
      if (h) settle(h)
    },
    forgetIdle() {
      for (const key of idle.keys()) delete state.entityWatermarks[key]
      for (const h of idle.values()) h.place = 'gone'
      held -= idle.size
      idle.clear()
    },
    get size() {
      return held
    },
    takeEvictions() {
      const out = [...evictions.values()]
      evictions.clear()
      return out
    },
  }
}

/** A group key: its correlation's id, a NUL, then its group-by values joined by U+0001. */
export function entityKey(c: { id: string }, group: string[]): string {
  return `${c.id}\u0000${group.join('\u0001')}`
}
