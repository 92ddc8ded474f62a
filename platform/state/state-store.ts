import { mkdirSync } from 'node:fs'
import { join } from 'node:path'

import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely'
import type { Migration, MigrationProvider } from 'kysely'

import { StoreError } from '../errors.ts'
import { stateMigrations } from './state-migrations.ts'

/** The state tables, as Kysely sees them. Written once for SQLite and PostgreSQL. */
export interface StateTables {
  api_tokens: {
    id: string
    name: string
    token_hash: string
    scopes: string
    created_at: string
    revoked_at: string | null
    /** Absent for tokens that never expire (the first start's admin token). */
    expires_at: string | null
  }
  /** The audit log's Merkle tree state: one row, `id` = 'audit'. */
  audit_tree: {
    id: string
    size: number
    /** `FrontierState` as JSON. */
    frontier: string
    updated_at: string
  }
  /** What the engine started with last time: one row, `id` = 'engine'. */
  start_digests: {
    id: string
    config_digest: string
    /** JSON object: configuration path to the SHA-256 of its value. */
    config_paths: string
    rules_digest: string
    rule_count: number
    /** JSON object: rule id to its content version. */
    rule_versions: string
    started_at: string
  }
  /** Rules turned off through the API, by id: absent means enabled. */
  disabled_rules: {
    rule_id: string
    disabled_at: string
    /** Who turned it off, as the audit log names them (`token:<id>`). */
    disabled_by: string
  }
  /** Detection state checkpointed with the input position it reflects, one row per stream. */
  stream_checkpoints: {
    stream: string
    position: string
    /** JSON, in the shape its writer defines (see `StreamCheckpoint`). */
    state: string
    written_at: string
  }
  /** Anomaly models, one row per feature set and version (see anomaly-models.ts). */
  anomaly_models: {
    feature_set: string
    version: number
    feature_set_version: string
    /** The end of the latest window trained on, RFC 3339. */
    trained_through: string
    /** `StoredModel` as JSON. */
    model: string
    created_at: string
  }
  /** People who sign in (see `platform/state/users.ts`). */
  users: {
    id: string
    name: string
    role: string
    password_hash: string | null
    enrolment_hash: string | null
    enrolment_expires_at: string | null
    totp_secret: string | null
    /** A secret enrolled but not yet confirmed; sign-in never verifies against it. */
    totp_pending_secret: string | null
    totp_confirmed: number
    totp_last_step: number | null
    factor_reset_at: string | null
    created_at: string
    disabled_at: string | null
  }
  sessions: {
    /** SHA-256 of the cookie value, hex. */
    id: string
    user_id: string
    created_at: string
    last_seen_at: string
    /** When a second factor was last verified in this session: none until then. */
    mfa_at: string | null
    mfa_method: string | null
  }
  recovery_codes: {
    code_hash: string
    user_id: string
    created_at: string
    used_at: string | null
  }
  webauthn_credentials: {
    /** The credential id, base64url. */
    id: string
    user_id: string
    name: string
    /** COSE public key, base64url. */
    public_key: string
    counter: number
    /** Comma-separated transports. */
    transports: string
    aaguid: string
    created_at: string
    last_used_at: string | null
  }
  webauthn_challenges: {
    session_id: string
    purpose: string
    challenge: string
    expires_at: string
  }
  auth_attempts: {
    key: string
    failures: number
    window_start: string
    locked_until: string | null
  }
  /** Hunts over stored events (`detectors/hunts/`), one row each. */
  hunts: {
    id: string
    /** running, done, cancelled or failed. */
    state: string
    created_at: string
    finished_at: string | null
    /** Who started it, as the audit log names them (`token:<id>`). */
    created_by: string
    range_from: string
    range_to: string
    /** JSON array of the rules it runs (`HuntRule`). */
    rules: string
    /** JSON array of the rules it refused, with the reasons (`RefusedRule`). */
    refused: string
    slices_done: number
    slices_total: number
    events_done: number
    events_total: number
    queries_done: number
    queries_total: number
    matches: number
    /** JSON `{ code, message }` when it failed. */
    error: string | null
  }
  /** Data owners of sealed fields, pinned to their signing key (see `sealing-keys.ts`). */
  sealing_owners: {
    owner: string
    /** Ed25519 public key, raw, base64url. */
    signing_public_key: string
    created_at: string
  }
  /** Sealing public keys (HPKE, RFC 9180); never a private key. */
  sealing_keys: {
    kid: string
    owner: string
    kem: number
    kdf: number
    aead: number
    /** The serialised public key, base64url. */
    public_key: string
    created_at: string
    /** Who registered it, as the audit log names them (`token:<id>`, `user:<id>`). */
    created_by: string
    replaces: string | null
    retired_at: string | null
    replaced_by: string | null
  }
  sealing_key_challenges: {
    id: string
    owner: string
    /** 32 random bytes, base64url: public, and worthless once used or expired. */
    challenge: string
    requested_by: string
    expires_at: string
  }
  /** Zero-trust policy sets by version (see `platform/state/access-policies.ts`). */
  access_policies: {
    version: number
    policies: string
    digest: string
    created_at: string
    /** Who set it, as the audit log names them (`token:<id>`, `system:palisade`). */
    created_by: string
  }
  /** An analyst's last clearance of an entity's risk. */
  risk_clearances: {
    entity_kind: string
    entity_value: string
    cleared_at: string
    cleared_by: string
    reason: string
  }
  /** Response actions playbooks took for alerts (see `auth/zero-trust/responder.ts`). */
  response_actions: {
    id: string
    playbook_id: string
    action_index: number
    type: string
    alert_id: string
    rule_id: string
    entity_kind: string
    entity_value: string
    /** What it acts on: a user name, an address or range, a device, a URL. */
    target: string
    /** pending_approval, done, dry_run, skipped, failed or undone. */
    state: string
    /** JSON: what undo restores (a user's disabled_at before a lock). */
    prior: string | null
    /** What it did or would do, or why it failed, in words. */
    detail: string
    created_at: string
    updated_at: string
    updated_by: string
  }
}

export type StateDb = Kysely<StateTables>

export interface StateStoreOptions {
  /** A PostgreSQL URL; when absent, SQLite under `dataDir`. */
  url?: string
  dataDir: string
}

export interface StateStore {
  db: StateDb
  kind: 'sqlite' | 'postgres'
  close(): Promise<void>
}

/** Opens the state store and brings its schema up to date. */
export async function openStateStore(options: StateStoreOptions): Promise<StateStore> {
  const kind = options.url ? 'postgres' : 'sqlite'
  const db = new Kysely<StateTables>({ dialect: await makeDialect(options) })
  const migrator = new Migrator({ db, provider: staticProvider(stateMigrations) })
  const { error, results } = await migrator.migrateToLatest()
  if (error) {
    await db.destroy()
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown'
    throw new StoreError(`state migration ${failed} failed: ${(error as Error).message}`, {
      cause: error,
    })
  }
  return { db, kind, close: () => db.destroy() }
}

async function makeDialect(options: StateStoreOptions) {
  if (options.url) {
    const { default: pg } = await import('pg')
    return new PostgresDialect({ pool: new pg.Pool({ connectionString: options.url, max: 10 }) })
  }
  mkdirSync(options.dataDir, { recursive: true })
  const { default: Database } = await import('better-sqlite3')
  const database = new Database(join(options.dataDir, 'state.db'))
  // WAL lets readers go on while a write commits; the state is small and written rarely.
  database.pragma('journal_mode = WAL')
  return new SqliteDialect({ database })
}

function staticProvider(list: Record<string, Migration>): MigrationProvider {
  return { getMigrations: async () => list }
}
