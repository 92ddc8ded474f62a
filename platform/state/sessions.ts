import { createHash, randomBytes } from 'node:crypto'

import type { StateDb, StateTables } from './state-store.ts'

export type SessionRow = StateTables['sessions']

/** SHA-256 of a session cookie's value, hex: the session's id in the store. */
export function hashSessionId(cookie: string): string {
  return createHash('sha256').update(cookie).digest('hex')
}

/**
 * Starts a session for `userId` and returns the cookie value (256 random bits, OWASP
 * Session Management: at least 64). `from` carries a second factor already verified over
 * when a session is replaced by a new id at a privilege change.
 */
export async function createSession(
  db: StateDb,
  userId: string,
  now: Date,
  from?: Pick<SessionRow, 'created_at' | 'mfa_at' | 'mfa_method'>,
): Promise<{ cookie: string; row: SessionRow }> {
  const cookie = randomBytes(32).toString('base64url')
  const row: SessionRow = {
    id: hashSessionId(cookie),
    user_id: userId,
    // The absolute timeout runs from sign-in, so a new id does not extend it.
    created_at: from?.created_at ?? now.toISOString(),
    last_seen_at: now.toISOString(),
    mfa_at: from?.mfa_at ?? null,
    mfa_method: from?.mfa_method ?? null,
  }
  await db.insertInto('sessions').values(row).execute()
  return { cookie, row }
}

export async function findSession(db: StateDb, cookie: string): Promise<SessionRow | undefined> {
  return db
    .selectFrom('sessions')
    .selectAll()
    .where('id', '=', hashSessionId(cookie))
    .executeTakeFirst()
}

export async function touchSession(db: StateDb, id: string, now: Date): Promise<void> {
  await db
    .updateTable('sessions')
    .set({ last_seen_at: now.toISOString() })
    .where('id', '=', id)
    .execute()
}

export async function deleteSession(db: StateDb, id: string): Promise<void> {
  await db.deleteFrom('webauthn_challenges').where('session_id', '=', id).execute()
  await db.deleteFrom('sessions').where('id', '=', id).execute()
}

/** Ends every session of a user (sign-out everywhere, a role change, a disabled user). */
export async function deleteUserSessions(db: StateDb, userId: string): Promise<number> {
  const ids = await db.selectFrom('sessions').select('id').where('user_id', '=', userId).execute()
  for (const { id } of ids) await deleteSession(db, id)
  return ids.length
}
