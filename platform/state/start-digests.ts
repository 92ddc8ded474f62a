import type { StateDb } from './state-store.ts'

const ROW_ID = 'engine'

/**
 * What the engine was started with, as digests: the configuration (without secrets), per path
 * and whole, and the rule set, per rule and whole. Never a configuration value.
 */
export interface StartDigests {
  configDigest: string
  /** Configuration path (`audit.checkpoint.everyEntries`) to the SHA-256 of its value. */
  configPaths: Record<string, string>
  rulesDigest: string
  ruleCount: number
  /** Rule id to its content version. */
  ruleVersions: Record<string, string>
}

/** The digests of the last start, or null before the first. */
export async function readStartDigests(db: StateDb): Promise<StartDigests | null> {
  const row = await db
    .selectFrom('start_digests')
    .selectAll()
    .where('id', '=', ROW_ID)
    .executeTakeFirst()
  if (!row) return null
  return {
    configDigest: row.config_digest,
    configPaths: JSON.parse(row.config_paths) as Record<string, string>,
    rulesDigest: row.rules_digest,
    ruleCount: Number(row.rule_count),
    ruleVersions: JSON.parse(row.rule_versions) as Record<string, string>,
  }
}

/** Replaces the digests of the last start with these. */
export async function writeStartDigests(db: StateDb, digests: StartDigests): Promise<void> {
  const values = {
    config_digest: digests.configDigest,
    config_paths: JSON.stringify(digests.configPaths),
    rules_digest: digests.rulesDigest,
    rule_count: digests.ruleCount,
    rule_versions: JSON.stringify(digests.ruleVersions),
    started_at: new Date().toISOString(),
  }
  await db
    .insertInto('start_digests')
    .values({ id: ROW_ID, ...values })
    .onConflict((oc) => oc.column('id').doUpdateSet(values))
    .execute()
}
