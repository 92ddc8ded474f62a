import { mkdirSync } from 'node:fs'
import { join } from 'node:path'

import { createClient } from '@clickhouse/client'
import type { ClickHouseClient } from '@clickhouse/client'

import { PalisadeError, StoreError } from '../errors.ts'
import { migrations } from './migrations.ts'

export interface AnalyticsStoreOptions {
  /** A ClickHouse server; when absent, ClickHouse runs embedded under `dataDir`. */
  url?: string
  username?: string
  password?: string
  database: string
  dataDir: string
  eventDays: number
}

/**
 * The analytics store: `@clickhouse/client` on a ClickHouse server or, embedded, on chDB's
 * connection. Everything above this file is written once against the client. Table names are
 * always qualified with the database, because the embedded connection ignores the client's
 * `database` setting.
 */
export interface AnalyticsStore {
  client: ClickHouseClient
  database: string
  embedded: boolean
  close(): Promise<void>
}

/** Settings every query and insert shares: ISO-8601 timestamps in, plain numbers out. */
export const clickhouseSettings = {
  date_time_input_format: 'best_effort',
  output_format_json_quote_64bit_integers: 0,
  // A replayed log may span many days, so one batch may touch many daily partitions; the
  // default limit (100) would refuse such a batch outright and every retry of it.
  throw_on_max_partitions_per_insert_block: 0,
} as const

export async function openAnalyticsStore(options: AnalyticsStoreOptions): Promise<AnalyticsStore> {
  const embedded = !options.url
  let client: ClickHouseClient
  if (embedded) {
    const path = join(options.dataDir, 'clickhouse')
    mkdirSync(path, { recursive: true })
    // chDB is one engine per process and per path; importing it lazily keeps the 500 MB
    // library out of processes that talk to a server.
    const { createChdbConnection } = await import('chdb/connection')
    // chDB builds against @clickhouse/client-common while the client bundles its own copy of
    // the same types; they are one interface at run time, so the cast only bridges the copies.
    let connection: NonNullable<Parameters<typeof createClient>[0]>['connection']
    try {
      connection = createChdbConnection({ path }) as unknown as typeof connection
    } catch (error) {
      // ClickHouse locks its data path; a second process on it fails here.
      throw new PalisadeError(
        'PAL_DATA_DIR_IN_USE',
        `cannot open embedded ClickHouse in ${path}: another Palisade is probably running on ` +
          'this data dir; stop it, or pass another --data-dir',
        { cause: error },
      )
    }
    client = createClient({
      connection,
      clickhouse_settings: clickhouseSettings,
    })
  } else {
    client = createClient({
      url: options.url,
      username: options.username,
      password: options.password,
      clickhouse_settings: clickhouseSettings,
    })
  }

  const store: AnalyticsStore = {
    client,
    database: options.database,
    embedded,
    close: () => client.close(),
  }
  try {
    await migrate(store, options.eventDays)
  } catch (error) {
    await client.close().catch(() => undefined)
    throw new StoreError(`ClickHouse migration failed: ${(error as Error).message}`, {
      cause: error,
    })
  }
  return store
}

/** Applies the migrations not yet recorded, in order. */
export async function migrate(store: AnalyticsStore, eventDays: number): Promise<number[]> {
  const db = store.database
  await store.client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` })
  await store.client.command({
    query: `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations (
      version UInt32, name String, applied DateTime64(3, 'UTC')
    ) ENGINE = ReplacingMergeTree ORDER BY version`,
  })
  const result = await store.client.query({
    query: `SELECT version FROM ${db}.schema_migrations FINAL`,
    format: 'JSONEachRow',
  })
  const applied = new Set((await result.json<{ version: number }>()).map((r) => r.version))

  const done: number[] = []
  for (const migration of migrations) {
    if (applied.has(migration.version)) continue
    for (const statement of migration.statements) {
      const query = statement.replaceAll('{db}', db).replaceAll('{ttl_days}', String(eventDays))
      await store.client.command({ query })
    }
    await store.client.insert({
      table: `${db}.schema_migrations`,
      values: [
        { version: migration.version, name: migration.name, applied: new Date().toISOString() },
      ],
      format: 'JSONEachRow',
    })
    done.push(migration.version)
  }
  return done
}
