import type { AnalyticsStore } from './analytics-store.ts'

/** One row of `audit_checkpoints` (migration 3); `covered_by` is 0 when there is none. */
export interface CheckpointRow {
  tree_size: number
  root_hash: string
  status: string
  status_rank: number
  time: string
  key_id: string
  key_fingerprint: string
  algorithm: string
  signer_kind: string
  signature: string
  error_code: string
  covered_by: number
}

/** Stores one row; a row for a size already stored replaces it when its rank is higher. */
export async function insertCheckpointRow(
  store: AnalyticsStore,
  row: CheckpointRow,
): Promise<void> {
  await store.client.insert({
    table: `${store.database}.audit_checkpoints`,
    values: [row],
    format: 'JSONEachRow',
  })
}

/** Every checkpoint row as it stands now (FINAL: one per size), by tree size. */
export async function readCheckpointRows(store: AnalyticsStore): Promise<CheckpointRow[]> {
  const result = await store.client.query({
    query: `SELECT * FROM ${store.database}.audit_checkpoints FINAL ORDER BY tree_size`,
    format: 'JSONEachRow',
  })
  return (await result.json<CheckpointRow>()).map((r) => ({
    ...r,
    tree_size: Number(r.tree_size),
    status_rank: Number(r.status_rank),
    covered_by: Number(r.covered_by),
  }))
}
