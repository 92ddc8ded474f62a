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
