import type { AnalyticsStore } from '../platform/clickhouse/analytics-store.ts'
import {
  insertCheckpointRow,
  readCheckpointRows,
} from '../platform/clickhouse/checkpoint-repository.ts'
import type { CheckpointRow } from '../platform/clickhouse/checkpoint-repository.ts'
import type { Checkpoint, SignedCheckpoint } from './checkpoint.ts'

/**
 * Where a checkpoint for one tree size stands:
 * - `pending`: it fell due but the signer could not sign it (yet);
 * - `signed`: it carries a signature;
 * - `superseded`: it was pending, and a later signed checkpoint (`covered_by`) covers it, since
 *   a consistency proof (RFC 9162 §2.1.4) from its size to that one ties its root to the
 *   signed root.
 */
export type CheckpointStatus = 'pending' | 'signed' | 'superseded'

/** A checkpoint as stored: the fields it is (or would be) signed with, and its status. */
export interface CheckpointRecord extends Checkpoint {
  status: CheckpointStatus
  /** Base64, only when signed; '' otherwise. */
  signature: string
  /** The signer's error code that left it pending; '' when there was none. */
  error_code: string
  /** For a superseded record, the size of the signed checkpoint that covers it. */
  covered_by: number | null
}

/** Keeps checkpoint records; a later save for the same size replaces the earlier one. */
export interface CheckpointStore {
  save(record: CheckpointRecord): Promise<void>
  /** Every record, one per size, by tree size. */
  list(): Promise<CheckpointRecord[]>
}

/** The signed checkpoint a record holds, or undefined when it is not signed. */
export function signedCheckpointOf(record: CheckpointRecord): SignedCheckpoint | undefined {
  if (record.status !== 'signed') return undefined
  const { tree_size, root_hash, time, key_id, key_fingerprint, algorithm, signer_kind } = record
  return {
    checkpoint: { tree_size, root_hash, time, key_id, key_fingerprint, algorithm, signer_kind },
    signature: record.signature,
  }
}

/** Checkpoints in this process only: for tests and development. */
export class MemoryCheckpointStore implements CheckpointStore {
  readonly #records = new Map<number, CheckpointRecord>()

  async save(record: CheckpointRecord): Promise<void> {
    this.#records.set(record.tree_size, { ...record })
  }

  async list(): Promise<CheckpointRecord[]> {
    return [...this.#records.values()]
      .sort((a, b) => a.tree_size - b.tree_size)
      .map((r) => ({ ...r }))
  }
}

const statusRank: Record<CheckpointStatus, number> = { pending: 0, signed: 1, superseded: 1 }

/** Checkpoints in ClickHouse's `audit_checkpoints` table (migration 3, never expired). */
export class ClickHouseCheckpointStore implements CheckpointStore {
  readonly #store: AnalyticsStore

  constructor(store: AnalyticsStore) {
    this.#store = store
  }

  async save(record: CheckpointRecord): Promise<void> {
    await insertCheckpointRow(this.#store, {
      ...record,
      status_rank: statusRank[record.status],
      covered_by: record.covered_by ?? 0,
    })
  }

  async list(): Promise<CheckpointRecord[]> {
    return (await readCheckpointRows(this.#store)).map(fromRow)
  }
}

function fromRow(row: CheckpointRow): CheckpointRecord {
  return {
    tree_size: row.tree_size,
    root_hash: row.root_hash,
    time: row.time,
    key_id: row.key_id,
    key_fingerprint: row.key_fingerprint,
    algorithm: row.algorithm as CheckpointRecord['algorithm'],
    signer_kind: row.signer_kind as CheckpointRecord['signer_kind'],
    status: row.status as CheckpointStatus,
    signature: row.signature,
    error_code: row.error_code,
    covered_by: row.covered_by === 0 ? null : row.covered_by,
  }
}
