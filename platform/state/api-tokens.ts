import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

import { newId } from '../event-id.ts'
import type { StateDb } from './state-store.ts'

/**
 * API tokens. A token is shown once when it is made; only its SHA-256 is stored, so a leaked
 * state database does not leak working tokens.
 */
export const tokenScopes = ['ingest', 'read', 'decide', 'admin'] as const
export type TokenScope = (typeof tokenScopes)[number]

export interface ApiToken {
  id: string
  name: string
  scopes: TokenScope[]
  created_at: string
  /** After this the token is refused; null for one that never expires. */
  expires_at: string | null
}

/** Prefix that makes a Palisade token recognisable to secret scanners and to people. */
const PREFIX = 'pal_'

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

export async function createToken(
  db: StateDb,
  name: string,
  scopes: TokenScope[],
  options: { expiresAt?: Date } = {},
): Promise<{ token: string; record: ApiToken }> {
  const token = PREFIX + randomBytes(32).toString('base64url')
  const record: ApiToken = {
    id: newId(),
    name,
    scopes,
    created_at: new Date().toISOString(),
    expires_at: options.expiresAt?.toISOString() ?? null,
  }
  await db
    .insertInto('api_tokens')
    .values({
      ...record,
      scopes: scopes.join(','),
      token_hash: hashToken(token),
      revoked_at: null,
    })
    .execute()
  return { token, record }
}

/** The token's record when it exists, is not revoked and has not expired; otherwise null. */
export async function findToken(
  db: StateDb,
  token: string,
  now = new Date(),
): Promise<ApiToken | null> {
  const hash = hashToken(token)
  const row = await db
    .selectFrom('api_tokens')
    .selectAll()
    .where('token_hash', '=', hash)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now.toISOString())]))
    .executeTakeFirst()
  // The lookup is by hash, so timing reveals nothing about the token; the compare below only
  // guards against a store that matched loosely.
  if (!row || !timingSafeEqual(Buffer.from(row.token_hash), Buffer.from(hash))) return null
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes.split(',') as TokenScope[],
    created_at: row.created_at,
    expires_at: row.expires_at,
  }
}

export async function countTokens(db: StateDb): Promise<number> {
  const row = await db
    .selectFrom('api_tokens')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirst()
  return Number(row?.n ?? 0)
}

export async function listTokens(db: StateDb): Promise<ApiToken[]> {
  const rows = await db
    .selectFrom('api_tokens')
    .selectAll()
    .where('revoked_at', 'is', null)
    .orderBy('created_at')
    .execute()
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    scopes: r.scopes.split(',') as TokenScope[],
    created_at: r.created_at,
    expires_at: r.expires_at,
  }))
}

export async function revokeToken(db: StateDb, id: string): Promise<boolean> {
  const result = await db
    .updateTable('api_tokens')
    .set({ revoked_at: new Date().toISOString() })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) > 0
}
