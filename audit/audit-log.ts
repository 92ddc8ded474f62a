/**
 * The one way Palisade audits: every part that does something security-relevant (a token made
 * or revoked, a rule or configuration changed, a dead letter replayed, an export, a key
 * operation) calls `AuditLog.record` and waits for it before it reports the action done.
 *
 * An entry says who did what, to what, from where, and how it ended; the log adds when. It
 * NEVER holds a secret: no token, password, PIN, key material or session cookie, neither as a
 * value nor under another name. Name the thing acted on by its id in `target`. `record` refuses
 * detail keys that look like secrets (`token`, `password`, `secret`, `pin`, `key`, in any case or
 * position of a snake, kebab or camel name) and any value that looks like a Palisade API token,
 * but that is a net, not a licence: the caller decides what goes in.
 */
export interface AuditLog {
  /**
   * Appends one entry, durably and in order: when the promise resolves, the entry is stored
   * and the tree includes it.
   *
   * @returns the entry's index in the log (0 for the first) and its RFC 9162 leaf hash in hex.
   * @throws {ValidationError} `PAL_AUDIT_ENTRY_INVALID` when the entry is malformed, or
   *   `PAL_AUDIT_SECRET_REFUSED` when it looks like it holds a secret.
   * @throws {StoreError} when the entry could not be stored; the action should then fail.
   * @example
   * await audit.record({
   *   actor: { kind: 'token', id: request.token.id },
   *   action: 'token.revoke',
   *   target: { kind: 'token', id },
   *   outcome: 'success',
   * })
   */
  record(entry: AuditEntryInput): Promise<AuditReceipt>
}

export type AuditActorKind = 'token' | 'user' | 'system'
export type AuditOutcome = 'success' | 'failure' | 'denied'
export type AuditDetailValue = string | number | boolean

/** What a caller says about an action. */
export interface AuditEntryInput {
  /** Who acted: an API token (by id), a user, or Palisade itself. */
  actor: { kind: AuditActorKind; id: string; name?: string }
  /** What was done, as `noun.verb` in lower case: `token.create`, `dead_letter.replay`. */
  action: string
  /** What it was done to, by id; never the secret itself. */
  target?: { kind: string; id: string }
  outcome: AuditOutcome
  source?: { ip?: string }
  /** Flat facts about the action. Never secrets: keys that look like one are refused. */
  details?: Record<string, AuditDetailValue>
}

/** An entry as the log stores and hashes it: the caller's fields plus its place and time. */
export interface AuditEntry extends AuditEntryInput {
  /** The format of this entry, so a verifier knows how to read it. */
  v: 1
  index: number
  /** When the log appended it, RFC 3339 in UTC with milliseconds. */
  time: string
}

export interface AuditReceipt {
  index: number
  /** The entry's leaf hash (RFC 9162 §2.1.1), 64 lowercase hex digits. */
  leaf_hash: string
}
