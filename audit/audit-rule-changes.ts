import type { ReloadReport } from '../detectors/rule-control.ts'
import type { RuleSet } from '../detectors/sigma/rule-set.ts'
import { readStartDigests, writeStartDigests } from '../platform/state/start-digests.ts'
import type { StateDb } from '../platform/state/state-store.ts'
import type { AuditEntryInput, AuditLog } from './audit-log.ts'
import { listed } from './startup-audit.ts'
import { ruleSetDigests } from './startup-digests.ts'

type Caller = Pick<AuditEntryInput, 'actor' | 'source'>

/** A detail string holds 1,024 characters; a reason is cut well before, on its first line. */
const MAX_REASON = 500

/**
 * Audits a successful reload as `rules.reload` on the loaded rule set: the digests before and
 * after (as `engine.start` gives them), the ids added, changed and removed (capped like the
 * startup audit's `rules.change`), and how many documents were rejected. The digests are then
 * kept as the last start's, so the next start audits only what changed after this reload.
 */
export async function auditRulesReload(
  audit: AuditLog,
  db: StateDb,
  caller: Caller,
  change: { before: RuleSet; after: RuleSet; report: ReloadReport },
): Promise<void> {
  const { report } = change
  const before = ruleSetDigests(change.before)
  const after = ruleSetDigests(change.after)
  await audit.record({
    ...caller,
    action: 'rules.reload',
    target: { kind: 'rule_set', id: 'loaded' },
    outcome: 'success',
    details: {
      old_digest: before.digest,
      new_digest: after.digest,
      old_count: before.count,
      new_count: after.count,
      ...listed('added', report.added),
      ...listed('changed', report.changed),
      ...listed('removed', report.removed),
      rejected_count: report.rejections.length,
      correlation_state_dropped: report.correlationStateDropped.length,
    },
  })

  const previous = await readStartDigests(db)
  if (previous) {
    await writeStartDigests(db, {
      ...previous,
      rulesDigest: after.digest,
      ruleCount: after.count,
      ruleVersions: after.versions,
    })
  }
}

/** Audits a reload that was refused (the running set was kept) with its code and reason. */
export async function auditRulesReloadRefused(
  audit: AuditLog,
  caller: Caller,
  refusal: { code: string; message: string },
): Promise<void> {
  await audit.record({
    ...caller,
    action: 'rules.reload',
    target: { kind: 'rule_set', id: 'loaded' },
    outcome: 'failure',
    details: { code: refusal.code, reason: firstLine(refusal.message) },
  })
}

/**
 * Audits turning a rule, correlation or filter on (`rule.enable`) or off (`rule.disable`).
 * `rule` is absent when no loaded rule has the id: the request is then audited as a failure.
 */
export async function auditRuleToggle(
  audit: AuditLog,
  caller: Caller,
  change: {
    id: string
    enabled: boolean
    rule?: { kind: string; version: string }
    /** Whether its state changed (false when it already was as asked). */
    changed?: boolean
  },
): Promise<void> {
  const { rule } = change
  await audit.record({
    ...caller,
    action: change.enabled ? 'rule.enable' : 'rule.disable',
    target: { kind: 'rule', id: change.id },
    outcome: rule ? 'success' : 'failure',
    details: rule
      ? { rule_kind: rule.kind, version: rule.version, changed: change.changed ?? true }
      : { code: 'PAL_NOT_FOUND' },
  })
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.slice(0, MAX_REASON)
}
