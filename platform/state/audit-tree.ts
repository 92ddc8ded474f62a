import type { StateDb } from './state-store.ts'

const ROW_ID = 'audit'

/** The audit tree's stored frontier (JSON text, unparsed), or null before the first entry. */
export async function readAuditTree(db: StateDb): Promise<string | null> {
  const row = await db
    .selectFrom('audit_tree')
    .select('frontier')
    .where('id', '=', ROW_ID)
    .executeTakeFirst()
  return row?.frontier ?? null
}

/** Replaces the stored frontier; SQLite and PostgreSQL both know ON CONFLICT … DO UPDATE. */
export async function writeAuditTree(db: StateDb, size: number, frontier: string): Promise<void> {
  const updated_at = new Date().toISOString()
  await db
    .insertInto('audit_tree')
    .values({ id: ROW_ID, size, frontier, updated_at })
    .onConflict((oc) => oc.column('id').doUpdateSet({ size, frontier, updated_at }))
    .execute()
}
