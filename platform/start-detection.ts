import type { AnomalyDetection } from '../detectors/anomaly/start-anomaly-detection.ts'
import { startAnomalyDetection } from '../detectors/anomaly/start-anomaly-detection.ts'
import { createDetector } from '../detectors/detector.ts'
import type { SigmaDetector } from '../detectors/detector.ts'
import type { PalisadeConfig } from './config/config-schema.ts'
import type { Logger } from './logger.ts'
import { packageInfo } from './package-info.ts'
import { listDisabledRules } from './state/disabled-rules.ts'
import type { StateDb } from './state/state-store.ts'

/** The detectors a process runs, and the logger they log to. */
export interface Detection {
  detector: SigmaDetector
  anomaly?: AnomalyDetection
  detectorLogger: Logger
}

/**
 * Loads the Sigma rules (built-in and configured, less those disabled in the state store) and
 * starts anomaly detection when it is on, with its outputs registered as rules correlations may
 * name. `palisade start` and `palisade worker` both detect, and must detect alike.
 * @param closers where the anomaly detector's drain is registered, to run at shutdown
 */
export async function startDetection(
  config: PalisadeConfig,
  db: StateDb,
  logger: Logger,
  closers: (() => Promise<unknown>)[],
): Promise<Detection> {
  const ruleDirs = [...(config.builtinRules ? [packageInfo.builtinRulesDir] : []), ...config.rules]
  const { maxGroups, maxPercentileValues, allowedLatenessMs } = config.sigma.correlation
  const anomaly = config.anomaly.enabled
    ? await startAnomalyDetection(config.anomaly, db, logger.child({ component: 'anomaly' }))
    : undefined
  if (anomaly) closers.unshift(() => anomaly.drain())
  const detectorLogger = logger.child({ component: 'detector' })
  const detector = createDetector(ruleDirs, detectorLogger, {
    disabled: await listDisabledRules(db),
    mappings: config.sigma.mappings,
    correlation: { maxGroups, maxPercentileValues, allowedLatenessMs },
    ...(anomaly ? { externalRules: anomaly.outputs } : {}),
  })
  anomaly?.connect(detector)
  return { detector, ...(anomaly ? { anomaly } : {}), detectorLogger }
}
