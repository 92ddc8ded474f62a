import { createHash } from 'node:crypto'

import type { Role } from '../../auth/roles.ts'
import { newId } from '../event-id.ts'
import type { StateDb, StateTables } from './state-store.ts'

export type UserRow = StateTables['users']

/** A person as the API shows them: never a hash, a secret or a token. */
export interface User {
  id: string
  name: string
  role: Role
  created_at: string
  enrolled: boolean
  disabled: boolean
}

export function publicUser(row: UserRow): User {
  return {
    id: row.id,
    name: row.name,
    role: row.role as Role,
    created_at: row.created_at,
    enrolled: row.password_hash !== null,
    disabled: row.disabled_at !== null,
  }
}

/** SHA-256 of a one-time enrolment token, hex: the only form the store keeps. */
export function hashEnrolmentToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

export async function insertUser(
  db: StateDb,
  user: { name: string; role: Role; enrolmentHash: string; enrolmentExpiresAt: Date },
): Promise<UserRow> {
  const row: UserRow = {
    id: newId(),
    name: user.name,
    role: user.role,
    password_hash: null,
    enrolment_hash: user.enrolmentHash,
    enrolment_expires_at: user.enrolmentExpiresAt.toISOString(),
    totp_secret: null,
    totp_pending_secret: null,
    totp_confirmed: 0,
    totp_last_step: null,
    factor_reset_at: null,
    created_at: new Date().toISOString(),
    disabled_at: null,
  }
  await db.insertInto('users').values(row).execute()
  return row
}

export async function findUserByName(db: StateDb, name: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst()
}

export async function findUser(db: StateDb, id: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
}

export async function listUsers(db: StateDb): Promise<UserRow[]> {
  return db.selectFrom('users').selectAll().orderBy('created_at').orderBy('id').execute()
}

export async function updateUser(
  db: StateDb,
  id: string,
  change: Partial<Omit<UserRow, 'id' | 'created_at'>>,
): Promise<void> {
  await db.updateTable('users').set(change).where('id', '=', id).execute()
}

/** Whether the user has a second factor: a confirmed TOTP or any WebAuthn credential. */
export async function hasSecondFactor(db: StateDb, user: UserRow): Promise<boolean> {
  if (user.totp_confirmed === 1) return true
  const credential = await db
    .selectFrom('webauthn_credentials')
    .select('id')
    .where('user_id', '=', user.id)
    .executeTakeFirst()
  return credential !== undefined
}
