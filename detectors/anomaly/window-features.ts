import type { PalisadeEvent } from '../../platform/event-model.ts'
import { pathGetter } from '../sigma/field-resolver.ts'
import type { Feature } from './feature-set-schema.ts'
import { hourOfWeek } from './robust-baseline.ts'

/** Most distinct values a window counts per feature; beyond, the count stays at this. */
export const MAX_DISTINCT = 10_000
/** Most values an entity remembers per first_seen feature; beyond, no value is new. */
export const MAX_SEEN = 1_000
/** Most contributing event ids a window keeps for its alert. */
export const MAX_EVENT_IDS = 20

/** One entity's window while it is open. */
export interface OpenWindow {
  start: number
  events: number
  /** Per feature: its running count or sum (unused for distinct and hour_of_week). */
  sums: Float64Array
  /** Per distinct feature: the values seen. */
  distinct: (Set<string> | undefined)[]
  eventIds: string[]
}

/** What an entity remembers across windows for its first_seen features. */
export type SeenValues = (Set<string> | undefined)[]

/** A feature set's features, compiled to what an event adds to a window. */
export interface WindowFeatures {
  readonly names: readonly string[]
  open(start: number): OpenWindow
  /** What `seen` the entity starts with. */
  seen(): SeenValues
  add(window: OpenWindow, event: PalisadeEvent, seen: SeenValues): void
  /** The window's feature vector, in the order of `names`. */
  close(window: OpenWindow): number[]
}

/**
 * Compiles features as declared (see feature-set-schema.ts). A field holding a list counts each
 * item; values are compared as text, so `destination.port: 22` and `"22"` are one port.
 */
export function compileWindowFeatures(features: readonly Feature[]): WindowFeatures {
  const steps = features.map((f, i) => stepFor(f, i))
  const names = features.map((f) => f.name)
  return {
    names,
    open: (start) => ({
      start,
      events: 0,
      sums: new Float64Array(features.length),
      distinct: features.map((f) => (f.kind === 'distinct' ? new Set<string>() : undefined)),
      eventIds: [],
    }),
    seen: () => features.map((f) => (f.kind === 'first_seen' ? new Set<string>() : undefined)),
    add(window, event, seen) {
      window.events++
      if (window.eventIds.length < MAX_EVENT_IDS) window.eventIds.push(event.id)
      for (const step of steps) step(window, event, seen)
    },
    close(window) {
      return features.map((f, i) => {
        switch (f.kind) {
          case 'ratio':
            return window.events === 0 ? 0 : window.sums[i]! / window.events
          case 'distinct':
            return window.distinct[i]!.size
          case 'hour_of_week':
            return hourOfWeek(window.start)
          default:
            return window.sums[i]!
        }
      })
    },
  }
}

type Step = (window: OpenWindow, event: PalisadeEvent, seen: SeenValues) => void

function stepFor(f: Feature, i: number): Step {
  switch (f.kind) {
    case 'count':
    case 'ratio': {
      const test = f.where ? matcher(f.where) : () => true
      return (w, e) => {
        if (test(e)) w.sums[i]!++
      }
    }
    case 'distinct': {
      const get = pathGetter(f.field)
      return (w, e) => {
        const set = w.distinct[i]!
        for (const v of texts(get(e))) if (set.size < MAX_DISTINCT) set.add(v)
      }
    }
    case 'sum': {
      const get = pathGetter(f.field)
      return (w, e) => {
        const v = get(e)
        const n = typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : NaN
        if (Number.isFinite(n)) w.sums[i]! += n
      }
    }
    case 'first_seen': {
      const get = pathGetter(f.field)
      return (w, e, seen) => {
        const known = seen[i]!
        for (const v of texts(get(e))) {
          if (known.has(v) || known.size >= MAX_SEEN) continue
          known.add(v)
          w.sums[i]!++
        }
      }
    }
    case 'hour_of_week':
      return () => undefined
  }
}

function matcher(where: Record<string, (string | number | boolean)[]>) {
  const tests = Object.entries(where).map(([path, values]) => {
    const get = pathGetter(path)
    const wanted = new Set(values.map(String))
    return (e: PalisadeEvent) => texts(get(e)).some((v) => wanted.has(v))
  })
  return (e: PalisadeEvent) => tests.every((t) => t(e))
}

function texts(value: unknown): string[] {
  if (value === undefined || value === null || value === '') return []
  if (Array.isArray(value)) return value.flatMap(texts)
  if (typeof value === 'object') return []
  return [String(value)]
}
