/**
 * Versioned ClickHouse migrations. A migration is applied once and recorded in
 * `schema_migrations`; its statements must be safe to re-run (IF NOT EXISTS), because a crash
 * between a statement and its record re-runs it. `{db}` is replaced by the database name and
 * `{ttl_days}` by the configured retention.
 *
 * Events keep their exact normalised JSON in `event` (what the API returns) and ClickHouse
 * derives the typed columns and the `doc` JSON column from it, so the insert from Node is four
 * small fields and the parsing happens inside the engine.
 *
 * Retention counts from when Palisade stored a row, not from the event's own time: a TTL on
 * event time would delete a replayed month-old log the moment it was inserted, silently.
 *
 * Audit entries have no TTL at all: retention never deletes them, because a Merkle log with a
 * leaf missing can no longer prove anything after it (DESIGN.md, Trust: Audit). Nor do audit
 * checkpoints: an export needs every one of them.
 */
export interface Migration {
  version: number
  name: string
  statements: string[]
}

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'events, alerts and dead letters',
    statements: [
      `CREATE TABLE IF NOT EXISTS {db}.events (
        id UUID,
        timestamp DateTime64(3, 'UTC'),
        ingested DateTime64(3, 'UTC'),
        event String CODEC(ZSTD(3)),
        doc JSON MATERIALIZED CAST(event, 'JSON'),
        dataset LowCardinality(String) MATERIALIZED JSONExtractString(event, 'event', 'dataset'),
        category Array(LowCardinality(String))
          MATERIALIZED JSONExtract(event, 'event', 'category', 'Array(String)'),
        action LowCardinality(String) MATERIALIZED JSONExtractString(event, 'event', 'action'),
        outcome LowCardinality(String) MATERIALIZED JSONExtractString(event, 'event', 'outcome'),
        host_name String MATERIALIZED JSONExtractString(event, 'host', 'name'),
        user_name String MATERIALIZED JSONExtractString(event, 'user', 'name'),
        source_ip String MATERIALIZED JSONExtractString(event, 'source', 'ip'),
        INDEX id_idx id TYPE bloom_filter GRANULARITY 4
      )
      ENGINE = ReplacingMergeTree(ingested)
      PARTITION BY toYYYYMMDD(timestamp)
      ORDER BY (timestamp, id)
      TTL toDateTime(ingested) + INTERVAL {ttl_days} DAY`,
      `CREATE TABLE IF NOT EXISTS {db}.alerts (
        id UUID,
        timestamp DateTime64(3, 'UTC'),
        created DateTime64(3, 'UTC'),
        rule_id String,
        rule_version String,
        rule_title String,
        rule_kind LowCardinality(String),
        level LowCardinality(String),
        level_rank UInt8,
        tags Array(String),
        entity_kind LowCardinality(String),
        entity_value String,
        event_ids Array(UUID),
        alert String CODEC(ZSTD(3)),
        INDEX id_idx id TYPE bloom_filter GRANULARITY 4
      )
      ENGINE = ReplacingMergeTree(created)
      PARTITION BY toYYYYMM(timestamp)
      ORDER BY (timestamp, id)
      TTL toDateTime(created) + INTERVAL {ttl_days} * 4 DAY`,
      `CREATE TABLE IF NOT EXISTS {db}.dead_letters (
        id UUID,
        received DateTime64(3, 'UTC'),
        updated DateTime64(3, 'UTC'),
        status LowCardinality(String),
        source LowCardinality(String),
        format LowCardinality(String),
        stream String,
        position UInt64,
        reason_code LowCardinality(String),
        reason String,
        path String,
        raw String CODEC(ZSTD(3))
      )
      ENGINE = ReplacingMergeTree(updated)
      PARTITION BY toYYYYMMDD(received)
      ORDER BY (received, id)
      TTL toDateTime(received) + INTERVAL {ttl_days} DAY`,
    ],
  },
  {
    version: 2,
    name: 'audit entries',
    statements: [
      `CREATE TABLE IF NOT EXISTS {db}.audit_entries (
        idx UInt64,
        time DateTime64(3, 'UTC'),
        entry String CODEC(ZSTD(3)),
        leaf_hash FixedString(64)
      )
      ENGINE = MergeTree
      ORDER BY idx`,
    ],
  },
  {
    version: 3,
    name: 'audit checkpoints',
    // One row per tree size. A pending row is replaced by its signed (or superseded) row: the
    // higher status_rank wins in ReplacingMergeTree, and readers use FINAL. `time` is a string
    // because it is inside the signed text and must come back byte for byte. No TTL.
    statements: [
      `CREATE TABLE IF NOT EXISTS {db}.audit_checkpoints (
        tree_size UInt64,
        root_hash FixedString(64),
        status LowCardinality(String),
        status_rank UInt8,
        time String,
        key_id String,
        key_fingerprint FixedString(64),
        algorithm LowCardinality(String),
        signer_kind LowCardinality(String),
        signature String,
        error_code LowCardinality(String),
        covered_by UInt64
      )
      ENGINE = ReplacingMergeTree(status_rank)
      ORDER BY tree_size`,
    ],
  },
  {
    version: 4,
    name: 'event ingest sequence',
    // The order the embedded pipeline detected events in, one number per event, never reused:
    // a correlation checkpoint names the last one it reflects, and a restart re-reads the
    // events after it in this order. 0 marks rows stored before the column existed (and ones
    // stored outside the stream); they are never replayed. The events table is ordered by
    // event time, so a min-max index lets the read after a checkpoint skip the older parts.
    statements: [
      `ALTER TABLE {db}.events ADD COLUMN IF NOT EXISTS ingest_seq UInt64 DEFAULT 0`,
      `ALTER TABLE {db}.events
        ADD INDEX IF NOT EXISTS ingest_seq_idx ingest_seq TYPE minmax GRANULARITY 1`,
    ],
  },
  {
    version: 5,
    name: 'alert origin',
    // Hunts write alerts beside the stream's: `origin` tells them apart and `hunt_id` says
    // which hunt found one. Rows from before have the stream's defaults.
    statements: [
      `ALTER TABLE {db}.alerts
        ADD COLUMN IF NOT EXISTS origin LowCardinality(String) DEFAULT 'stream'`,
      `ALTER TABLE {db}.alerts ADD COLUMN IF NOT EXISTS hunt_id String DEFAULT ''`,
    ],
  },
  {
    version: 6,
    name: 'dlp findings',
    // What the DLP scanner found in each event and what its policy did: the type, the field
    // path and the span, never the value. A blocked event has findings but no event row. The
    // key includes the span, so a redelivered batch replaces its findings instead of adding.
    statements: [
      `CREATE TABLE IF NOT EXISTS {db}.dlp_findings (
        event_id UUID,
        timestamp DateTime64(3, 'UTC'),
        created DateTime64(3, 'UTC'),
        source LowCardinality(String),
        dataset LowCardinality(String),
        type LowCardinality(String),
        confidence Float32,
        path String,
        span_start UInt32,
        span_end UInt32,
        recogniser LowCardinality(String),
        action LowCardinality(String)
      )
      ENGINE = ReplacingMergeTree(created)
      PARTITION BY toYYYYMMDD(timestamp)
      ORDER BY (timestamp, event_id, path, span_start, type)
      TTL toDateTime(created) + INTERVAL {ttl_days} DAY`,
    ],
  },
  {
    version: 7,
    name: 'access decisions',
    // Every zero-trust decision (issue 13): what was asked, what was answered, why, and the
    // risk it weighed, so an analyst can see who was stepped up or denied and on which alert.
    // Kept like alerts (four times the event retention), counted from when it was decided
    // (`created`).
    statements: [
      `CREATE TABLE IF NOT EXISTS {db}.access_decisions (
        id UUID,
        created DateTime64(3, 'UTC'),
        decision LowCardinality(String),
        subject String,
        resource String,
        action LowCardinality(String),
        address String,
        risk UInt8,
        policy_version UInt32,
        policies Array(String),
        alert_ids Array(String),
        reason_codes Array(LowCardinality(String)),
        record String CODEC(ZSTD(3))
      )
      ENGINE = ReplacingMergeTree
      PARTITION BY toYYYYMM(created)
      ORDER BY (created, id)
      TTL toDateTime(created) + INTERVAL {ttl_days} * 4 DAY`,
    ],
  },
]
