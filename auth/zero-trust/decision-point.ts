import * as cedar from '@cedar-policy/cedar-wasm/nodejs'
import type { StatefulAuthorizationCall } from '@cedar-policy/cedar-wasm/nodejs'

import { newId } from '../../platform/event-id.ts'
import { ACCESS_SCHEMA } from './policy-set.ts'
import type { PolicySet } from './policy-set.ts'
import { accessActions, decisionRequestSchema, inputProblems } from './decision-request.ts'
import type { DecisionRequest } from './decision-request.ts'
import type { Containment } from './responder.ts'
import type { RiskEntityKind, RiskRegister } from './risk-register.ts'

export type DecisionOutcome = 'allow' | 'deny' | 'step_up'

/** Why a decision came out as it did; `code` is stable, `message` says it in words. */
export interface DecisionReason {
  code: string
  message: string
  policy_id?: string
  alert_id?: string
  /** The response action whose containment decided. */
  action_id?: string
  path?: string
}

export interface DecisionRisk {
  score: number
  user: number
  address: number
  device: number
  host: number
  alerts: {
    alert_id: string
    rule_id: string
    rule_title: string
    entity: { kind: RiskEntityKind; value: string }
    current: number
  }[]
}

export interface Decision {
  id: string
  decision: DecisionOutcome
  reasons: DecisionReason[]
  /** The policies that decided (Cedar's diagnostics), by @id. */
  policies: string[]
  obligations: string[]
  risk: DecisionRisk
  policy_version: number
  decided_at: string
  /** The subject, resource and action, as asked (absent when the request was malformed). */
  subject?: string
  resource?: string
  action?: string
  /** The address the request came from, when it was readable. */
  address?: string
}

/** The policy set in force, with its version number. */
export interface ActivePolicies {
  version: number
  set: PolicySet
}

export interface SubjectAttributes {
  role: string
  disabled: boolean
}

export interface DecisionPointOptions {
  policies: () => ActivePolicies
  /** Risk by entity now; the register in the engine, given numbers in `policy test`. */
  risk: Pick<RiskRegister, 'risk'>
  /** The subject's attributes, or undefined for someone Palisade does not know. */
  subject: (name: string) => Promise<SubjectAttributes | undefined>
  /** Containment in force from response actions (blocks, quarantines, required step-up). */
  contains?: (request: DecisionRequest) => Containment
  now?: () => Date
}

const NO_RISK: DecisionRisk = { score: 0, user: 0, address: 0, device: 0, host: 0, alerts: [] }

/**
 * The policy decision point (NIST SP 800-207 §3.1: the policy engine and administrator): it
 * reads the request, weighs the current risk of every entity it names, asks Cedar, and maps
 * Cedar's allow or deny to allow, deny or step-up. It fails closed: a malformed request, an
 * unknown subject or action, a request the schema refuses, or a policy that errors all deny,
 * with the reason.
 *
 * Step-up is a forbid annotated `@decision("step_up")`: when every forbid that applied is one,
 * a fresh second factor would lift them, so the answer is step-up; any other forbid, or no
 * permit at all, denies. So when policies conflict, deny wins over step-up and both over allow,
 * as Cedar's forbid-overrides-permit gives.
 */
export class DecisionPoint {
  readonly #options: DecisionPointOptions
  readonly #now: () => Date
  /** Digests of the policy sets Cedar holds parsed (thread-local in the WebAssembly module). */
  readonly #preparsed = new Set<string>()

  constructor(options: DecisionPointOptions) {
    this.#options = options
    this.#now = options.now ?? (() => new Date())
    const schema = cedar.preparseSchema('palisade', ACCESS_SCHEMA)
    if (schema.type === 'failure') throw new Error(schema.errors[0]?.message)
  }

  /** Decides one request, given as it arrived (not yet validated). */
  async decide(input: unknown): Promise<Decision> {
    const now = this.#now()
    const active = this.#options.policies()
    const base = { id: newId(), policy_version: active.version, decided_at: now.toISOString() }

    const parsed = decisionRequestSchema.safeParse(input)
    if (!parsed.success) {
      return {
        ...base,
        decision: 'deny',
        reasons: inputProblems(parsed.error).map((p) => ({
          code: 'malformed_request',
          message: `${p.path}: ${p.message}`,
          path: p.path,
        })),
        policies: [],
        obligations: [],
        risk: NO_RISK,
      }
    }
    const request = parsed.data
    const asked = {
      subject: request.subject.id,
      resource: `${request.resource.type}:${request.resource.id}`,
      action: request.action.name,
      address: request.context.network.address,
    }
    const risk = this.#risk(request, now)
    const denied = (reasons: DecisionReason[]): Decision => ({
      ...base,
      ...asked,
      decision: 'deny',
      reasons,
      policies: [],
      obligations: [],
      risk,
    })

    if (!(accessActions as readonly string[]).includes(request.action.name)) {
      return denied([
        {
          code: 'unknown_action',
          message: `expected action.name ${accessActions.join(', ')}, got "${request.action.name}"`,
          path: 'action.name',
        },
      ])
    }

    const subject = await this.#options.subject(request.subject.id)
    if (!subject) {
      return denied([
        {
          code: 'unknown_subject',
          message: `no user named "${request.subject.id}" is known to Palisade`,
          path: 'subject.id',
        },
      ])
    }

    // Containment an operator's playbook put in force applies whatever the policies say.
    const contained = this.#options.contains?.(request) ?? { deny: [], stepUp: [] }
    if (contained.deny.length > 0) return denied(contained.deny)

    const answer = this.#authorize(active.set, request, subject, risk)
    if (answer.type === 'failure') {
      return denied(
        answer.errors.map((e) => ({ code: 'request_refused_by_schema', message: e.message })),
      )
    }
    const { decision: cedarDecision, diagnostics } = answer.response
    const policies = diagnostics.reason
    if (diagnostics.errors.length > 0) {
      // A policy that could not be evaluated might have been a forbid: deny, never guess.
      return {
        ...denied(
          diagnostics.errors.map((e) => ({
            code: 'policy_error',
            message: `policy ${e.policyId} could not be evaluated: ${e.error.message}`,
            policy_id: e.policyId,
          })),
        ),
        policies,
      }
    }

    const info = policies.map((id) => active.set.info.get(id))
    const obligations = info.flatMap((p) => (p?.obligation ? [p.obligation] : []))
    const riskReasons = risk.alerts.map((a) => ({
      code: 'risk_alert',
      message:
        `${a.entity.kind} ${a.entity.value} has risk ${Math.round(a.current)} from the alert ` +
        `"${a.rule_title}" (${a.alert_id})`,
      alert_id: a.alert_id,
    }))

    // A required step-up is met by a factor as fresh as the built-in step-up policy asks.
    const freshFactor = (request.context.mfa?.age_seconds ?? Infinity) <= 300
    if (cedarDecision === 'allow' && contained.stepUp.length > 0 && !freshFactor) {
      return {
        ...base,
        ...asked,
        decision: 'step_up',
        reasons: [...contained.stepUp, ...riskReasons],
        policies,
        obligations: ['verify a second factor within 5 minutes'],
        risk,
      }
    }

    if (cedarDecision === 'allow') {
      return {
        ...base,
        ...asked,
        decision: 'allow',
        reasons: policies.map((id) => ({
          code: 'permitted',
          message: `permitted by policy ${id}`,
          policy_id: id,
        })),
        policies,
        obligations,
        risk,
      }
    }

    if (policies.length === 0) {
      return denied([
        { code: 'not_permitted', message: 'no policy permits this request (default deny)' },
        ...riskReasons,
      ])
    }
    const stepUp = info.every((p) => p?.stepUp === true)
    return {
      ...base,
      ...asked,
      decision: stepUp ? 'step_up' : 'deny',
      reasons: [
        ...policies.map((id) => {
          const asksStepUp = active.set.info.get(id)?.stepUp === true
          const verdict = asksStepUp ? 'a fresh second factor is required by' : 'forbidden by'
          return {
            code: asksStepUp ? 'step_up_required' : 'forbidden',
            message: `${verdict} policy ${id}`,
            policy_id: id,
          }
        }),
        ...contained.stepUp,
        ...riskReasons,
      ],
      policies,
      obligations: stepUp ? obligations : [],
      risk,
    }
  }

  /** Cedar's own answer for one valid request, with nothing around it (the bench's baseline). */
  authorize(
    set: PolicySet,
    request: DecisionRequest,
    subject: SubjectAttributes,
    risk: DecisionRisk,
  ): ReturnType<typeof cedar.statefulIsAuthorized> {
    return this.#authorize(set, request, subject, risk)
  }

  #authorize(
    set: PolicySet,
    request: DecisionRequest,
    subject: SubjectAttributes,
    risk: DecisionRisk,
  ) {
    if (!this.#preparsed.has(set.digest)) {
      const parsed = cedar.preparsePolicySet(set.digest, { staticPolicies: set.policies })
      if (parsed.type === 'failure') {
        return { type: 'failure' as const, errors: parsed.errors, warnings: [] }
      }
      this.#preparsed.add(set.digest)
    }
    return cedar.statefulIsAuthorized(cedarCall(set.digest, request, subject, risk))
  }

  #risk(request: DecisionRequest, now: Date): DecisionRisk {
    const named: [RiskEntityKind, string | undefined][] = [
      ['user', request.subject.id],
      ['address', request.context.network.address],
      ['device', request.context.device?.id],
      ['host', request.context.device?.host],
    ]
    const out: DecisionRisk = { ...NO_RISK, alerts: [] }
    for (const [kind, value] of named) {
      if (value === undefined) continue
      const entity = this.#options.risk.risk(kind, value, now)
      out[kind] = entity.score
      out.score = Math.max(out.score, entity.score)
      for (const c of entity.contributions) {
        out.alerts.push({
          alert_id: c.alert_id,
          rule_id: c.rule_id,
          rule_title: c.rule_title,
          entity: { kind, value },
          current: c.current,
        })
      }
    }
    return out
  }
}

/** The Cedar request for a valid decision request; exported for `policy test` and the bench. */
export function cedarCall(
  policySetId: string,
  request: DecisionRequest,
  subject: SubjectAttributes,
  risk: DecisionRisk,
): StatefulAuthorizationCall {
  const { context } = request
  const user = { type: 'Palisade::User', id: request.subject.id }
  const resource = {
    type: 'Palisade::Resource',
    id: `${request.resource.type}:${request.resource.id}`,
  }
  return {
    principal: user,
    action: { type: 'Palisade::Action', id: request.action.name },
    resource,
    context: {
      risk: {
        score: risk.score,
        user: risk.user,
        address: risk.address,
        device: risk.device,
        host: risk.host,
        alerts: risk.alerts.map((a) => a.alert_id),
      },
      device: { ...context.device },
      network: { address: { __extn: { fn: 'ip', arg: context.network.address } } },
      location: { ...context.location },
      // What was not shown was not verified: no factor, verified infinitely long ago.
      mfa: context.mfa ?? { method: 'none', age_seconds: Number.MAX_SAFE_INTEGER },
      session: { ...context.session },
    },
    preparsedSchemaName: 'palisade',
    validateRequest: true,
    preparsedPolicySetId: policySetId,
    entities: [
      { uid: user, attrs: { role: subject.role, disabled: subject.disabled }, parents: [] },
      {
        uid: resource,
        attrs: { kind: request.resource.type, sensitivity: request.resource.sensitivity ?? 'high' },
        parents: [],
      },
    ],
  }
}
