import type { PalisadeEvent } from '../../platform/event-model.ts'
import type { FieldGetter, FieldResolver } from './compile-value.ts'
import type { FieldFamily } from './logsource-routes.ts'

/**
 * Field resolution (rules specification, "Field Usage"). A Sigma field name is looked up in
 * the route's mapping first; then, for Windows, the System attributes (`EventID`, `Channel`,
 * `Provider_Name`, `Computer`) have fixed homes and any other name is an EventData (then
 * UserData) field; a dotted ECS name is a nested path in the event.
 */

type Getter = FieldGetter

const windowsSystem: Record<string, Getter> = {
  EventID: (e) => e.winlog?.event_id,
  Channel: (e) => e.winlog?.channel,
  Provider_Name: (e) => e.winlog?.provider_name,
  Computer: (e) => e.winlog?.computer_name,
  EventRecordID: (e) => e.winlog?.record_id,
}

/** A getter for `a.b.c` as nested properties; a plain name is a top-level property. */
export function pathGetter(path: string): Getter {
  const keys = path.split('.')
  if (keys.length === 1) {
    const k = keys[0]!
    return (e) => (e as Record<string, unknown>)[k]
  }
  return (e) => {
    let node: unknown = e
    for (let i = 0; i < keys.length; i++) {
      if (node === null || typeof node !== 'object') return undefined
      node = (node as Record<string, unknown>)[keys[i]!]
    }
    return node
  }
}

/**
 * Spec ("Field Usage"): a Windows field name is written as it appears in the log with its
 * spaces stripped (`Threat Name` is `ThreatName`). Such keys are indexed once per EventData
 * object, on the first miss, and only when the object has a key with a space.
 */
const spacedKeys = new WeakMap<object, Map<string, unknown> | null>()

function strippedLookup(data: Record<string, unknown>, name: string): unknown {
  let index = spacedKeys.get(data)
  if (index === undefined) {
    index = null
    for (const key in data) {
      if (!key.includes(' ')) continue
      index ??= new Map()
      index.set(key.replaceAll(' ', ''), data[key])
    }
    spacedKeys.set(data, index)
  }
  return index?.get(name)
}

function windowsGetter(name: string): Getter {
  const system = windowsSystem[name]
  if (system) return system
  const nested = name.includes('.') ? pathGetter(name) : undefined
  return (e: PalisadeEvent) => {
    const w = e.winlog
    if (w) {
      const d = w.event_data
      if (d) {
        let v = d[name]
        if (v === undefined) v = strippedLookup(d, name)
        if (v !== undefined) return v
      }
      const u = w.user_data
      if (u) {
        const v = u[name]
        if (v !== undefined) return v
      }
    }
    return nested ? nested(e) : undefined
  }
}

/**
 * Builds the resolver for one route variant: its renames over its family's defaults. A field
 * name resolves to the same getter every time it is asked for, so per-event caches keyed by
 * getter (`FieldCache`) are shared by all the rules that read the field.
 */
export function fieldResolver(
  family: FieldFamily,
  renames: Readonly<Record<string, readonly string[]>> = {},
): FieldResolver {
  const getters = new Map<string, Getter>()
  const resolve = unshared(family, renames)
  return (field) => {
    let get = getters.get(field)
    if (!get) {
      get = resolve(field)
      getters.set(field, get)
    }
    return get
  }
}

function unshared(
  family: FieldFamily,
  renames: Readonly<Record<string, readonly string[]>>,
): FieldResolver {
  const base = family === 'windows' ? windowsGetter : pathGetter
  return (field) => {
    const names = renames[field]
    if (!names || names.length === 0) return base(field)
    const getters = names.map(base)
    if (getters.length === 1) return getters[0]!
    return (e) => {
      for (let i = 0; i < getters.length; i++) {
        const v = getters[i]!(e)
        if (v !== undefined) return v
      }
      return undefined
    }
  }
}
