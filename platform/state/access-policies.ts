import type { StateDb, StateTables } from './state-store.ts'

export type AccessPolicyRow = StateTables['access_policies']
export type RiskClearanceRow = StateTables['risk_clearances']

/** The policy set in force: the highest version, or none on a fresh instance. */
export async function latestAccessPolicies(db: StateDb): Promise<AccessPolicyRow | undefined> {
  return db
    .selectFrom('access_policies')
    .selectAll()
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst()
}

/** Every version, newest first, without their text. */
export async function listAccessPolicyVersions(
  db: StateDb,
): Promise<Omit<AccessPolicyRow, 'policies'>[]> {
  return db
    .selectFrom('access_policies')
    .select(['version', 'digest', 'created_at', 'created_by'])
    .orderBy('version', 'desc')
    .execute()
}

export async function findAccessPolicies(
  db: StateDb,
  version: number,
): Promise<AccessPolicyRow | undefined> {
  return db
    .selectFrom('access_policies')
    .selectAll()
    .where('version', '=', version)
    .executeTakeFirst()
}

/** Writes the next version; the primary key refuses a second writer of the same number. */
export async function insertAccessPolicies(
  db: StateDb,
  row: Omit<AccessPolicyRow, 'version'>,
): Promise<AccessPolicyRow> {
  const latest = await latestAccessPolicies(db)
  const full = { ...row, version: (latest?.version ?? 0) + 1 }
  await db.insertInto('access_policies').values(full).execute()
  return full
}

export async function saveRiskClearance(db: StateDb, row: RiskClearanceRow): Promise<void> {
  await db
    .insertInto('risk_clearances')
    .values(row)
    .onConflict((c) =>
      c.columns(['entity_kind', 'entity_value']).doUpdateSet({
        cleared_at: row.cleared_at,
        cleared_by: row.cleared_by,
        reason: row.reason,
      }),
    )
    .execute()
}

export async function listRiskClearances(db: StateDb): Promise<RiskClearanceRow[]> {
  return db.selectFrom('risk_clearances').selectAll().execute()
}
