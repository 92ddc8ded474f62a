import type { Kysely, Migration } from 'kysely'

/**
 * State migrations, named so they sort in order. Each uses only what SQLite and PostgreSQL
 * both understand; times are RFC 3339 text so both stores hold them alike.
 */
export const stateMigrations: Record<string, Migration> = {
  '0001_api_tokens': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('api_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .execute()
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('api_tokens').execute()
    },
  },
  '0002_audit_tree': {
    async up(db: Kysely<unknown>) {
      // One row: the frontier of the audit log's tree, written after each entry is stored.
      // `size` is bigint because a log outlives 2^31 entries; it repeats the frontier's size
      // so an operator can read it without parsing JSON.
      await db.schema
        .createTable('audit_tree')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('frontier', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute()
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('audit_tree').execute()
    },
  },
  '0003_start_digests': {
    async up(db: Kysely<unknown>) {
      // One row: what the engine ran with at its last start (digests of the configuration and
      // the rule set, and what they were made of), so the next start can audit a change.
      // Only digests and rule ids and versions: never a configuration value.
      await db.schema
        .createTable('start_digests')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('config_digest', 'text', (c) => c.notNull())
        .addColumn('config_paths', 'text', (c) => c.notNull())
        .addColumn('rules_digest', 'text', (c) => c.notNull())
        .addColumn('rule_count', 'integer', (c) => c.notNull())
        .addColumn('rule_versions', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text', (c) => c.notNull())
        .execute()
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('start_digests').execute()
    },
  },
  '0004_disabled_rules': {
    async up(db: Kysely<unknown>) {
      // One row per rule, correlation or filter an operator turned off; enabling deletes the
      // row. Kept by id, not by file or version, so editing or reloading a rule keeps it off.
      await db.schema
        .createTable('disabled_rules')
        .addColumn('rule_id', 'text', (c) => c.primaryKey())
        .addColumn('disabled_at', 'text', (c) => c.notNull())
        .addColumn('disabled_by', 'text', (c) => c.notNull())
        .execute()
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('disabled_rules').execute()
    },
  },
  '0005_hunts': {
    async up(db: Kysely<unknown>) {
      // One row per hunt: what it was asked for, how far it got and how it ended. The rules
      // and refusals are JSON text; counts are bigint, since a hunt may read billions of
      // events. The id is a UUIDv7, so ordering by it is ordering by start.
      await db.schema
        .createTable('hunts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('finished_at', 'text')
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('range_from', 'text', (c) => c.notNull())
        .addColumn('range_to', 'text', (c) => c.notNull())
        .addColumn('rules', 'text', (c) => c.notNull())
        .addColumn('refused', 'text', (c) => c.notNull())
        .addColumn('slices_done', 'bigint', (c) => c.notNull())
        .addColumn('slices_total', 'bigint', (c) => c.notNull())
        .addColumn('events_done', 'bigint', (c) => c.notNull())
        .addColumn('events_total', 'bigint', (c) => c.notNull())
        .addColumn('queries_done', 'bigint', (c) => c.notNull())
        .addColumn('queries_total', 'bigint', (c) => c.notNull())
        .addColumn('matches', 'bigint', (c) => c.notNull())
        .addColumn('error', 'text')
        .execute()
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('hunts').execute()
    },
  },
}
