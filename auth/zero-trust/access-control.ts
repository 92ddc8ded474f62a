import type { AuditEntryInput, AuditLog } from '../../audit/audit-log.ts'
import type { Alert } from '../../platform/alert-model.ts'
import type { AnalyticsStore } from '../../platform/clickhouse/analytics-store.ts'
import { insertDecisions } from '../../platform/clickhouse/decision-repository.ts'
import type { Logger } from '../../platform/logger.ts'
import {
  insertAccessPolicies,
  latestAccessPolicies,
  listRiskClearances,
  saveRiskClearance,
} from '../../platform/state/access-policies.ts'
import type { StateDb } from '../../platform/state/state-store.ts'
import { findUserByName } from '../../platform/state/users.ts'
import { DecisionPoint } from './decision-point.ts'
import type { ActivePolicies, Decision, DecisionPointOptions } from './decision-point.ts'
import { compilePolicySet, DEFAULT_POLICIES } from './policy-set.ts'
import { RiskRegister } from './risk-register.ts'
import type { EntityRisk, RiskEntityKind } from './risk-register.ts'

/** Who asked, as the audit log names them. */
export type Caller = Pick<AuditEntryInput, 'actor' | 'source'>

export interface AccessControlOptions {
  db: StateDb
  store: AnalyticsStore
  audit: AuditLog
  logger: Logger
  /** The clock decisions and risk decay read; tests move it. */
  now?: () => Date
  /** Time for an alert's weight to halve; one hour unless told. */
  riskHalfLifeMs?: number
  /** Containment from response actions, read at every decision. */
  contains?: DecisionPointOptions['contains']
  /** Decisions are written to ClickHouse in batches of this many, or every `flushMs`. */
  logBatch?: number
  flushMs?: number
}

const SYSTEM: Caller = { actor: { kind: 'system', id: 'palisade', name: 'access control' } }

/**
 * Zero-trust access control as the engine runs it: the decision point, the policy set in force
 * (versioned in the state store, validated before it applies, every change audited), the risk
 * register fed by stored alerts, and the decision log.
 *
 * Every decision goes to ClickHouse (`access_decisions`) in batches; a deny or step-up is also
 * an audit entry, written before the decision is answered (DESIGN.md, Trust: Audit). An allow
 * is in the decision log only: auditing each would make the Merkle log grow with every request
 * an enforcement point makes.
 */
export class AccessControl {
  readonly risk: RiskRegister
  readonly point: DecisionPoint
  readonly #options: AccessControlOptions
  readonly #now: () => Date
  #active: ActivePolicies
  #pending: Decision[] = []
  #flushing: Promise<void> = Promise.resolve()
  #timer: NodeJS.Timeout | undefined

  private constructor(options: AccessControlOptions, active: ActivePolicies, risk: RiskRegister) {
    this.#options = options
    this.#now = options.now ?? (() => new Date())
    this.#active = active
    this.risk = risk
    this.point = new DecisionPoint({
      policies: () => this.#active,
      risk,
      subject: async (name) => {
        const user = await findUserByName(options.db, name)
        return user ? { role: user.role, disabled: user.disabled_at !== null } : undefined
      },
      now: this.#now,
      ...(options.contains ? { contains: options.contains } : {}),
    })
  }

  /**
   * Loads the policy set in force (writing and auditing the built-in one on a fresh instance),
   * the analysts' clearances, and the alerts still weighing on risk, so a restart decides as
   * the engine did before it.
   */
  static async open(options: AccessControlOptions): Promise<AccessControl> {
    const risk = new RiskRegister(
      options.riskHalfLifeMs === undefined ? {} : { halfLifeMs: options.riskHalfLifeMs },
    )
    let row = await latestAccessPolicies(options.db)
    if (!row) {
      const set = compilePolicySet(DEFAULT_POLICIES)
      row = await insertAccessPolicies(options.db, {
        policies: set.text,
        digest: set.digest,
        created_at: new Date().toISOString(),
        created_by: 'system:palisade',
      })
      await options.audit.record({
        ...SYSTEM,
        action: 'policy.update',
        target: { kind: 'access_policies', id: String(row.version) },
        outcome: 'success',
        details: { version: row.version, digest: row.digest, origin: 'built-in' },
      })
    }
    for (const c of await listRiskClearances(options.db)) {
      risk.restoreClearance(c.entity_kind as RiskEntityKind, c.entity_value, new Date(c.cleared_at))
    }
    const control = new AccessControl(
      options,
      { version: row.version, set: compilePolicySet(row.policies) },
      risk,
    )
    await control.#loadRecentAlerts()
    control.#timer = setInterval(() => void control.flush(), options.flushMs ?? 1000)
    control.#timer.unref()
    return control
  }

  /** The clock decisions and risk read. */
  now(): Date {
    return this.#now()
  }

  /** The policy set in force. */
  get policies(): ActivePolicies {
    return this.#active
  }

  /** Weighs alerts just stored; the pipeline calls it before it answers the batch. */
  observe(alerts: readonly Alert[]): void {
    if (alerts.length > 0) this.risk.observe(alerts, this.#now())
  }

  /** Decides, logs the decision, and audits it when it is not an allow. */
  async decide(input: unknown, caller: Caller): Promise<Decision> {
    const decision = await this.point.decide(input)
    this.#pending.push(decision)
    if (this.#pending.length >= (this.#options.logBatch ?? 500)) void this.flush()
    if (decision.decision !== 'allow') {
      await this.#options.audit.record({
        ...caller,
        action: 'access.decide',
        target: { kind: 'user', id: (decision.subject ?? 'unreadable').slice(0, 256) },
        outcome: 'denied',
        details: {
          decision: decision.decision,
          decision_id: decision.id,
          resource: (decision.resource ?? '').slice(0, 256),
          action: (decision.action ?? '').slice(0, 64),
          policies: decision.policies.join(','),
          reasons: decision.reasons.map((r) => r.code).join(','),
          risk: decision.risk.score,
          alerts: decision.risk.alerts
            .slice(0, 20)
            .map((a) => a.alert_id)
            .join(','),
          policy_version: decision.policy_version,
        },
      })
    }
    return decision
  }

  /**
   * Validates a new policy set and puts it in force as the next version; a set that fails
   * validation is refused (and the refusal audited) and the one in force stays.
   *
   * @throws {ValidationError} `PAL_POLICY_INVALID` with every problem.
   */
  async setPolicies(text: string, caller: Caller): Promise<ActivePolicies> {
    let set
    try {
      set = compilePolicySet(text)
    } catch (error) {
      await this.#options.audit.record({
        ...caller,
        action: 'policy.update',
        target: { kind: 'access_policies', id: 'refused' },
        outcome: 'failure',
        details: {
          code: 'PAL_POLICY_INVALID',
          kept_version: this.#active.version,
          message: (error as Error).message.slice(0, 500),
        },
      })
      throw error
    }
    const by = `${caller.actor.kind}:${caller.actor.id}`
    const row = await insertAccessPolicies(this.#options.db, {
      policies: set.text,
      digest: set.digest,
      created_at: this.#now().toISOString(),
      created_by: by,
    })
    await this.#options.audit.record({
      ...caller,
      action: 'policy.update',
      target: { kind: 'access_policies', id: String(row.version) },
      outcome: 'success',
      details: {
        version: row.version,
        digest: set.digest,
        previous_version: this.#active.version,
        policies: [...set.info.keys()].join(',').slice(0, 1000),
      },
    })
    this.#active = { version: row.version, set }
    return this.#active
  }

  /** An analyst sets aside what is known of an entity's risk now; audited before it applies. */
  async clearRisk(
    kind: RiskEntityKind,
    value: string,
    reason: string,
    caller: Caller,
  ): Promise<{ before: EntityRisk; after: EntityRisk }> {
    const now = this.#now()
    const before = this.risk.risk(kind, value, now)
    await saveRiskClearance(this.#options.db, {
      entity_kind: kind,
      entity_value: value,
      cleared_at: now.toISOString(),
      cleared_by: `${caller.actor.kind}:${caller.actor.id}`,
      reason,
    })
    await this.#options.audit.record({
      ...caller,
      action: 'risk.clear',
      target: { kind: `risk.${kind}`, id: value.slice(0, 256) },
      outcome: 'success',
      details: {
        score_before: before.score,
        alerts: before.contributions.map((c) => c.alert_id).join(','),
        reason: reason.slice(0, 500),
      },
    })
    this.risk.clear(kind, value, now)
    return { before, after: this.risk.risk(kind, value, now) }
  }

  /** Writes the decisions waiting for the log; resolves once they are in ClickHouse. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      const batch = this.#pending
      if (batch.length === 0) return
      this.#pending = []
      try {
        await insertDecisions(this.#options.store, batch)
      } catch (error) {
        // Denies and step-ups are in the audit log in any case; allows are lost from the log.
        this.#options.logger.error(
          { err: error, decisions: batch.length },
          'the decision log could not be written',
        )
      }
    })
    return this.#flushing
  }

  async close(): Promise<void> {
    clearInterval(this.#timer)
    await this.flush()
  }

  /** Alerts young enough to still weigh (ten half-lives: under a thousandth of their weight). */
  async #loadRecentAlerts(): Promise<void> {
    const { store } = this.#options
    const since = new Date(this.#now().getTime() - 10 * this.risk.halfLifeMs)
    const result = await store.client.query({
      query:
        `SELECT alert, toString(created) AS created FROM ${store.database}.alerts FINAL ` +
        `WHERE timestamp >= {since:DateTime64(3, 'UTC')} AND origin = 'stream'`,
      query_params: { since: since.toISOString().replace('T', ' ').replace('Z', '') },
      format: 'JSONEachRow',
    })
    for (const row of await result.json<{ alert: string; created: string }>()) {
      const alert = JSON.parse(row.alert) as Alert
      this.risk.observe([alert], new Date(`${row.created.replace(' ', 'T')}Z`))
    }
  }
}
