import type { Alert, AlertLevel } from '../../platform/alert-model.ts'

/** The entities a decision weighs: who, from where, on what. */
export const riskEntityKinds = ['user', 'host', 'address', 'device'] as const
export type RiskEntityKind = (typeof riskEntityKinds)[number]

/** Which alert entity fields feed which kind of risk (ECS names, as detectors group on them). */
const alertEntityKinds: Record<string, RiskEntityKind> = {
  'user.name': 'user',
  'host.name': 'host',
  'source.ip': 'address',
  'client.ip': 'address',
  'device.id': 'device',
  'host.id': 'device',
}

/**
 * What an alert weighs at the moment it is raised, by level, out of 100. A high alert alone
 * (a brute force) reaches 50; a critical one 80. An anomaly alert weighs its level scaled by
 * how far its score passed the model's threshold, at most its level's weight.
 */
export const levelWeights: Record<AlertLevel, number> = {
  informational: 5,
  low: 10,
  medium: 25,
  high: 50,
  critical: 80,
}

/** One alert's share of an entity's risk now. */
export interface RiskContribution {
  alert_id: string
  rule_id: string
  rule_title: string
  level: AlertLevel
  /** The alert's event time, from which its weight decays. */
  at: string
  weight: number
  /** Its weight decayed to now, rounded to a tenth. */
  current: number
}

export interface EntityRisk {
  kind: RiskEntityKind
  value: string
  /** 0 to 100: the contributions summed, rounded, capped at 100. */
  score: number
  contributions: RiskContribution[]
  /** The last time an analyst cleared this entity, if one did. */
  cleared_at?: string
}

interface Held {
  alert: Alert
  weight: number
  atMs: number
  /** When Palisade learnt of it: a clearance covers what was known when it was made. */
  learntMs: number
}

export interface RiskRegisterOptions {
  /** Time for an alert's weight to halve; one hour unless told. */
  halfLifeMs?: number
}

/**
 * Risk per entity from the alerts raised against it, decaying with time. It is read at every
 * decision and never cached: an alert is observed here as soon as it is stored, so the next
 * decision already weighs it (NIST SP 800-207 §3.3.1: the trust algorithm weighs the current
 * threat intelligence; §2.1 tenet 5: "no asset is inherently trusted").
 *
 * Decay is exponential from the alert's event time (capped at now, so a future-dated alert
 * counts from now): a replay of a month-old log carries little risk today. A contribution
 * below 0.5 is forgotten. An analyst's clearance sets aside every alert Palisade had learnt of
 * when it was made; alerts learnt later count again.
 */
export class RiskRegister {
  readonly halfLifeMs: number
  readonly #held = new Map<string, Map<string, Held>>()
  readonly #cleared = new Map<string, number>()

  constructor(options: RiskRegisterOptions = {}) {
    this.halfLifeMs = options.halfLifeMs ?? 3_600_000
  }

  /** Weighs newly stored alerts; an alert seen twice (a redelivery) counts once. */
  observe(alerts: readonly Alert[], learnt: Date): void {
    for (const alert of alerts) {
      const kind = alertEntityKinds[alert.entity.kind]
      if (!kind || alert.entity.value === '') continue
      const key = entityKey(kind, alert.entity.value)
      let held = this.#held.get(key)
      if (!held) this.#held.set(key, (held = new Map()))
      if (held.has(alert.id)) continue
      held.set(alert.id, {
        alert,
        weight: alertWeight(alert),
        atMs: Math.min(Date.parse(alert['@timestamp']), learnt.getTime()),
        learntMs: learnt.getTime(),
      })
    }
  }

  /** Sets aside what is known now about one entity (an analyst cleared it). */
  clear(kind: RiskEntityKind, value: string, at: Date): void {
    this.#cleared.set(entityKey(kind, value), at.getTime())
  }

  /** Restores clearances read from the state store at start. */
  restoreClearance(kind: RiskEntityKind, value: string, at: Date): void {
    const key = entityKey(kind, value)
    this.#cleared.set(key, Math.max(this.#cleared.get(key) ?? 0, at.getTime()))
  }

  /** The entity's risk at `now`, with what makes it up, largest first. */
  risk(kind: RiskEntityKind, value: string, now: Date): EntityRisk {
    const key = entityKey(kind, value)
    const cleared = this.#cleared.get(key)
    const held = this.#held.get(key)
    const contributions: RiskContribution[] = []
    let sum = 0
    if (held) {
      for (const [id, h] of held) {
        const current = h.weight * 0.5 ** (Math.max(0, now.getTime() - h.atMs) / this.halfLifeMs)
        if (current < 0.5) {
          held.delete(id) // decayed away; it can only get smaller
          continue
        }
        if (cleared !== undefined && h.learntMs <= cleared) continue
        sum += current
        contributions.push({
          alert_id: h.alert.id,
          rule_id: h.alert.rule.id,
          rule_title: h.alert.rule.title,
          level: h.alert.level,
          at: new Date(h.atMs).toISOString(),
          weight: h.weight,
          current: Math.round(current * 10) / 10,
        })
      }
      if (held.size === 0) this.#held.delete(key)
    }
    contributions.sort((a, b) => b.current - a.current)
    return {
      kind,
      value,
      score: Math.min(100, Math.round(sum)),
      contributions,
      ...(cleared !== undefined ? { cleared_at: new Date(cleared).toISOString() } : {}),
    }
  }

  /** Entities with any risk at `now`, highest first. */
  list(now: Date): EntityRisk[] {
    const out: EntityRisk[] = []
    for (const key of [...this.#held.keys()]) {
      const [kind, value] = splitKey(key)
      const risk = this.risk(kind, value, now)
      if (risk.score > 0) out.push(risk)
    }
    return out.sort((a, b) => b.score - a.score)
  }
}

function alertWeight(alert: Alert): number {
  const base = levelWeights[alert.level]
  const finding = alert.anomaly
  if (!finding || finding.threshold <= 0) return base
  // Just past the threshold weighs half the level; twice the threshold or more, all of it.
  return base * Math.min(1, Math.max(0.5, finding.score / finding.threshold / 2))
}

function entityKey(kind: RiskEntityKind, value: string): string {
  return `${kind}\u0000${value}`
}

function splitKey(key: string): [RiskEntityKind, string] {
  const at = key.indexOf('\u0000')
  return [key.slice(0, at) as RiskEntityKind, key.slice(at + 1)]
}
