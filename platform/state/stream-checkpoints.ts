import type { StateDb } from './state-store.ts'

/**
 * Detection state that spans batches, saved with the position in its input that it reflects:
 * everything up to `position` has been fed into `state`, and nothing after it. A restart loads
 * it and feeds what came after, so it neither loses nor counts twice what it had seen
 * (DESIGN.md, Data flow: Partitioning).
 */
export interface StreamCheckpoint {
  /**
   * The input it is a position in: `embedded` for the embedded pipeline; a Kafka consumer
   * would name its group (and partition, if its state is kept per partition).
   */
  stream: string
  /**
   * In the transport's own terms, opaque here: the embedded pipeline's last ingest sequence
   * number as a decimal; Kafka's committed offsets as JSON.
   */
  position: string
  /** JSON text, in whatever shape its writer reads back. */
  state: string
  /** RFC 3339. */
  writtenAt: string
}

/** The last checkpoint of `stream`, or null when none was written. */
export async function readStreamCheckpoint(
  db: StateDb,
  stream: string,
): Promise<StreamCheckpoint | null> {
  const row = await db
    .selectFrom('stream_checkpoints')
    .selectAll()
    .where('stream', '=', stream)
    .executeTakeFirst()
  if (!row) return null
  return { stream: row.stream, position: row.position, state: row.state, writtenAt: row.written_at }
}

/**
 * Replaces the checkpoint of its stream in one statement, so a crash leaves the old one or
 * the new one, never half of either.
 */
export async function writeStreamCheckpoint(
  db: StateDb,
  checkpoint: StreamCheckpoint,
): Promise<void> {
  const values = {
    position: checkpoint.position,
    state: checkpoint.state,
    written_at: checkpoint.writtenAt,
  }
  await db
    .insertInto('stream_checkpoints')
    .values({ stream: checkpoint.stream, ...values })
    .onConflict((oc) => oc.column('stream').doUpdateSet(values))
    .execute()
}
