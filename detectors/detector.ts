import type { Detector } from '../ingest/pipeline.ts'
import type { Alert } from '../platform/alert-model.ts'
import type { PalisadeEvent } from '../platform/event-model.ts'
import type { Logger } from '../platform/logger.ts'
import { RuleControl } from './rule-control.ts'
import { correlationLimits } from './sigma/correlation-engine.ts'
import type { Correlator, Eviction } from './sigma/correlation-engine.ts'
import { loadMappings } from './sigma/load-mappings.ts'
import { loadRules } from './sigma/load-rules.ts'
import { compileRuleSet } from './sigma/rule-set.ts'
import type { RuleSet } from './sigma/rule-set.ts'

export interface SigmaDetector extends Detector {
  /** The rule set running now: a reload, or a filter turned on or off, replaces it whole. */
  readonly ruleSet: RuleSet
  readonly correlator: Correlator
  /** What is loaded; turning rules off and on; reloading the folders. */
  readonly rules: RuleControl
  /**
   * Feeds the correlations an event that another detector's output `ruleId` (one of
   * `externalRules`) matched, as if a rule had; returns their alerts.
   */
  correlate(event: PalisadeEvent, ruleId: string): Alert[]
}

export interface DetectorOptions {
  /**
   * How long the stream must be quiet before wall-clock time may close correlation windows.
   * While events flow, only their own time (the watermark) closes windows; otherwise a replay
   * of an old log would have its windows closed by today's clock between two batches, and a
   * burst split across batches would be counted in two halves.
   */
  idleMs?: number
  /** Ids of rules, correlations and filters that start turned off. */
  disabled?: Iterable<string>
  /** Sigma mapping files over the built-in one (`sigma.mappings`), read once here. */
  mappings?: readonly string[]
  /** What correlations may hold in memory, and how late an event may be (`sigma.correlation`). */
  correlation?: { maxGroups?: number; maxPercentileValues?: number; allowedLatenessMs?: number }
  /** Other detectors' outputs correlations may name (see `RuleSetOptions.externalRules`). */
  externalRules?: readonly { id: string; title: string }[]
}

/** Evictions are logged at most this often, with what they added up to since. */
const EVICTION_LOG_MS = 10_000

/**
 * The stream detector: Sigma rules from the given folders, compiled at start and again at
 * each reload (see `RuleControl`), and the correlations over them (state in memory, saved
 * by `CorrelationCheckpointer` and resumed by `resumeCorrelations`). Rules that do not load are
 * logged with their file and reason and the rest run; a bad rule never stops the engine.
 * A bad mapping file does: it is configuration, and every rule depends on it.
 *
 * @throws ValidationError `PAL_SIGMA_MAPPING_INVALID` when a mapping file is not valid
 */
export function createDetector(
  ruleDirs: readonly string[],
  logger: Logger,
  options: DetectorOptions = {},
): SigmaDetector {
  const idleMs = options.idleMs ?? 60_000
  const limits = { ...correlationLimits, ...options.correlation }
  // Quiet since the start, not since 1970: windows resumed from a checkpoint (a replay of an
  // old log cut by a restart) must not be closed by the first tick before the rest arrives.
  let lastEventAt = Date.now()
  const mapping = loadMappings(options.mappings)
  const rules = new RuleControl({
    load: () => loadRules(ruleDirs),
    compile: (documents) => {
      const ruleSet = compileRuleSet(documents, {
        mapping,
        ...(options.externalRules ? { externalRules: options.externalRules } : {}),
      })
      for (const w of ruleSet.warnings.slice(0, 20)) {
        logger.warn({ file: w.file, line: w.line, rule_id: w.rule_id }, w.message)
      }
      if (ruleSet.warnings.length > 0) {
        logger.warn(
          { rules: ruleSet.warnings.length, mappings: mapping.files },
          'rules with placeholders that have no value load but match nothing',
        )
      }
      return ruleSet
    },
    disabled: options.disabled,
    correlator: limits,
    folders: ruleDirs,
    logger,
  })
  const off = rules.disabled
  // A window of a correlation turned off may still close: its alert is dropped here.
  const enabledOnly = (alerts: Alert[]) =>
    off.size === 0 ? alerts : alerts.filter((a) => !off.has(a.rule.id))

  // A flood evicts on every event: add the evictions up and log them now and then, one line
  // per correlation, naming it and never a group's values (they are event data).
  const unlogged = new Map<string, Eviction>()
  let loggedAt = -Infinity
  const reportEvictions = (correlator: Correlator, now: number) => {
    for (const e of correlator.takeEvictions()) {
      const sum = unlogged.get(e.correlation) ?? { correlation: e.correlation, open: 0, idle: 0 }
      unlogged.set(e.correlation, { ...sum, open: sum.open + e.open, idle: sum.idle + e.idle })
    }
    if (unlogged.size === 0 || now - loggedAt < EVICTION_LOG_MS) return
    loggedAt = now
    for (const e of unlogged.values()) {
      const context = {
        correlation_id: e.correlation,
        title: rules.ruleSet.ruleById(e.correlation)?.title,
        evicted_open: e.open,
        evicted_idle: e.idle,
        groups: correlator.groups(),
        max_groups: limits.maxGroups,
      }
      if (e.open > 0) {
        logger.warn(
          context,
          'correlation state at its limit: the open windows of the least recently updated ' +
            'group keys were dropped, so alerts they were due may be missed',
        )
      } else {
        logger.info(context, 'correlation state at its limit: idle group keys forgotten')
      }
    }
    unlogged.clear()
  }

  return {
    get ruleSet() {
      return rules.ruleSet
    },
    get correlator() {
      return rules.correlator
    },
    rules,
    detect(events) {
      if (events.length > 0) lastEventAt = Date.now()
      // One set for the whole batch: a reload between two batches never splits one.
      const { ruleSet, correlator } = rules.live
      const alerts: Alert[] = []
      for (const event of events) {
        let matched = ruleSet.evaluate(event)
        if (off.size > 0 && matched.length > 0) matched = matched.filter((r) => !off.has(r.id))
        if (matched.length === 0) continue
        alerts.push(...ruleSet.alertsFor(event, matched), ...correlator.process(event, matched))
      }
      // Windows are decided as the events for their group move its time past them
      // (`Correlator.process`), so nothing is left for a sweep at the end of the batch.
      reportEvictions(correlator, Date.now())
      return enabledOnly(alerts)
    },
    correlate(event, ruleId) {
      const { ruleSet, correlator } = rules.live
      const rule = ruleSet.ruleById(ruleId)
      if (rule?.kind !== 'detection' || off.has(ruleId)) return []
      return enabledOnly(correlator.process(event, [rule]))
    },
    flush(nowMs) {
      const correlator = rules.correlator
      const alerts = correlator.flush(nowMs - lastEventAt >= idleMs ? nowMs : undefined)
      reportEvictions(correlator, nowMs)
      return enabledOnly(alerts)
    },
  }
}

/**
 * Detectors side by side: each sees every batch, in order, and their alerts are joined. The
 * Sigma detector goes first, so that an anomaly handed to its correlations during the same
 * batch meets the rule matches of that batch already counted.
 */
export function composeDetectors(...detectors: Detector[]): Detector {
  return {
    detect: (events) => detectors.flatMap((d) => d.detect(events)),
    flush: (nowMs) => detectors.flatMap((d) => d.flush(nowMs)),
  }
}
