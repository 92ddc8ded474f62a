import type { Alert } from '../../platform/alert-model.ts'
import type { PalisadeConfig } from '../../platform/config/config-schema.ts'
import type { PalisadeEvent } from '../../platform/event-model.ts'
import type { Logger } from '../../platform/logger.ts'
import { latestAnomalyModels, saveAnomalyModel } from '../../platform/state/anomaly-models.ts'
import type { StateDb } from '../../platform/state/state-store.ts'
import { createAnomalyDetector } from './anomaly-detector.ts'
import type { AnomalyDetector } from './anomaly-detector.ts'
import { loadFeatureSets } from './load-feature-sets.ts'

export interface AnomalyDetection {
  detector: AnomalyDetector
  /** The feature sets' ids and titles: what correlation rules may name in `rules:`. */
  outputs: { id: string; title: string }[]
  /** Hands each anomaly to these correlations from now on. */
  connect(correlations: { correlate(event: PalisadeEvent, ruleId: string): Alert[] }): void
  /** Waits until every model trained so far is stored. */
  drain(): Promise<void>
}

/** Evictions are logged at most this often, with what they added up to since. */
const EVICTION_LOG_MS = 10_000

/**
 * The engine's anomaly detector: the built-in feature sets and the configured files, resumed
 * from the latest models in the state store, each model trained stored there (in the order
 * trained; a failure to store is logged and the model is still used).
 *
 * @throws ValidationError `PAL_ANOMALY_FEATURES_INVALID` when a feature set file is not valid
 */
export async function startAnomalyDetection(
  config: PalisadeConfig['anomaly'],
  db: StateDb,
  logger: Logger,
): Promise<AnomalyDetection> {
  const sets = loadFeatureSets(config.featureSets)
  const models = await latestAnomalyModels(db)
  let correlations: { correlate(event: PalisadeEvent, ruleId: string): Alert[] } | undefined
  let saving = Promise.resolve()
  const inner = createAnomalyDetector(sets, {
    maxEntities: config.maxEntities,
    allowedLatenessMs: config.allowedLatenessMs,
    contamination: config.contamination,
    minDeviation: config.minDeviation,
    warmupWindows: config.warmupWindows,
    minTrainingWindows: config.minTrainingWindows,
    historyWindows: config.historyWindows,
    retrainEveryWindows: config.retrainEveryWindows,
    retrainEveryMs: config.retrainEveryMs,
    models,
    correlate: (event, ruleId) => correlations?.correlate(event, ruleId) ?? [],
    onModel: (model) => {
      logger.info(
        {
          feature_set: model.featureSet,
          version: model.version,
          windows: model.windows,
          threshold: model.threshold,
        },
        'anomaly model trained',
      )
      saving = saving
        .then(() => saveAnomalyModel(db, model))
        .catch((error: unknown) =>
          logger.error(
            { err: error, feature_set: model.featureSet, version: model.version },
            'anomaly model could not be stored; it is used, and a restart will retrain',
          ),
        )
    },
  })

  let reported = { open: 0, idle: 0 }
  let loggedAt = -Infinity
  const reportEvictions = () => {
    const { evicted, entities } = inner.state()
    if (evicted.open === reported.open && evicted.idle === reported.idle) return
    const now = Date.now()
    if (now - loggedAt < EVICTION_LOG_MS) return
    loggedAt = now
    const context = {
      evicted_open: evicted.open - reported.open,
      evicted_idle: evicted.idle - reported.idle,
      entities,
      max_entities: config.maxEntities,
    }
    reported = evicted
    if (context.evicted_open > 0) {
      logger.warn(
        context,
        'anomaly state at its limit: the open windows of the least recently active entities ' +
          'were dropped, so anomalies in them may be missed',
      )
    } else logger.info(context, 'anomaly state at its limit: idle entities forgotten')
  }

  const detector: AnomalyDetector = {
    detect(events) {
      const alerts = inner.detect(events)
      reportEvictions()
      return alerts
    },
    flush: (nowMs) => inner.flush(nowMs),
    state: () => inner.state(),
  }
  return {
    detector,
    outputs: sets.map((s) => ({ id: s.id, title: s.title })),
    connect(target) {
      correlations = target
    },
    drain: () => saving,
  }
}
