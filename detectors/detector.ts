import type { Detector } from '../ingest/pipeline.ts'
import type { Alert } from '../platform/alert-model.ts'
import type { Logger } from '../platform/logger.ts'
import { createCorrelator } from './sigma/correlation-engine.ts'
import type { Correlator } from './sigma/correlation-engine.ts'
import { loadRules } from './sigma/load-rules.ts'
import { compileRuleSet } from './sigma/rule-set.ts'
import type { RuleSet } from './sigma/rule-set.ts'

export interface SigmaDetector extends Detector {
  ruleSet: RuleSet
  correlator: Correlator
}

export interface DetectorOptions {
  /**
   * How long the stream must be quiet before wall-clock time may close correlation windows.
   * While events flow, only their own time (the watermark) closes windows; otherwise a replay
   * of an old log would have its windows closed by today's clock between two batches, and a
   * burst split across batches would be counted in two halves.
   */
  idleMs?: number
}

/**
 * The stream detector: Sigma rules from the given folders, compiled once at start, and the
 * correlations over them (state in memory for now; it is not yet checkpointed, so a restart
 * forgets open windows). Rules that do not load are logged with their file and reason and the
 * rest run; a bad rule never stops the engine.
 */
export function createDetector(
  ruleDirs: readonly string[],
  logger: Logger,
  options: DetectorOptions = {},
): SigmaDetector {
  const idleMs = options.idleMs ?? 60_000
  let lastEventAt = 0
  const loaded = loadRules(ruleDirs)
  const ruleSet = compileRuleSet(loaded.documents)
  const rejected = [...loaded.rejections, ...ruleSet.rejections]
  for (const r of rejected.slice(0, 20)) logger.warn({ file: r.file, line: r.line }, r.message)
  logger.info(
    {
      folders: ruleDirs,
      rules: ruleSet.rules.length,
      correlations: ruleSet.correlations.length,
      rejected: rejected.length,
    },
    'rules loaded',
  )

  const correlator = createCorrelator(ruleSet)
  return {
    ruleSet,
    correlator,
    detect(events) {
      if (events.length > 0) lastEventAt = Date.now()
      const alerts: Alert[] = []
      for (const event of events) {
        const matched = ruleSet.evaluate(event)
        if (matched.length === 0) continue
        alerts.push(...ruleSet.alertsFor(event, matched), ...correlator.process(event, matched))
      }
      // Windows the batch's event time has moved past are decided now, not at the next tick.
      alerts.push(...correlator.flush())
      return alerts
    },
    flush: (nowMs) => correlator.flush(nowMs - lastEventAt >= idleMs ? nowMs : undefined),
  }
}
