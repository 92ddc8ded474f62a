import type { LiveRules } from './rule-control.ts'
import type { CompiledCorrelation, CompiledRule } from './sigma/rule-set.ts'
import type { Logsource, SigmaDocument } from './sigma/sigma-rule.ts'

export const ruleKinds = ['detection', 'correlation', 'filter'] as const
export type RuleKind = (typeof ruleKinds)[number]

/** A loaded rule, correlation or filter as the people who manage rules see it. */
export interface RuleInfo {
  id: string
  /** The `name` other rules reference it by, or null. */
  name: string | null
  title: string
  kind: RuleKind
  enabled: boolean
  status: 'enabled' | 'disabled'
  /** Detection rules: whether a logsource route covers it (unrouted ones never fire). */
  routed: boolean | null
  /** Why it cannot lead to any alert although it is on, or null when it can. */
  inert: string | null
  level: string | null
  logsource: Logsource | null
  /** Its `attack.*` tags without the prefix: tactics and techniques (`t1110.001`). */
  attack: string[]
  /** Every tag as written, `attack.*` ones included. */
  tags: string[]
  /** The Sigma `status` the rule declares (`stable`, `test`, `experimental`...), or null. */
  sigma_status: string | null
  file: string
  line: number
  /** Hash of its content (for a detection rule, with every filter applied to it). */
  version: string
  /** Correlations: the correlation type, else null. */
  correlation_type: string | null
  /** Correlations: the ids they count; filters: the rules they name, as written. */
  references: string[]
  /** Detection rules and correlations: the correlations that count them. */
  used_by: string[]
  /**
   * Correlations: events too late to count in it since the engine started (older than their
   * group's time less the allowed lateness, or after their window closed); else null.
   */
  late_events: number | null
}

/**
 * Describes everything a live rule set holds, in file order: each detection rule and
 * correlation that compiled, and each filter (one turned off included). Documents that were
 * rejected are not loaded, so they are not here; the load or reload that rejected them says
 * why.
 */
export function describeRules(live: LiveRules, isEnabled: (id: string) => boolean): RuleInfo[] {
  const { ruleSet } = live
  const compiledRules = new Map<string, CompiledRule>()
  for (const r of ruleSet.rules) compiledRules.set(key(r.id, r.file), r)
  const compiledCorrelations = new Map<string, CompiledCorrelation>()
  for (const c of ruleSet.correlations) compiledCorrelations.set(key(c.id, c.file), c)
  const usedBy = new Map<string, string[]>()
  for (const c of ruleSet.correlations) {
    for (const id of new Set(c.ruleIds)) usedBy.set(id, [...(usedBy.get(id) ?? []), c.id])
  }
  const loadedIds = new Set([...ruleSet.rules, ...ruleSet.correlations].map((r) => r.id))
  const lateBy = live.correlator.state().lateBy

  /** Whether a rule or correlation can produce a match at all: loaded, on and routed. */
  const canMatch = (id: string): boolean => {
    if (!isEnabled(id)) return false
    const r = ruleSet.ruleById(id)
    return r !== undefined && (r.kind !== 'detection' || r.routed)
  }

  const out: RuleInfo[] = []
  for (const doc of live.documents) {
    const base = baseInfo(doc, isEnabled(doc.id))
    if (doc.kind === 'detection') {
      const rule = compiledRules.get(key(doc.id, doc.file))
      if (!rule) continue
      const users = usedBy.get(doc.id) ?? []
      let inert: string | null = null
      if (!rule.routed) inert = 'no logsource route covers it: no parser produces its events'
      else if (rule.missingPlaceholders) {
        const names = rule.missingPlaceholders.map((n) => `%${n}%`).join(', ')
        inert = `placeholders without a value (${names}): give them in a mapping file`
      } else if (!rule.standalone && !users.some(isEnabled)) {
        inert = 'it alerts only through correlations, and every one counting it is off'
      }
      out.push({
        ...base,
        routed: rule.routed,
        inert: base.enabled ? inert : null,
        version: rule.version,
        used_by: users,
      })
    } else if (doc.kind === 'correlation') {
      const c = compiledCorrelations.get(key(doc.id, doc.file))
      if (!c) continue
      const needsAll = c.type === 'temporal' || c.type === 'temporal_ordered'
      const feeding = c.ruleIds.filter(canMatch)
      const starved = needsAll ? feeding.length < new Set(c.ruleIds).size : feeding.length === 0
      out.push({
        ...base,
        inert:
          base.enabled && starved
            ? `${needsAll ? 'a rule it needs' : 'every rule it counts'} is off or unrouted`
            : null,
        correlation_type: c.type,
        late_events: lateBy[doc.id] ?? 0,
        references: c.ruleIds,
        used_by: usedBy.get(doc.id) ?? [],
      })
    } else {
      const named = doc.rules.filter((r) => loadedIds.has(r) || nameIsLoaded(live, r))
      out.push({
        ...base,
        logsource: doc.logsource,
        inert: base.enabled && named.length === 0 ? 'it names no loaded rule' : null,
        references: doc.rules,
      })
    }
  }
  return out
}

function baseInfo(doc: SigmaDocument, enabled: boolean): RuleInfo {
  return {
    id: doc.id,
    name: doc.name ?? null,
    title: doc.title,
    kind: doc.kind,
    enabled,
    status: enabled ? 'enabled' : 'disabled',
    routed: null,
    inert: null,
    level: doc.level ?? null,
    logsource: doc.kind === 'correlation' ? null : doc.logsource,
    attack: doc.tags.filter((t) => /^attack\./i.test(t)).map((t) => t.slice('attack.'.length)),
    tags: doc.tags,
    sigma_status: typeof doc.raw['status'] === 'string' ? doc.raw['status'] : null,
    file: doc.file,
    line: doc.line,
    version: doc.version,
    correlation_type: null,
    references: [],
    used_by: [],
    late_events: null,
  }
}

function nameIsLoaded(live: LiveRules, name: string): boolean {
  return live.ruleSet.rules.some((r) => r.name === name)
}

function key(id: string, file: string): string {
  return `${file}\u0000${id}`
}
