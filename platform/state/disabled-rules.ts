import type { StateDb } from './state-store.ts'

/** Ids of the rules, correlations and filters turned off, in no particular order. */
export async function listDisabledRules(db: StateDb): Promise<string[]> {
  const rows = await db.selectFrom('disabled_rules').select('rule_id').execute()
  return rows.map((r) => r.rule_id)
}

/**
 * Records a rule as off (a row) or on (no row). Idempotent: turning off a rule that is off
 * keeps who turned it off first.
 *
 * @param by who made the change, as the audit log names them (`token:<id>`)
 */
export async function setRuleDisabled(
  db: StateDb,
  ruleId: string,
  disabled: boolean,
  by: string,
): Promise<void> {
  if (!disabled) {
    await db.deleteFrom('disabled_rules').where('rule_id', '=', ruleId).execute()
    return
  }
  await db
    .insertInto('disabled_rules')
    .values({ rule_id: ruleId, disabled_at: new Date().toISOString(), disabled_by: by })
    .onConflict((oc) => oc.column('rule_id').doNothing())
    .execute()
}
