import type { FastifyBaseLogger } from 'fastify'

import type { AuditDetailValue, AuditLog } from '../audit/audit-log.ts'
import type { Pipeline } from '../ingest/pipeline.ts'
import { newId } from '../platform/event-id.ts'

/** What happened to whom, in the words the built-in rules match (`event.action`). */
export type AuthAction =
  | 'sign_in'
  | 'sign_out'
  | 'mfa_prompt'
  | 'mfa_verify'
  | 'lockout'
  | 'enrol'
  | 'factor_add'
  | 'factor_remove'
  | 'factor_reset'
  | 'user_change'
  | 'cloned_authenticator'

export interface AuthEvent {
  action: AuthAction
  outcome: 'success' | 'failure'
  /** The person it concerns; by name alone when the name given matched nobody. */
  user: { id?: string; name: string }
  /** Who did it, when not the person themself (an admin resetting factors). */
  actor?: { kind: 'user' | 'token'; id: string; name?: string }
  ip?: string
  /** `password`, `totp`, `webauthn`, `recovery_code`. */
  factor?: string
  /** Why it failed, as a stable word: `wrong_password`, `replayed`, `locked`... */
  reason?: string
  details?: Record<string, AuditDetailValue>
  time: Date
}

/** ECS `event.type` for each action (ECS categorisation fields, "authentication"). */
const eventType: Record<AuthAction, string> = {
  sign_in: 'start',
  sign_out: 'end',
  mfa_prompt: 'info',
  mfa_verify: 'info',
  lockout: 'info',
  enrol: 'creation',
  factor_add: 'creation',
  factor_remove: 'deletion',
  factor_reset: 'change',
  user_change: 'change',
  cloned_authenticator: 'indicator',
}

/**
 * Records an authentication event twice: as an audit entry (`auth.<action>`), awaited, since
 * an action is not done before it is audited; and as an ECS event in Palisade's own pipeline
 * (`event.dataset: palisade.auth`), so the built-in rules detect brute force and MFA fatigue
 * against Palisade itself. A pipeline that fails is logged and does not fail the sign-in: the
 * audit entry already holds the fact.
 */
export class AuthEvents {
  readonly #audit: AuditLog
  readonly #pipeline: Pipeline | undefined
  readonly #logger: FastifyBaseLogger | undefined

  constructor(audit: AuditLog, pipeline?: Pipeline, logger?: FastifyBaseLogger) {
    this.#audit = audit
    this.#pipeline = pipeline
    this.#logger = logger
  }

  async record(e: AuthEvent): Promise<void> {
    const details: Record<string, AuditDetailValue> = { ...e.details }
    if (e.factor) details.factor = e.factor
    if (e.reason) details.reason = e.reason
    await this.#audit.record({
      actor: e.actor ?? {
        kind: e.user.id ? 'user' : 'system',
        id: e.user.id ?? 'unauthenticated',
        name: e.user.name.slice(0, 256),
      },
      action: `auth.${e.action}`,
      ...(e.user.id ? { target: { kind: 'user', id: e.user.id } } : {}),
      outcome: e.outcome,
      ...(e.ip ? { source: { ip: e.ip } } : {}),
      details,
    })

    if (!this.#pipeline) return
    const event = authEcsEvent(e)
    try {
      await this.#pipeline.process({
        records: [{ index: 0, raw: JSON.stringify(event), event }],
        source: 'palisade-auth',
        format: 'json',
        stream: 'palisade-auth',
        receivedAt: e.time,
        internal: true,
      })
    } catch (error) {
      this.#logger?.error({ err: error, action: e.action }, 'auth event not ingested')
    }
  }
}

/** The ECS event for `e`: what the built-in `product: palisade, service: auth` rules read. */
export function authEcsEvent(e: AuthEvent): Record<string, unknown> {
  const labels: Record<string, string> = {}
  if (e.factor) labels.factor = e.factor
  if (e.reason) labels.reason = e.reason
  return {
    id: newId(),
    '@timestamp': e.time.toISOString(),
    event: {
      kind: e.action === 'cloned_authenticator' ? 'alert' : 'event',
      category: ['authentication'],
      type: [eventType[e.action]],
      action: e.action,
      outcome: e.outcome,
      dataset: 'palisade.auth',
      provider: 'palisade',
    },
    user: { name: e.user.name, ...(e.user.id ? { id: e.user.id } : {}) },
    ...(e.ip ? { source: { ip: e.ip } } : {}),
    labels,
  }
}
