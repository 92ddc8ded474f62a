import { createHmac } from 'node:crypto'
import { BlockList, isIP } from 'node:net'

import type { AuditLog } from '../../audit/audit-log.ts'
import { levelRank } from '../../platform/alert-model.ts'
import type { Alert } from '../../platform/alert-model.ts'
import { PalisadeError } from '../../platform/errors.ts'
import { derivedId } from '../../platform/event-id.ts'
import type { Logger } from '../../platform/logger.ts'
import { deleteUserSessions } from '../../platform/state/sessions.ts'
import type { StateDb, StateTables } from '../../platform/state/state-store.ts'
import { findUserByName, updateUser } from '../../platform/state/users.ts'
import type { Caller } from './access-control.ts'
import type { DecisionRequest } from './decision-request.ts'
import type { Playbook, PlaybookAction } from './playbook-schema.ts'

export type ResponseActionRow = StateTables['response_actions']

/** What the containment in force says about one request. */
export interface Containment {
  deny: { code: string; message: string; action_id: string }[]
  stepUp: { code: string; message: string; action_id: string }[]
}

/** Which alert entity fields each action can act on. */
const targets: Record<PlaybookAction['type'], readonly string[] | 'any'> = {
  revoke_sessions: ['user.name'],
  lock_account: ['user.name'],
  require_step_up: ['user.name'],
  block_address: ['source.ip', 'client.ip'],
  quarantine_device: ['device.id', 'host.name', 'host.id'],
  notify: 'any',
}

const SYSTEM: Caller = { actor: { kind: 'system', id: 'palisade', name: 'response' } }

export interface ResponderOptions {
  db: StateDb
  audit: AuditLog
  playbooks: readonly Playbook[]
  /** Every playbook only records what it would do. */
  dryRun: boolean
  logger: Logger
  now?: () => Date
  /** How long a webhook may take to answer; 5 s unless told. */
  webhookTimeoutMs?: number
}

/**
 * Automated response (NIST SP 800-207 §3.3: the policy administrator acting on the policy
 * engine's view of risk; NIST SP 800-61r2 §3.3: containment): playbooks map alerts, by rule,
 * level, tags and entity, to actions. Each action for one alert is recorded once (its id
 * derives from the playbook, the action and the alert), so a redelivered alert acts no second
 * time; an action that needs approval waits for a person; a dry run records what it would do.
 * Every action, approval and undo is audited before it takes effect, and undo restores what
 * the action changed.
 *
 * Blocks, quarantines and required step-ups are containment the decision point reads at every
 * decision (`contains`), whatever the policies say: an operator wrote the playbook to contain.
 */
export class Responder {
  readonly #options: ResponderOptions
  readonly #now: () => Date
  #queue: Promise<unknown> = Promise.resolve()
  #blocked = new BlockList()
  #blockedBy = new Map<string, string>()
  #quarantined = new Map<string, string>()
  #stepUp = new Map<string, string>()

  private constructor(options: ResponderOptions) {
    this.#options = options
    this.#now = options.now ?? (() => new Date())
  }

  static async open(options: ResponderOptions): Promise<Responder> {
    const responder = new Responder(options)
    await responder.#reloadContainment()
    return responder
  }

  /** Answers newly stored alerts; runs in order, one alert after another. */
  handle(alerts: readonly Alert[]): Promise<void> {
    const run = this.#queue.then(async () => {
      for (const alert of alerts) {
        for (const playbook of this.#options.playbooks) {
          if (!matches(playbook, alert)) continue
          for (const [index, action] of playbook.actions.entries()) {
            await this.#act(playbook, index, action, alert).catch((error: unknown) =>
              this.#options.logger.error(
                { err: error, playbook: playbook.id, alert_id: alert.id },
                'a response action failed',
              ),
            )
          }
        }
      }
    })
    this.#queue = run.catch(() => undefined)
    return run
  }

  /** Resolves once every alert handed over so far has been answered. */
  async settled(): Promise<void> {
    await this.#queue
  }

  async list(): Promise<ResponseActionRow[]> {
    return this.#options.db
      .selectFrom('response_actions')
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .execute()
  }

  /** Runs an action that waited for approval. */
  async approve(id: string, caller: Caller): Promise<ResponseActionRow> {
    const row = await this.#find(id)
    if (row.state !== 'pending_approval') {
      throw new PalisadeError(
        'PAL_RESPONSE_STATE',
        `expected an action waiting for approval, got one in state ${row.state}`,
        { status: 409, context: { state: row.state } },
      )
    }
    await this.#audit(caller, 'response.approve', row, 'success', {})
    return this.#execute(row, caller)
  }

  /** Restores what an action changed; its row stays, as `undone`. */
  async undo(id: string, caller: Caller): Promise<ResponseActionRow> {
    const row = await this.#find(id)
    if (row.state !== 'done') {
      throw new PalisadeError(
        'PAL_RESPONSE_STATE',
        `expected an action that was done, got one in state ${row.state}`,
        { status: 409, context: { state: row.state } },
      )
    }
    let detail: string
    switch (row.type) {
      case 'lock_account': {
        const prior = JSON.parse(row.prior ?? '{}') as { disabled_at?: string | null }
        const user = await findUserByName(this.#options.db, row.target)
        if (user)
          await updateUser(this.#options.db, user.id, { disabled_at: prior.disabled_at ?? null })
        detail = `account ${row.target} restored to ${prior.disabled_at ? 'disabled' : 'enabled'}`
        break
      }
      case 'revoke_sessions':
        // A session's cookie is known only to its browser: nothing can give it back.
        detail = `sessions of ${row.target} cannot be restored; the user signs in again`
        break
      case 'notify':
        await this.#notify(row, 'undone')
        detail = `a retraction was sent to ${row.target}`
        break
      default:
        detail = `${row.type} of ${row.target} lifted`
    }
    await this.#audit(caller, 'response.undo', row, 'success', { result: detail })
    const undone = await this.#update(row, { state: 'undone', detail }, caller)
    await this.#reloadContainment()
    return undone
  }

  /** What the containment in force says about a request. */
  contains(request: DecisionRequest): Containment {
    const out: Containment = { deny: [], stepUp: [] }
    const address = request.context.network.address
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4'
    if (this.#blocked.check(address, family)) {
      const id = [...this.#blockedBy.entries()].find(([range]) => inRange(address, range))?.[1]
      out.deny.push({
        code: 'address_blocked',
        message: `the address ${address} is blocked by a response action`,
        action_id: id ?? '',
      })
    }
    for (const device of [request.context.device?.id, request.context.device?.host]) {
      const id = device === undefined ? undefined : this.#quarantined.get(device)
      if (id) {
        out.deny.push({
          code: 'device_quarantined',
          message: `the device ${device} is quarantined by a response action`,
          action_id: id,
        })
      }
    }
    const stepUp = this.#stepUp.get(request.subject.id)
    if (stepUp) {
      out.stepUp.push({
        code: 'step_up_required_by_response',
        message: `a response action requires ${request.subject.id} to verify a second factor`,
        action_id: stepUp,
      })
    }
    return out
  }

  async #act(playbook: Playbook, index: number, action: PlaybookAction, alert: Alert) {
    const id = derivedId('response', `${playbook.id}\u0000${index}\u0000${alert.id}`)
    const existing = await this.#options.db
      .selectFrom('response_actions')
      .select('id')
      .where('id', '=', id)
      .executeTakeFirst()
    if (existing) return // delivered before: acted on then

    const fits = targets[action.type]
    const applicable = fits === 'any' || fits.includes(alert.entity.kind)
    const target = !applicable
      ? alert.entity.value
      : action.type === 'notify'
        ? action.url
        : action.type === 'block_address' && action.prefix !== undefined
          ? rangeOf(alert.entity.value, action.prefix)
          : alert.entity.value
    const dryRun = this.#options.dryRun || playbook.dry_run
    const state = !applicable
      ? 'skipped'
      : dryRun
        ? 'dry_run'
        : action.approval
          ? 'pending_approval'
          : 'executing'
    const now = this.#now().toISOString()
    const row: ResponseActionRow = {
      id,
      playbook_id: playbook.id,
      action_index: index,
      type: action.type,
      alert_id: alert.id,
      rule_id: alert.rule.id,
      entity_kind: alert.entity.kind,
      entity_value: alert.entity.value,
      target,
      state,
      prior: null,
      detail: !applicable
        ? `${action.type} acts on ${(fits as readonly string[]).join(' or ')}, ` +
          `not ${alert.entity.kind}`
        : dryRun
          ? `would ${describe(action.type, target)}`
          : action.approval
            ? `waits for approval to ${describe(action.type, target)}`
            : describe(action.type, target),
      created_at: now,
      updated_at: now,
      updated_by: 'system:palisade',
    }
    // Recorded before it acts: a crash between the two leaves it `executing`, not done twice.
    await this.#options.db.insertInto('response_actions').values(row).execute()
    await this.#audit(
      SYSTEM,
      `response.${state === 'executing' ? 'start' : state}`,
      row,
      'success',
      {
        playbook: playbook.id,
        alert_id: alert.id,
      },
    )
    if (state === 'executing') await this.#execute(row, SYSTEM)
  }

  async #execute(row: ResponseActionRow, caller: Caller): Promise<ResponseActionRow> {
    const { db } = this.#options
    let prior: string | null = null
    try {
      switch (row.type) {
        case 'revoke_sessions': {
          const user = await findUserByName(db, row.target)
          if (user) await deleteUserSessions(db, user.id)
          break
        }
        case 'lock_account': {
          const user = await findUserByName(db, row.target)
          if (!user) throw new Error(`no user named ${row.target}`)
          prior = JSON.stringify({ disabled_at: user.disabled_at })
          await updateUser(db, user.id, { disabled_at: this.#now().toISOString() })
          await deleteUserSessions(db, user.id)
          break
        }
        case 'notify':
          await this.#notify(row, 'done')
          break
        default:
          break // containment: in force once the row says done
      }
    } catch (error) {
      const message = (error as Error).message.slice(0, 500)
      await this.#audit(caller, 'response.execute', row, 'failure', { error: message })
      return this.#update(row, { state: 'failed', detail: `failed: ${message}` }, caller)
    }
    await this.#audit(caller, 'response.execute', row, 'success', {})
    const done = await this.#update(
      row,
      { state: 'done', prior, detail: describe(row.type as PlaybookAction['type'], row.target) },
      caller,
    )
    await this.#reloadContainment()
    return done
  }

  /** Posts the action to the playbook's webhook, signed with HMAC-SHA256 over time and body. */
  async #notify(row: ResponseActionRow, state: 'done' | 'undone'): Promise<void> {
    const playbook = this.#options.playbooks.find((p) => p.id === row.playbook_id)
    const action = playbook?.actions[row.action_index]
    if (action?.type !== 'notify') throw new Error(`playbook ${row.playbook_id} has no such notify`)
    const secret = process.env[action.secret_env]
    if (!secret) throw new Error(`the environment variable ${action.secret_env} holds no key`)
    const body = JSON.stringify({
      id: row.id,
      state,
      playbook: row.playbook_id,
      alert: { id: row.alert_id, rule_id: row.rule_id },
      entity: { kind: row.entity_kind, value: row.entity_value },
      time: this.#now().toISOString(),
    })
    const timestamp = String(Math.floor(this.#now().getTime() / 1000))
    // The timestamp is signed with the body, so a receiver can refuse an old message replayed.
    const signature = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')
    const response = await fetch(action.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-palisade-timestamp': timestamp,
        'x-palisade-signature': `v1=${signature}`,
      },
      body,
      signal: AbortSignal.timeout(this.#options.webhookTimeoutMs ?? 5000),
    })
    if (!response.ok) throw new Error(`the webhook answered ${response.status}`)
  }

  async #find(id: string): Promise<ResponseActionRow> {
    const row = await this.#options.db
      .selectFrom('response_actions')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst()
    if (!row) {
      throw new PalisadeError('PAL_NOT_FOUND', `no response action with id ${id}`, { status: 404 })
    }
    return row
  }

  async #update(
    row: ResponseActionRow,
    change: Partial<ResponseActionRow>,
    caller: Caller,
  ): Promise<ResponseActionRow> {
    const next = {
      ...row,
      ...change,
      updated_at: this.#now().toISOString(),
      updated_by: `${caller.actor.kind}:${caller.actor.id}`,
    }
    await this.#options.db
      .updateTable('response_actions')
      .set({
        state: next.state,
        prior: next.prior,
        detail: next.detail,
        updated_at: next.updated_at,
        updated_by: next.updated_by,
      })
      .where('id', '=', row.id)
      .execute()
    return next
  }

  async #audit(
    caller: Caller,
    action: string,
    row: ResponseActionRow,
    outcome: 'success' | 'failure',
    details: Record<string, string>,
  ): Promise<void> {
    await this.#options.audit.record({
      ...caller,
      action,
      target: { kind: 'response_action', id: row.id },
      outcome,
      details: {
        type: row.type,
        target_value: row.target.slice(0, 256),
        playbook: row.playbook_id,
        alert_id: row.alert_id,
        ...details,
      },
    })
  }

  /** Rebuilds the containment in force from the actions done. */
  async #reloadContainment(): Promise<void> {
    const done = await this.#options.db
      .selectFrom('response_actions')
      .select(['id', 'type', 'target'])
      .where('state', '=', 'done')
      .where('type', 'in', ['block_address', 'quarantine_device', 'require_step_up'])
      .execute()
    const blocked = new BlockList()
    const blockedBy = new Map<string, string>()
    const quarantined = new Map<string, string>()
    const stepUp = new Map<string, string>()
    for (const row of done) {
      if (row.type === 'block_address') {
        const [address, prefix] = row.target.split('/')
        const family = isIP(address!) === 6 ? 'ipv6' : 'ipv4'
        if (prefix === undefined) blocked.addAddress(address!, family)
        else blocked.addSubnet(address!, Number(prefix), family)
        blockedBy.set(row.target, row.id)
      } else if (row.type === 'quarantine_device') {
        quarantined.set(row.target, row.id)
      } else {
        stepUp.set(row.target, row.id)
      }
    }
    this.#blocked = blocked
    this.#blockedBy = blockedBy
    this.#quarantined = quarantined
    this.#stepUp = stepUp
  }
}

function matches(playbook: Playbook, alert: Alert): boolean {
  const m = playbook.match
  if (m.rule_ids && !m.rule_ids.includes(alert.rule.id)) return false
  if (m.min_level && levelRank(alert.level) < levelRank(m.min_level)) return false
  if (m.tags && !m.tags.some((t) => alert.tags.includes(t))) return false
  if (m.entity_kinds && !m.entity_kinds.includes(alert.entity.kind)) return false
  return true
}

function describe(type: PlaybookAction['type'], target: string): string {
  switch (type) {
    case 'revoke_sessions':
      return `end every session of ${target}`
    case 'lock_account':
      return `lock the account ${target}`
    case 'block_address':
      return `deny every decision from ${target}`
    case 'quarantine_device':
      return `deny every decision from the device ${target}`
    case 'require_step_up':
      return `require ${target} to verify a second factor at every decision`
    case 'notify':
      return `post a signed notice to ${target}`
  }
}

/** The network of `prefix` bits around an address: `203.0.113.7`, 24 → `203.0.113.0/24`. */
export function rangeOf(address: string, prefix: number): string {
  if (isIP(address) === 4) {
    const bits = Math.min(prefix, 32)
    const n = address.split('.').reduce((a, o) => a * 256 + Number(o), 0)
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
    const net = (n & mask) >>> 0
    return `${[24, 16, 8, 0].map((s) => (net >>> s) & 255).join('.')}/${bits}`
  }
  // BlockList masks an IPv6 subnet itself, so the address can stand for its network.
  return `${address}/${Math.min(prefix, 128)}`
}

function inRange(address: string, range: string): boolean {
  const [net, prefix] = range.split('/')
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4'
  const list = new BlockList()
  if (prefix === undefined) list.addAddress(net!, family)
  else list.addSubnet(net!, Number(prefix), family)
  return list.check(address, family)
}
