import { v7 as uuidv7 } from 'uuid'

import type { AuditEntryInput, AuditLog } from '../../audit/audit-log.ts'
import { listed } from '../../audit/startup-audit.ts'
import type { AnalyticsStore } from '../../platform/clickhouse/analytics-store.ts'
import { PalisadeError, ValidationError } from '../../platform/errors.ts'
import type { Logger } from '../../platform/logger.ts'
import {
  failInterruptedHunts,
  finishHunt,
  getHunt,
  insertHunt,
  updateHuntProgress,
  type HuntRecord,
} from '../../platform/state/hunt-records.ts'
import type { StateDb } from '../../platform/state/state-store.ts'
import type { RuleControl } from '../rule-control.ts'
import { parseRuleText } from '../sigma/load-rules.ts'
import type { SigmaMapping } from '../sigma/load-mappings.ts'
import type { SigmaDocument } from '../sigma/sigma-rule.ts'
import { planHunt } from './hunt-plan.ts'
import { runHunt } from './run-hunt.ts'

export interface HuntJobsOptions {
  store: AnalyticsStore
  db: StateDb
  audit: AuditLog
  /** The loaded rules: hunted by id, and their filters applied to every hunted rule. */
  rules: Pick<RuleControl, 'live' | 'isEnabled'>
  /** The stream detector's mapping, so both back ends route and map fields alike. */
  mapping: SigmaMapping
  /** Most events one slice holds; default 250,000 (`runHunt`). */
  maxSliceEvents?: number
  logger?: Logger
  now?: () => Date
}

type Caller = Pick<AuditEntryInput, 'actor' | 'source'>

export interface StartHunt extends Caller {
  /** Sigma YAML texts (each may hold several documents). */
  texts?: readonly string[]
  /** Ids of loaded detection rules. */
  ruleIds?: readonly string[]
  /** RFC 3339; `from` included, `to` not. */
  from: string
  to: string
  maxSliceEvents?: number
}

/**
 * Hunts over stored events, run in the background one at a time: each reads every event of
 * its range once per batch of rules, and on the embedded engine's two cores two at once would
 * only slow both and ingest with them. A second request while one runs gets 409
 * `PAL_HUNT_BUSY`. Each hunt is a row in the state store (`hunt-records.ts`), its progress
 * written after every query; a stop cancels the running hunt, and one the process did not see
 * end (a crash) is marked failed at the next start, with the alerts it had stored kept.
 *
 * Starting and cancelling are audited (`hunt.start`, `hunt.cancel`) before they are answered,
 * refusals included, as rule changes are.
 */
export class HuntJobs {
  readonly #options: HuntJobsOptions
  readonly #now: () => Date
  #running: { id: string; abort: AbortController; done: Promise<void> } | undefined
  #closing = false

  private constructor(options: HuntJobsOptions) {
    this.#options = options
    this.#now = options.now ?? (() => new Date())
  }

  /** Opens the hunts of a state store, marking those a stop interrupted as failed. */
  static async open(options: HuntJobsOptions): Promise<HuntJobs> {
    const jobs = new HuntJobs(options)
    const interrupted = await failInterruptedHunts(options.db, jobs.#now().toISOString())
    if (interrupted.length > 0) {
      options.logger?.warn({ hunts: interrupted }, 'hunts interrupted by the last stop: failed')
    }
    return jobs
  }

  /**
   * Plans a hunt, records and audits it, and runs it in the background.
   *
   * @returns the hunt as it starts (state `running`), with the rules it refused
   * @throws {ValidationError} 400 for YAML that does not load or an id no loaded rule has;
   *   `PAL_HUNT_NOTHING_TO_RUN` (422) when every rule is refused
   * @throws {PalisadeError} `PAL_HUNT_BUSY` (409) while another hunt runs
   */
  async start(request: StartHunt): Promise<HuntRecord> {
    const id = uuidv7()
    const audited = (outcome: 'success' | 'failure', details: Record<string, string | number>) =>
      this.#options.audit.record({
        actor: request.actor,
        ...(request.source ? { source: request.source } : {}),
        action: 'hunt.start',
        target: { kind: 'hunt', id },
        outcome,
        details: { from: request.from, to: request.to, ...details },
      })
    const refuse = async (error: PalisadeError): Promise<never> => {
      await audited('failure', { error_code: error.code })
      throw error
    }

    if (this.#closing) {
      throw new PalisadeError('PAL_SHUTTING_DOWN', 'Palisade is stopping; hunt later', {
        status: 503,
        retriable: true,
      })
    }

    let documents: SigmaDocument[]
    try {
      documents = this.#documents(request)
    } catch (error) {
      if (error instanceof PalisadeError) await refuse(error)
      throw error
    }
    const plan = planHunt(documents, {
      mapping: this.#options.mapping,
      ...(request.ruleIds ? { requested: request.ruleIds } : {}),
    })
    if (plan.rules.length === 0) {
      await refuse(
        new PalisadeError(
          'PAL_HUNT_NOTHING_TO_RUN',
          `none of the ${plan.refused.length} rules can be hunted: ` +
            plan.refused
              .slice(0, 3)
              .map((r) => `${r.title} (${r.id}): ${r.reason}`)
              .join('; '),
          { status: 422, context: { refused: plan.refused } },
        ),
      )
    }

    // Checked after planning (a bad request is a 400 whatever runs), with no await between
    // it and taking the slot below, so two requests cannot both start.
    if (this.#running) {
      const running = this.#running.id
      await refuse(
        new PalisadeError(
          'PAL_HUNT_BUSY',
          `hunt ${running} is running and hunts run one at a time; wait until ` +
            `GET /v1/hunts/${running} says it ended, or cancel it`,
          { status: 409, retriable: true, context: { running } },
        ),
      )
    }

    const record: HuntRecord = {
      id,
      state: 'running',
      created_at: this.#now().toISOString(),
      finished_at: null,
      created_by: `${request.actor.kind}:${request.actor.id}`,
      from: request.from,
      to: request.to,
      rules: plan.rules,
      refused: plan.refused,
      progress: {
        slices: { done: 0, total: 0 },
        events: { done: 0, total: 0 },
        queries: { done: 0, total: 0 },
        matches: 0,
      },
      error: null,
    }
    const { db, store, logger } = this.#options
    const abort = new AbortController()
    let release!: () => void
    const done = new Promise<void>((resolve) => (release = resolve))
    this.#running = { id, abort, done }
    try {
      await insertHunt(db, record)
      await audited('success', {
        ...listed(
          'rules',
          plan.rules.map((r) => r.id),
        ),
        refused_count: plan.refused.length,
      })
    } catch (error) {
      this.#running = undefined
      release()
      throw error
    }

    const run = async (): Promise<void> => {
      try {
        const outcome = await runHunt({
          store,
          huntId: id,
          plan,
          from: Date.parse(request.from),
          to: Date.parse(request.to),
          maxSliceEvents: request.maxSliceEvents ?? this.#options.maxSliceEvents,
          signal: abort.signal,
          onProgress: (progress) => updateHuntProgress(db, id, progress),
        })
        await finishHunt(db, id, { ...outcome, at: this.#now().toISOString() })
      } catch (error) {
        const code = error instanceof PalisadeError ? error.code : 'PAL_HUNT_FAILED'
        logger?.error({ err: error, hunt_id: id }, 'hunt failed')
        await finishHunt(db, id, {
          state: 'failed',
          error: { code, message: (error as Error).message.slice(0, 1000) },
          at: this.#now().toISOString(),
        }).catch((e: unknown) => logger?.error({ err: e, hunt_id: id }, 'hunt not recorded'))
      } finally {
        this.#running = undefined
        release()
      }
    }
    void run()
    return record
  }

  /**
   * Cancels a running hunt and waits until it has stopped (after the query running at the
   * time); the alerts it stored stay.
   *
   * @throws {PalisadeError} `PAL_NOT_FOUND` (404) for an unknown hunt, `PAL_HUNT_NOT_RUNNING`
   *   (409) for one that already ended
   */
  async cancel(id: string, caller: Caller): Promise<HuntRecord> {
    const audited = (outcome: 'success' | 'failure', details: Record<string, string>) =>
      this.#options.audit.record({
        ...caller,
        action: 'hunt.cancel',
        target: { kind: 'hunt', id },
        outcome,
        details,
      })
    const hunt = await getHunt(this.#options.db, id)
    if (!hunt) {
      await audited('failure', { error_code: 'PAL_NOT_FOUND' })
      throw huntNotFound(id)
    }
    const running = this.#running
    if (running?.id !== id) {
      await audited('failure', { error_code: 'PAL_HUNT_NOT_RUNNING', state: hunt.state })
      throw new PalisadeError(
        'PAL_HUNT_NOT_RUNNING',
        `hunt ${id} is ${hunt.state}, not running: only a running hunt can be cancelled`,
        { status: 409, context: { state: hunt.state } },
      )
    }
    running.abort.abort()
    await running.done
    await audited('success', {})
    return (await getHunt(this.#options.db, id))!
  }

  /** The id of the hunt running now, if any. */
  get running(): string | undefined {
    return this.#running?.id
  }

  /**
   * Cancels the running hunt, if any, and waits for it; refuses new ones from then on. The
   * cancellation is audited as Palisade's own (`hunt.cancel`, reason `stop`).
   */
  async close(): Promise<void> {
    this.#closing = true
    const running = this.#running
    if (!running) return
    running.abort.abort()
    await running.done
    await this.#options.audit.record({
      actor: { kind: 'system', id: 'palisade', name: 'stop' },
      action: 'hunt.cancel',
      target: { kind: 'hunt', id: running.id },
      outcome: 'success',
      details: { reason: 'stop' },
    })
  }

  /**
   * The documents a hunt compiles: the posted texts and the loaded rules named, each once, the
   * loaded rules a loaded correlation named references (a posted correlation's must be posted
   * with it), and the loaded filters that are on and name one of them (the stream applies
   * those too, and its alerts' versions include them). A posted rule whose id is another
   * posted rule's, or one of those loaded documents', is refused (`PAL_HUNT_RULE_DUPLICATE`)
   * rather than silently standing in for it.
   */
  #documents(request: StartHunt): SigmaDocument[] {
    const { live } = this.#options.rules
    const out: SigmaDocument[] = []
    const seen = new Set<string>()
    const add = (doc: SigmaDocument) => {
      if (seen.has(doc.id)) return
      seen.add(doc.id)
      out.push(doc)
    }
    // Where each posted document came from. A posted rule may stand in for a loaded rule the
    // hunt does not name (that is how an edit is tried), but one sharing an id with another
    // document of the hunt would silently replace it: refused, naming both.
    const posted = new Map<string, string>()
    const duplicate = (id: string, where: string, other: string) =>
      new ValidationError(
        `${where}: expected a rule id of its own, got ${id}: a posted rule may not reuse ` +
          `the id of ${other}`,
        { path: where, rule_id: id },
        'PAL_HUNT_RULE_DUPLICATE',
      )
    const addLoaded = (doc: SigmaDocument, other: string) => {
      const where = posted.get(doc.id)
      if (where) throw duplicate(doc.id, where, other)
      add(doc)
    }

    ;(request.texts ?? []).forEach((text, i) => {
      const where = `body.rules[${i}]`
      const parsed = parseRuleText(text, where)
      const rejection = parsed.rejections[0]
      if (rejection) {
        throw new ValidationError(
          `${where}${rejection.line ? ` line ${rejection.line}` : ''}: ${rejection.message}`,
          { path: where, ...(rejection.line ? { line: rejection.line } : {}) },
          'PAL_HUNT_RULE_INVALID',
        )
      }
      if (parsed.documents.length === 0) {
        throw new ValidationError(`${where}: expected a Sigma rule, got no YAML document`, {
          path: where,
        })
      }
      for (const doc of parsed.documents) {
        const earlier = posted.get(doc.id)
        if (earlier) throw duplicate(doc.id, where, `another posted rule (${earlier})`)
        posted.set(doc.id, where)
        add(doc)
      }
    })

    const unknown: string[] = []
    for (const ruleId of request.ruleIds ?? []) {
      const doc = live.documents.find((d) => d.id === ruleId)
      if (doc && doc.kind !== 'filter') addLoaded(doc, 'a loaded rule the hunt also names')
      else unknown.push(ruleId)
    }
    // After every named rule, so a rule both named and referenced keeps its place.
    for (const ruleId of request.ruleIds ?? []) {
      const doc = live.documents.find((d) => d.id === ruleId)
      if (doc?.kind !== 'correlation') continue
      for (const ref of doc.rules) {
        const referenced = live.documents.find((d) => d.id === ref || d.name === ref)
        if (referenced && referenced.kind !== 'filter') {
          addLoaded(referenced, `a loaded rule that the named correlation ${doc.id} references`)
        }
      }
    }
    if (unknown.length > 0) {
      throw new ValidationError(
        `body.rule_ids: expected ids of loaded detection or correlation rules (see ` +
          `GET /v1/rules), got ${unknown.length} unknown: ${unknown.slice(0, 5).join(', ')}`,
        { path: 'body.rule_ids', unknown },
        'PAL_HUNT_RULE_UNKNOWN',
      )
    }

    const names = new Set(out.flatMap((d) => (d.name ? [d.id, d.name] : [d.id])))
    for (const doc of live.documents) {
      if (doc.kind !== 'filter' || !this.#options.rules.isEnabled(doc.id)) continue
      if (doc.rules.some((r) => names.has(r))) {
        addLoaded(doc, 'a loaded filter the hunt applies to the rules it names')
      }
    }
    return out
  }
}

export function huntNotFound(id: string): PalisadeError {
  return new PalisadeError('PAL_NOT_FOUND', `no hunt with id ${id}; see GET /v1/hunts`, {
    status: 404,
  })
}
