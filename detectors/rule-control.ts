import { PalisadeError } from '../platform/errors.ts'
import type { Logger } from '../platform/logger.ts'
import { carryCorrelationState } from './sigma/carry-correlation-state.ts'
import { createCorrelator } from './sigma/correlation-engine.ts'
import type { CorrelationState, Correlator, CorrelatorOptions } from './sigma/correlation-engine.ts'
import type { LoadedRules } from './sigma/load-rules.ts'
import type { RuleSet, RuleWarning } from './sigma/rule-set.ts'
import type { RuleRejection, SigmaDocument } from './sigma/sigma-rule.ts'

export interface RuleControlOptions {
  /** Reads the rule folders; may throw (a folder that no longer exists). */
  load: () => LoadedRules
  /** Compiles documents into a rule set, with the engine's routes and placeholders. */
  compile: (documents: readonly SigmaDocument[]) => RuleSet
  /** Ids that start turned off. */
  disabled?: Iterable<string>
  correlator?: CorrelatorOptions
  /** The folders, for log lines only. */
  folders?: readonly string[]
  logger?: Logger
}

/** One loaded rule set and the correlator running over it. */
export interface LiveRules {
  /** Every document that loaded, filters turned off included. */
  documents: readonly SigmaDocument[]
  /** What did not load or compile, with file, line and reason. */
  rejections: readonly RuleRejection[]
  ruleSet: RuleSet
  correlator: Correlator
}

/** What a reload changed, by id, compared with the rule set it replaced. */
export interface ReloadReport {
  added: string[]
  changed: string[]
  removed: string[]
  rejections: RuleRejection[]
  /** Rules that load but match nothing (a placeholder without a value). */
  warnings: RuleWarning[]
  rules: number
  correlations: number
  filters: number
  /** Correlations whose open windows were dropped: they changed or are gone. */
  correlationStateDropped: string[]
  /** Id to version, before and after, for whoever audits the reload. */
  versionsBefore: Record<string, string>
  versionsAfter: Record<string, string>
}

/**
 * The rules an engine runs, and the three ways to change them while it runs: turn a rule,
 * correlation or filter off or on, and reload the folders. Each change replaces the running
 * set in one assignment, so a batch is detected wholly on the set it started with.
 *
 * A detection rule or correlation that is off stays compiled and is skipped where it would
 * match (it neither alerts nor feeds correlations), so turning it back on resumes its windows.
 * A filter that is off is left out of compilation instead, since it is folded into the
 * predicates of the rules it names: turning one off or on recompiles the loaded documents,
 * without reading the folders.
 */
export class RuleControl {
  #live: LiveRules
  /** The loader's rejections of the documents in `#live`, kept for recompiling them. */
  #loaderRejections: readonly RuleRejection[]
  readonly #disabled: Set<string>
  readonly #options: RuleControlOptions

  /** @throws {PalisadeError} when the folders cannot be read at all (a missing folder). */
  constructor(options: RuleControlOptions) {
    this.#options = options
    this.#disabled = new Set(options.disabled ?? [])
    const loaded = options.load()
    this.#loaderRejections = loaded.rejections
    this.#live = this.#build(loaded.documents, loaded.rejections, undefined).live
  }

  /** The set running now; keep the object for a whole batch rather than asking per event. */
  get live(): LiveRules {
    return this.#live
  }

  get ruleSet(): RuleSet {
    return this.#live.ruleSet
  }

  get correlator(): Correlator {
    return this.#live.correlator
  }

  /** Ids turned off, loaded or not: one turned off keeps that state across reloads. */
  get disabled(): ReadonlySet<string> {
    return this.#disabled
  }

  isEnabled(id: string): boolean {
    return !this.#disabled.has(id)
  }

  /** The loaded document with this id (a detection rule, correlation or filter), if any. */
  find(id: string): SigmaDocument | undefined {
    return this.#live.documents.find((d) => d.id === id)
  }

  /**
   * Turns a loaded rule, correlation or filter on or off.
   *
   * @returns whether its state changed (false when it already was as asked)
   * @throws {PalisadeError} `PAL_NOT_FOUND` (404) when no loaded document has this id
   */
  setEnabled(id: string, enabled: boolean): boolean {
    const doc = this.find(id)
    if (!doc) {
      throw new PalisadeError('PAL_NOT_FOUND', `no loaded rule, correlation or filter ${id}`, {
        status: 404,
      })
    }
    if (this.isEnabled(id) === enabled) return false
    if (enabled) this.#disabled.delete(id)
    else this.#disabled.add(id)
    if (doc.kind === 'filter') {
      this.#live = this.#build(this.#live.documents, this.#loaderRejections, this.#live).live
    }
    return true
  }

  /**
   * Reads the folders again, compiles them and swaps the result in. Correlations whose id and
   * version are unchanged keep their open windows; the windows of changed or removed ones are
   * dropped (they were counted under another definition).
   *
   * @throws {PalisadeError} `PAL_RULES_RELOAD_FAILED` (422) when the folders cannot be read or
   *   give no rule or correlation that compiles; the running set is then kept as it was.
   */
  reload(): ReloadReport {
    let loaded: LoadedRules
    try {
      loaded = this.#options.load()
    } catch (error) {
      throw this.#refusal(`the rule folders cannot be read: ${(error as Error).message}`, [], error)
    }

    const before = this.#live
    const built = this.#build(loaded.documents, loaded.rejections, before)
    const next = built.live
    if (next.ruleSet.rules.length === 0 && next.ruleSet.correlations.length === 0) {
      const first = next.rejections[0]
      const why = first ? `; first: ${where(first)}: ${first.message}` : ''
      throw this.#refusal(
        `the rule folders gave no rule that compiles (${next.rejections.length} rejected${why})`,
        next.rejections,
      )
    }

    const versionsBefore = versionsOf(before)
    const versionsAfter = versionsOf(next)
    this.#live = next
    this.#loaderRejections = loaded.rejections
    const report: ReloadReport = {
      added: Object.keys(versionsAfter).filter((id) => !(id in versionsBefore)),
      changed: Object.keys(versionsAfter).filter(
        (id) => id in versionsBefore && versionsBefore[id] !== versionsAfter[id],
      ),
      removed: Object.keys(versionsBefore).filter((id) => !(id in versionsAfter)),
      rejections: [...next.rejections],
      warnings: [...next.ruleSet.warnings],
      rules: next.ruleSet.rules.length,
      correlations: next.ruleSet.correlations.length,
      filters: next.documents.filter((d) => d.kind === 'filter').length,
      correlationStateDropped: built.dropped,
      versionsBefore,
      versionsAfter,
    }
    this.#options.logger?.info(
      {
        added: report.added.length,
        changed: report.changed.length,
        removed: report.removed.length,
        rejected: report.rejections.length,
        correlation_state_dropped: built.dropped.length,
      },
      'rules reloaded',
    )
    return report
  }

  /**
   * Resumes correlation state saved by an earlier run (a checkpoint): the open windows,
   * sequences and watermarks of the correlations whose version is the one `versions` gives
   * (id to version, as they were when the state was saved). Those of correlations that
   * changed or are gone are dropped, as a reload drops them.
   *
   * @returns the ids of the correlations whose state was dropped
   */
  restore(state: CorrelationState, versions: Readonly<Record<string, string>>): string[] {
    const live = this.#live
    const now = new Map(live.ruleSet.correlations.map((c) => [c.id, c.version]))
    const carried = carryCorrelationState(
      state,
      (id) => now.has(id) && now.get(id) === versions[id],
    )
    const correlator = createCorrelator(
      live.ruleSet,
      { ...this.#options.correlator, isEnabled: (id) => this.isEnabled(id) },
      carried.state,
    )
    this.#live = { ...live, correlator }
    return carried.dropped
  }

  #build(
    documents: readonly SigmaDocument[],
    loaderRejections: readonly RuleRejection[],
    previous: LiveRules | undefined,
  ): { live: LiveRules; dropped: string[] } {
    const active = documents.filter((d) => d.kind !== 'filter' || this.isEnabled(d.id))
    const ruleSet = this.#options.compile(active)
    const rejections = [...loaderRejections, ...ruleSet.rejections]

    let carried
    if (previous) {
      const same = new Map(ruleSet.correlations.map((c) => [c.id, c.version]))
      const before = new Map(previous.ruleSet.correlations.map((c) => [c.id, c.version]))
      carried = carryCorrelationState(
        previous.correlator.state(),
        (id) => same.has(id) && same.get(id) === before.get(id),
      )
    }
    const correlator = createCorrelator(
      ruleSet,
      { ...this.#options.correlator, isEnabled: (id) => this.isEnabled(id) },
      carried?.state,
    )

    const logger = this.#options.logger
    if (logger && !previous) {
      for (const r of rejections.slice(0, 20))
        logger.warn({ file: r.file, line: r.line }, r.message)
      logger.info(
        {
          folders: this.#options.folders,
          rules: ruleSet.rules.length,
          correlations: ruleSet.correlations.length,
          rejected: rejections.length,
          disabled: this.#disabled.size,
        },
        'rules loaded',
      )
    }
    return { live: { documents, rejections, ruleSet, correlator }, dropped: carried?.dropped ?? [] }
  }

  #refusal(message: string, rejections: readonly RuleRejection[], cause?: unknown): PalisadeError {
    const running = this.#live.ruleSet.rules.length + this.#live.ruleSet.correlations.length
    return new PalisadeError(
      'PAL_RULES_RELOAD_FAILED',
      `reload refused, the ${running} running rules and correlations are kept: ${message}`,
      { status: 422, context: { rejections: rejections.slice(0, 100) }, cause },
    )
  }
}

/** Id to content version of every rule, correlation and filter (duplicates joined by `+`). */
function versionsOf(live: LiveRules): Record<string, string> {
  const byId = new Map<string, string[]>()
  const add = (id: string, version: string) => byId.set(id, [...(byId.get(id) ?? []), version])
  for (const r of live.ruleSet.rules) add(r.id, r.version)
  for (const c of live.ruleSet.correlations) add(c.id, c.version)
  for (const d of live.documents) if (d.kind === 'filter') add(d.id, d.version)
  const out: Record<string, string> = {}
  for (const id of [...byId.keys()].sort()) out[id] = byId.get(id)!.sort().join('+')
  return out
}

function where(r: RuleRejection): string {
  return r.line ? `${r.file}:${r.line}` : r.file
}
