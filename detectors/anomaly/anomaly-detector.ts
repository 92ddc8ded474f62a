import type { Detector } from '../../ingest/pipeline.ts'
import { alertId } from '../../platform/alert-model.ts'
import type { Alert, AnomalyFinding } from '../../platform/alert-model.ts'
import type { PalisadeEvent } from '../../platform/event-model.ts'
import { pathGetter } from '../sigma/field-resolver.ts'
import { loadModel, storeModel, trainAnomalyModel } from './anomaly-model.ts'
import type { AnomalyModel, StoredModel } from './anomaly-model.ts'
import type { FeatureSet } from './load-feature-sets.ts'
import {
  hourOfWeek,
  RecentValues,
  robustBaseline,
  robustZ,
  SeasonalValues,
} from './robust-baseline.ts'
import { compileWindowFeatures } from './window-features.ts'
import type { OpenWindow, SeenValues, WindowFeatures } from './window-features.ts'

export interface AnomalyOptions {
  /** Most entities each feature set holds at once (default 10 000); see `AnomalyState`. */
  maxEntities?: number
  /** How long after a window's end (in event time) an event still counts in it (default 60 s). */
  allowedLatenessMs?: number
  /** The share of training windows expected to be anomalies (default 0.01). */
  contamination?: number
  /**
   * How far, in robust z (1.4826 MAD units), at least one feature must be from its baseline
   * for a window the forest scores above its threshold to alert (default 6).
   */
  minDeviation?: number
  /** Windows an entity must have had before it can alert, and its own baseline is used (24). */
  warmupWindows?: number
  /** Windows of a set's kind before its first model is trained (default 256). */
  minTrainingWindows?: number
  /** The rolling history models are trained on, in windows (default 4096). */
  historyWindows?: number
  /** Retrain after this many windows closed since the last training (default 2000)… */
  retrainEveryWindows?: number
  /** …or once event time moved this far since (default a day). */
  retrainEveryMs?: number
  /** Trees per forest (default 100). */
  trees?: number
  /** Windows an entity's own baseline is made of, per feature (default 168). */
  baselineWindows?: number
  /** How long the stream must be quiet before wall-clock time may close windows (60 s). */
  idleMs?: number
  /** Models to resume with (the latest stored per set); one for another set version is unused. */
  models?: readonly StoredModel[]
  /** Told each model trained, to store it. */
  onModel?: (model: StoredModel) => void
  /**
   * Hands each anomaly to the correlations, as an event matched by the pseudo-rule of the
   * set's id (see `anomalyEvent`); returns their alerts.
   */
  correlate?: (event: PalisadeEvent, ruleId: string) => Alert[]
  /** Told every window closed, with its features and its score if a model scored it. */
  onWindow?: (window: ClosedWindow) => void
  /** The wall clock, for telling future-dated events apart (default `Date.now`). */
  now?: () => number
}

/** One entity's window once closed. */
export interface ClosedWindow {
  featureSet: string
  entity: string
  start: number
  features: readonly number[]
  score?: number
}

/** What the anomaly detector holds, for metrics and logs. */
export interface AnomalyState {
  /** Entities held now, over every set. */
  entities: number
  /** Entities forgotten at `maxEntities`, with an open window (lost) or without. */
  evicted: { open: number; idle: number }
  /** Events that reached a window already closed (not counted in it). */
  late: number
  /** The model each set scores with now, if any. */
  models: { featureSet: string; version: number; threshold: number; windows: number }[]
}

export interface AnomalyDetector extends Detector {
  state(): AnomalyState
}

interface EntityState {
  value: string
  windows: OpenWindow[]
  /** Windows closed so far. */
  closed: number
  seen: SeenValues
  recent: RecentValues[]
  seasonal: (SeasonalValues | undefined)[]
}

interface SetRuntime {
  set: FeatureSet
  features: WindowFeatures
  entity: (e: PalisadeEvent) => unknown
  /** Per feature: the floor of its spread. */
  minSpread: number[]
  /** Features the z-scores explain: all but hour_of_week, which is a position, not an amount. */
  explained: number[]
  entities: Map<string, EntityState>
  /** Window end → entities with a window ending there. */
  closing: Map<number, Set<string>>
  history: number[][]
  historyNext: number
  closedSinceTraining: number
  model?: AnomalyModel
}

const DAY_MS = 86_400_000
/** Windows of its own an entity needs before its median and MAD are its baseline. */
export const MIN_OWN_BASELINE = 8

/**
 * Anomaly detection in the stream. Per feature set (an entity kind: user, host, source address):
 *
 * - each entity's events fall in tumbling windows of event time aligned on the epoch
 *   (`floor(t / window) * window`), so the same events always make the same window whatever
 *   order they arrive in; a window closes when the detector's watermark (the largest plausible
 *   event time seen, any entity) passes its end plus the allowed lateness, or when wall-clock
 *   time does once the stream has been quiet `idleMs`. A window with no event for an entity is
 *   not made (a quiet hour is not scored);
 * - each closed window gives a feature vector, which is scored by the set's model (an isolation
 *   forest over every entity of the kind), then added to the entity's baselines and to the
 *   rolling history that the next model is trained on, on a schedule of windows or event time;
 * - a window alerts when its score reaches the model's threshold (the training windows' score
 *   quantile at 1 − contamination) and at least one feature is `minDeviation` robust z from
 *   its baseline: the entity's own last windows (and for a seasonal count its same hour of week
 *   in the weeks before) once it has `MIN_OWN_BASELINE` of them, else the population's medians
 *   from the model. An entity alerts only after `warmupWindows` windows; set to less than
 *   `MIN_OWN_BASELINE`, a new entity may alert against the population. The forest says the
 *   window is rare among all entities; the baseline says it is rare for this one (a busy
 *   service account is rare in the population every hour, and normal for itself).
 *
 * State is bounded: at most `maxEntities` entities per set, the least recently active
 * forgotten first (counted in `state().evicted`, its open windows lost), each remembering at
 * most `baselineWindows` values per feature, four weeks per hour of week for seasonal counts
 * and `MAX_SEEN` values per first_seen feature; the history holds `historyWindows` vectors.
 */
export function createAnomalyDetector(
  sets: readonly FeatureSet[],
  options: AnomalyOptions = {},
): AnomalyDetector {
  const maxEntities = options.maxEntities ?? 10_000
  const lateness = options.allowedLatenessMs ?? 60_000
  const contamination = options.contamination ?? 0.01
  const minDeviation = options.minDeviation ?? 6
  const warmup = options.warmupWindows ?? 24
  const minTraining = options.minTrainingWindows ?? 256
  const historyCap = options.historyWindows ?? 4096
  const retrainWindows = options.retrainEveryWindows ?? 2000
  const retrainMs = options.retrainEveryMs ?? DAY_MS
  const baselineWindows = options.baselineWindows ?? 168
  const idleMs = options.idleMs ?? 60_000
  const clock = options.now ?? Date.now
  const stored = new Map((options.models ?? []).map((m) => [m.featureSet, m]))

  let watermark = -Infinity
  let nextClose = Infinity
  let lastEventAt = 0
  let late = 0
  const evicted = { open: 0, idle: 0 }

  const runtimes: SetRuntime[] = sets.map((set) => {
    const features = compileWindowFeatures(set.features)
    const saved = stored.get(set.id)
    return {
      set,
      features,
      entity: pathGetter(set.entity),
      minSpread: set.features.map((f) => f.min_spread ?? (f.kind === 'ratio' ? 0.05 : 1)),
      explained: set.features.flatMap((f, i) => (f.kind === 'hour_of_week' ? [] : [i])),
      entities: new Map(),
      closing: new Map(),
      history: [],
      historyNext: 0,
      closedSinceTraining: 0,
      ...(saved && saved.featureSetVersion === set.version ? { model: loadModel(saved) } : {}),
    }
  })

  const entityFor = (rt: SetRuntime, value: string): EntityState => {
    let state = rt.entities.get(value)
    if (state) {
      // Most recently active last: the map's order is the eviction order.
      rt.entities.delete(value)
      rt.entities.set(value, state)
      return state
    }
    state = {
      value,
      windows: [],
      closed: 0,
      seen: rt.features.seen(),
      recent: rt.set.features.map(() => new RecentValues(baselineWindows)),
      seasonal: rt.set.features.map((f) =>
        f.kind === 'count' && f.seasonal ? new SeasonalValues(4) : undefined,
      ),
    }
    rt.entities.set(value, state)
    if (rt.entities.size > maxEntities) {
      const [oldest, dropped] = rt.entities.entries().next().value!
      rt.entities.delete(oldest)
      if (dropped.windows.length > 0) evicted.open++
      else evicted.idle++
      for (const w of dropped.windows) rt.closing.get(w.start + rt.set.windowMs)?.delete(oldest)
    }
    return state
  }

  const add = (rt: SetRuntime, event: PalisadeEvent, t: number) => {
    const value = entityText(rt.entity(event))
    if (value === undefined) return
    const start = Math.floor(t / rt.set.windowMs) * rt.set.windowMs
    const end = start + rt.set.windowMs
    if (end + lateness <= watermark) {
      late++
      return
    }
    const entity = entityFor(rt, value)
    let window = entity.windows.find((w) => w.start === start)
    if (!window) {
      window = rt.features.open(start)
      entity.windows.push(window)
      let due = rt.closing.get(end)
      if (!due) rt.closing.set(end, (due = new Set()))
      due.add(value)
      nextClose = Math.min(nextClose, end + lateness)
    }
    rt.features.add(window, event, entity.seen)
  }

  const closeDue = (out: Alert[]) => {
    if (watermark < nextClose) return
    nextClose = Infinity
    for (const rt of runtimes) {
      const ends = [...rt.closing.keys()].sort((a, b) => a - b)
      for (const end of ends) {
        if (end + lateness > watermark) {
          nextClose = Math.min(nextClose, end + lateness)
          continue
        }
        for (const value of rt.closing.get(end)!) {
          const entity = rt.entities.get(value)
          const at = entity?.windows.findIndex((w) => w.start + rt.set.windowMs === end) ?? -1
          if (!entity || at < 0) continue
          const [window] = entity.windows.splice(at, 1)
          closeWindow(rt, entity, window!, out)
        }
        rt.closing.delete(end)
      }
    }
  }

  const closeWindow = (rt: SetRuntime, entity: EntityState, window: OpenWindow, out: Alert[]) => {
    const vector = rt.features.close(window)
    const end = window.start + rt.set.windowMs
    const model = rt.model
    const score = model?.forest.score(vector)
    options.onWindow?.({
      featureSet: rt.set.id,
      entity: entity.value,
      start: window.start,
      features: vector,
      ...(score === undefined ? {} : { score }),
    })
    if (model && score !== undefined && entity.closed >= warmup) {
      if (score >= model.threshold) {
        const finding = explain(rt, entity, window, vector, score, model)
        if (finding) out.push(...raise(rt, entity, window, finding))
      }
    }

    const how = hourOfWeek(window.start)
    vector.forEach((v, i) => {
      entity.recent[i]!.push(v)
      entity.seasonal[i]?.push(how, v)
    })
    entity.closed++
    if (rt.history.length < historyCap) rt.history.push(vector)
    else rt.history[rt.historyNext] = vector
    rt.historyNext = (rt.historyNext + 1) % historyCap
    rt.closedSinceTraining++
    maybeTrain(rt, end)
  }

  const maybeTrain = (rt: SetRuntime, end: number) => {
    if (rt.history.length < minTraining) return
    const due =
      !rt.model ||
      rt.closedSinceTraining >= retrainWindows ||
      end - Date.parse(rt.model.trainedThrough) >= retrainMs
    if (!due) return
    rt.model = trainAnomalyModel(rt.history, {
      featureSet: rt.set.id,
      featureSetVersion: rt.set.version,
      version: (rt.model?.version ?? stored.get(rt.set.id)?.version ?? 0) + 1,
      trainedThrough: end,
      features: rt.features.names,
      minSpread: rt.minSpread,
      contamination,
      trees: options.trees ?? 100,
    })
    rt.closedSinceTraining = 0
    options.onModel?.(storeModel(rt.model))
  }

  const explain = (
    rt: SetRuntime,
    entity: EntityState,
    window: OpenWindow,
    vector: number[],
    score: number,
    model: AnomalyModel,
  ): AnomalyFinding | undefined => {
    const deviations: AnomalyFinding['deviations'] = []
    const how = hourOfWeek(window.start)
    for (const i of rt.explained) {
      const name = rt.features.names[i]!
      const own = entity.recent[i]!
      const baseline =
        own.size >= MIN_OWN_BASELINE
          ? { ...robustBaseline(own.toArray(), rt.minSpread[i]!), of: 'entity' as const }
          : {
              median: model.population.median[i]!,
              scale: model.population.scale[i]!,
              of: 'population' as const,
            }
      deviations.push(deviation(name, vector[i]!, baseline))
      // A few weeks of one hour of the week move the median, but their spread is not to be
      // trusted more than the entity's over all its hours: three similar Mondays are luck.
      const season = entity.seasonal[i]?.at(how) ?? []
      if (season.length >= 3 && baseline.of === 'entity') {
        const b = robustBaseline(season, baseline.scale)
        deviations.push(deviation(name, vector[i]!, { ...b, of: 'entity-hour-of-week' }))
      }
    }
    deviations.sort((a, b) => Math.abs(b.z) - Math.abs(a.z))
    if (deviations.length === 0 || Math.abs(deviations[0]!.z) < minDeviation) return undefined
    return {
      score: round(score),
      threshold: round(model.threshold),
      model_version: model.version,
      window: {
        start: new Date(window.start).toISOString(),
        end: new Date(window.start + rt.set.windowMs).toISOString(),
      },
      features: Object.fromEntries(rt.features.names.map((n, i) => [n, round(vector[i]!)])),
      deviations: deviations.filter((d) => Math.abs(d.z) >= minDeviation),
    }
  }

  const raise = (
    rt: SetRuntime,
    entity: EntityState,
    window: OpenWindow,
    finding: AnomalyFinding,
  ): Alert[] => {
    const { set } = rt
    const pushed = finding.deviations
      .slice(0, 3)
      .map((d) => `${d.feature} ${d.value} (${d.baseline} median ${d.median}, z ${d.z})`)
    const alert: Alert = {
      id: alertId(set.id, set.version, `${entity.value}\u0000${window.start}`),
      '@timestamp': finding.window.end,
      rule: { id: set.id, version: set.version, title: set.title, kind: 'anomaly' },
      level: set.level,
      tags: set.tags,
      entity: { kind: set.entity, value: entity.value },
      event_ids: window.eventIds,
      message:
        `${set.title}: ${set.entity} ${entity.value}: ${pushed.join(', ')}; ` +
        `score ${finding.score} ≥ threshold ${finding.threshold} ` +
        `(model ${finding.model_version})`,
      anomaly: finding,
    }
    return [alert, ...(options.correlate?.(anomalyEvent(alert), set.id) ?? [])]
  }

  const advance = (t: number, out: Alert[]) => {
    if (t > watermark) watermark = t
    closeDue(out)
  }

  return {
    detect(events) {
      if (events.length > 0) lastEventAt = clock()
      const out: Alert[] = []
      const horizon = clock() + DAY_MS
      for (const event of events) {
        const t = Date.parse(event['@timestamp'])
        if (!Number.isFinite(t)) continue
        // Time first: windows this event's time has closed are closed before it is added, so
        // an entity it brings in does not push out one whose window was due anyway. An event
        // beyond the wall clock plus a day (a wrong clock) counts in its window but does not
        // move time: it would close every other entity's windows early.
        if (t <= horizon) advance(t, out)
        for (const rt of runtimes) add(rt, event, t)
      }
      return out
    },
    flush(nowMs) {
      const out: Alert[] = []
      if (nowMs - lastEventAt >= idleMs) advance(nowMs, out)
      return out
    },
    state: () => ({
      entities: runtimes.reduce((n, rt) => n + rt.entities.size, 0),
      evicted: { ...evicted },
      late,
      models: runtimes.flatMap((rt) =>
        rt.model
          ? [
              {
                featureSet: rt.set.id,
                version: rt.model.version,
                threshold: rt.model.threshold,
                windows: rt.model.windows,
              },
            ]
          : [],
      ),
    }),
  }
}

/**
 * An anomaly alert as correlations see it: an event at the window's end carrying the entity's
 * field (`user.name`, …) so a correlation grouping on it finds it, its id the alert's.
 */
export function anomalyEvent(alert: Alert): PalisadeEvent {
  const event: Record<string, unknown> = {
    id: alert.id,
    '@timestamp': alert['@timestamp'],
    event: { kind: 'alert', dataset: 'palisade.anomaly' },
  }
  const path = alert.entity.kind.split('.')
  let node = event
  for (const key of path.slice(0, -1)) {
    const next = (node[key] ??= {}) as Record<string, unknown>
    node = next
  }
  node[path[path.length - 1]!] = alert.entity.value
  return event as PalisadeEvent
}

function deviation(
  feature: string,
  value: number,
  b: { median: number; scale: number; of: AnomalyFinding['deviations'][number]['baseline'] },
): AnomalyFinding['deviations'][number] {
  return {
    feature,
    value: round(value),
    baseline: b.of,
    median: round(b.median),
    scale: round(b.scale),
    z: round(robustZ(value, { median: b.median, mad: 0, scale: b.scale, n: 0 })),
  }
}

function entityText(v: unknown): string | undefined {
  if (typeof v === 'string') return v === '' ? undefined : v
  if (typeof v === 'number' && Number.isFinite(v)) return String(v)
  return undefined
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000
}
