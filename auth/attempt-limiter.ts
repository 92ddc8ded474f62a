import type { StateDb } from '../platform/state/state-store.ts'

/** How many failures a key may have in a window before it is locked, and for how long. */
export interface AttemptRule {
  /** What the key counts, as `<kind>:` before its value. */
  kind: 'pair' | 'user' | 'address'
  maxFailures: number
  windowMs: number
  lockMs: number
}

/**
 * The limits (NIST SP 800-63B §5.2.2: at most 100 consecutive failures per account; ours are
 * far tighter). A lockout must not be a weapon: a guesser from one address locks only its own
 * pair of (user, address), so the user still signs in from elsewhere. The per-user limit is
 * slower and counts only second-factor failures, which need the password first, so nobody
 * without it can trip it. The per-address limit stops one address spraying many users.
 */
export const ATTEMPT_RULES = {
  pair: { kind: 'pair', maxFailures: 5, windowMs: 15 * 60_000, lockMs: 15 * 60_000 },
  user: { kind: 'user', maxFailures: 20, windowMs: 60 * 60_000, lockMs: 15 * 60_000 },
  address: { kind: 'address', maxFailures: 50, windowMs: 15 * 60_000, lockMs: 15 * 60_000 },
} as const satisfies Record<string, AttemptRule>

export interface AttemptKey {
  rule: AttemptRule
  value: string
}

export function attemptKey(rule: AttemptRule, value: string): AttemptKey {
  return { rule, value }
}

function keyText(key: AttemptKey): string {
  return `${key.rule.kind}:${key.value}`
}

/** The first of `keys` that is locked at `now`, with when it opens again; else undefined. */
export async function lockedKey(
  db: StateDb,
  keys: AttemptKey[],
  now: Date,
): Promise<{ key: AttemptKey; until: Date } | undefined> {
  for (const key of keys) {
    const row = await db
      .selectFrom('auth_attempts')
      .select('locked_until')
      .where('key', '=', keyText(key))
      .executeTakeFirst()
    if (row?.locked_until && new Date(row.locked_until) > now) {
      return { key, until: new Date(row.locked_until) }
    }
  }
  return undefined
}

/**
 * Counts one failure against each key; returns the keys this failure locked (each one only
 * at the failure that crossed its limit).
 */
export async function recordFailure(
  db: StateDb,
  keys: AttemptKey[],
  now: Date,
): Promise<AttemptKey[]> {
  const locked: AttemptKey[] = []
  for (const key of keys) {
    const id = keyText(key)
    const row = await db
      .selectFrom('auth_attempts')
      .selectAll()
      .where('key', '=', id)
      .executeTakeFirst()
    const fresh = !row || now.getTime() - new Date(row.window_start).getTime() > key.rule.windowMs
    const failures = fresh ? 1 : row.failures + 1
    const windowStart = fresh ? now.toISOString() : row.window_start
    const crossed = failures >= key.rule.maxFailures
    const lockedUntil = crossed
      ? new Date(now.getTime() + key.rule.lockMs).toISOString()
      : (row?.locked_until ?? null)
    if (crossed) locked.push(key)
    const values = { failures: crossed ? 0 : failures, window_start: windowStart }
    if (row) {
      await db
        .updateTable('auth_attempts')
        .set({ ...values, locked_until: lockedUntil })
        .where('key', '=', id)
        .execute()
    } else {
      await db
        .insertInto('auth_attempts')
        .values({ key: id, ...values, locked_until: lockedUntil })
        .execute()
    }
  }
  return locked
}

/** A success clears the counts of its pair and user keys (never an address's). */
export async function clearFailures(db: StateDb, keys: AttemptKey[]): Promise<void> {
  const ids = keys.filter((k) => k.rule.kind !== 'address').map(keyText)
  if (ids.length > 0) await db.deleteFrom('auth_attempts').where('key', 'in', ids).execute()
}
