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
  '0005_stream_checkpoints': {
    async up(db: Kysely<unknown>) {
      // One row per input stream: the detection state that spans batches (correlation
      // windows) as JSON, and the position in that stream it reflects, in the transport's own
      // terms (the embedded ingest sequence number; Kafka offsets). Replaced at each
      // checkpoint, so a restart resumes from the last one (DESIGN.md, Data flow).
      await db.schema
        .createTable('stream_checkpoints')
        .addColumn('stream', 'text', (c) => c.primaryKey())
        .addColumn('position', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('written_at', 'text', (c) => c.notNull())
        .execute()
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('stream_checkpoints').execute()
    },
  },
  '0006_anomaly_models': {
    async up(db: Kysely<unknown>) {
      // One row per trained model of an anomaly feature set; the highest version is the one
      // scored with after a restart, and a few before it are kept to compare alerts against.
      await db.schema
        .createTable('anomaly_models')
        .addColumn('feature_set', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('feature_set_version', 'text', (c) => c.notNull())
        .addColumn('trained_through', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('anomaly_models_pk', ['feature_set', 'version'])
        .execute()
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('anomaly_models').execute()
    },
  },
  '0007_people': {
    async up(db: Kysely<unknown>) {
      // People who sign in, with their role; a password hash (Argon2id, PHC string) once
      // they used their one-time enrolment link, whose SHA-256 alone is kept until then.
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text')
        .addColumn('enrolment_hash', 'text', (c) => c.unique())
        .addColumn('enrolment_expires_at', 'text')
        // AES-256-GCM under the key-encryption key from configuration, never the key itself.
        .addColumn('totp_secret', 'text')
        // A secret being enrolled, sealed the same way: it replaces `totp_secret` only when a
        // code from it is confirmed, so starting a re-enrolment leaves the working one on.
        .addColumn('totp_pending_secret', 'text')
        .addColumn('totp_confirmed', 'integer', (c) => c.notNull().defaultTo(0))
        // RFC 6238 §5.2: the last time step accepted, so a code is refused when used again.
        .addColumn('totp_last_step', 'bigint')
        .addColumn('factor_reset_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('disabled_at', 'text')
        .execute()
      // A session by the SHA-256 of its cookie, so a leaked state store holds no session.
      await db.schema
        .createTable('sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_seen_at', 'text', (c) => c.notNull())
        .addColumn('mfa_at', 'text')
        .addColumn('mfa_method', 'text')
        .execute()
      await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute()
      await db.schema
        .createTable('recovery_codes')
        .addColumn('code_hash', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('used_at', 'text')
        .execute()
      await db.schema
        .createTable('webauthn_credentials')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('counter', 'bigint', (c) => c.notNull())
        .addColumn('transports', 'text', (c) => c.notNull())
        .addColumn('aaguid', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_used_at', 'text')
        .execute()
      // One pending WebAuthn challenge per session and purpose, deleted when answered.
      await db.schema
        .createTable('webauthn_challenges')
        .addColumn('session_id', 'text', (c) => c.notNull())
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('challenge', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('webauthn_challenges_pk', ['session_id', 'purpose'])
        .execute()
      // Failed attempts by key (`pair:<user>|<address>`, `user:<user>`, `address:<address>`).
      await db.schema
        .createTable('auth_attempts')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('window_start', 'text', (c) => c.notNull())
        .addColumn('locked_until', 'text')
        .execute()
    },
    async down(db: Kysely<unknown>) {
      for (const table of [
        'auth_attempts',
        'webauthn_challenges',
        'webauthn_credentials',
        'recovery_codes',
        'sessions',
        'users',
      ]) {
        await db.schema.dropTable(table).execute()
      }
    },
  },
  '0008_api_token_expiry': {
    async up(db: Kysely<unknown>) {
      // Service tokens expire (issue 7); tokens made before this have none, as they had.
      await db.schema.alterTable('api_tokens').addColumn('expires_at', 'text').execute()
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('api_tokens').dropColumn('expires_at').execute()
    },
  },
  '0009_hunts': {
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
  '0010_sealing_keys': {
    async up(db: Kysely<unknown>) {
      // A data owner, pinned at their first key registration to the Ed25519 public key that
      // signed it: every later registration or rotation for the owner must verify under it.
      await db.schema
        .createTable('sealing_owners')
        .addColumn('owner', 'text', (c) => c.primaryKey())
        .addColumn('signing_public_key', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute()
      // Sealing public keys only: private keys never reach the server (issue 14). A rotated
      // key keeps its row, `retired_at` set, so clients can still tell whose old data it is.
      await db.schema
        .createTable('sealing_keys')
        .addColumn('kid', 'text', (c) => c.primaryKey())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('kem', 'integer', (c) => c.notNull())
        .addColumn('kdf', 'integer', (c) => c.notNull())
        .addColumn('aead', 'integer', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('replaces', 'text')
        .addColumn('retired_at', 'text')
        .addColumn('replaced_by', 'text')
        .execute()
      await db.schema.createIndex('sealing_keys_owner').on('sealing_keys').column('owner').execute()
      // A challenge is used once: taking it deletes it, and it lapses after a few minutes.
      await db.schema
        .createTable('sealing_key_challenges')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('challenge', 'text', (c) => c.notNull())
        .addColumn('requested_by', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute()
    },
    async down(db: Kysely<unknown>) {
      for (const table of ['sealing_key_challenges', 'sealing_keys', 'sealing_owners']) {
        await db.schema.dropTable(table).execute()
      }
    },
  },
  '0011_access_policies': {
    async up(db: Kysely<unknown>) {
      // Zero-trust policy sets (issue 13), one row per version, never updated: the highest
      // version is in force, the others say what was in force before. Only sets that passed
      // validation are written; a refused one is in the audit log, not here.
      await db.schema
        .createTable('access_policies')
        .addColumn('version', 'integer', (c) => c.primaryKey())
        .addColumn('policies', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .execute()
      // The last time an analyst cleared an entity's risk: alerts known by then stop counting.
      await db.schema
        .createTable('risk_clearances')
        .addColumn('entity_kind', 'text', (c) => c.notNull())
        .addColumn('entity_value', 'text', (c) => c.notNull())
        .addColumn('cleared_at', 'text', (c) => c.notNull())
        .addColumn('cleared_by', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('risk_clearances_pk', ['entity_kind', 'entity_value'])
        .execute()
      // One row per response action a playbook took (or would take, or waits to take) for one
      // alert. The id derives from the playbook, the action's place in it and the alert, so an
      // alert delivered twice finds its row and acts once. `prior` holds what undo restores.
      await db.schema
        .createTable('response_actions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('playbook_id', 'text', (c) => c.notNull())
        .addColumn('action_index', 'integer', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('alert_id', 'text', (c) => c.notNull())
        .addColumn('rule_id', 'text', (c) => c.notNull())
        .addColumn('entity_kind', 'text', (c) => c.notNull())
        .addColumn('entity_value', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('prior', 'text')
        .addColumn('detail', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .execute()
      await db.schema
        .createIndex('response_actions_state')
        .on('response_actions')
        .columns(['state', 'type'])
        .execute()
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('response_actions').execute()
      await db.schema.dropTable('risk_clearances').execute()
      await db.schema.dropTable('access_policies').execute()
    },
  },
}
