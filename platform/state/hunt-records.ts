import type { HuntRule, RefusedRule } from '../../detectors/hunts/hunt-plan.ts'
import type { HuntProgress } from '../../detectors/hunts/run-hunt.ts'
import type { StateDb, StateTables } from './state-store.ts'

export const huntStates = ['running', 'done', 'cancelled', 'failed'] as const
export type HuntState = (typeof huntStates)[number]

/** A hunt as the API shows it. */
export interface HuntRecord {
  id: string
  state: HuntState
  created_at: string
  finished_at: string | null
  created_by: string
  from: string
  to: string
  rules: HuntRule[]
  refused: RefusedRule[]
  progress: HuntProgress
  error: { code: string; message: string } | null
}

type Row = StateTables['hunts']

/** Records a hunt as it starts: running, nothing done yet. */
export async function insertHunt(
  db: StateDb,
  hunt: Pick<HuntRecord, 'id' | 'created_at' | 'created_by' | 'from' | 'to' | 'rules' | 'refused'>,
): Promise<void> {
  await db
    .insertInto('hunts')
    .values({
      id: hunt.id,
      state: 'running',
      created_at: hunt.created_at,
      finished_at: null,
      created_by: hunt.created_by,
      range_from: hunt.from,
      range_to: hunt.to,
      rules: JSON.stringify(hunt.rules),
      refused: JSON.stringify(hunt.refused),
      slices_done: 0,
      slices_total: 0,
      events_done: 0,
      events_total: 0,
      queries_done: 0,
      queries_total: 0,
      matches: 0,
      error: null,
    })
    .execute()
}

/** Keeps a running hunt's progress. */
export async function updateHuntProgress(
  db: StateDb,
  id: string,
  progress: HuntProgress,
): Promise<void> {
  await db.updateTable('hunts').set(progressColumns(progress)).where('id', '=', id).execute()
}

/** Records how a hunt ended, with its last progress. */
export async function finishHunt(
  db: StateDb,
  id: string,
  end: {
    state: Exclude<HuntState, 'running'>
    progress?: HuntProgress
    error?: { code: string; message: string }
    at: string
  },
): Promise<void> {
  await db
    .updateTable('hunts')
    .set({
      state: end.state,
      finished_at: end.at,
      ...(end.progress ? progressColumns(end.progress) : {}),
      error: end.error ? JSON.stringify(end.error) : null,
    })
    .where('id', '=', id)
    .execute()
}

/**
 * Marks the hunts recorded as running as failed with `PAL_HUNT_INTERRUPTED`: at a start,
 * none runs, so those were stopped by the last stop or a crash. Their alerts stay stored.
 *
 * @returns their ids
 */
export async function failInterruptedHunts(db: StateDb, at: string): Promise<string[]> {
  const rows = await db.selectFrom('hunts').select('id').where('state', '=', 'running').execute()
  if (rows.length === 0) return []
  const error = {
    code: 'PAL_HUNT_INTERRUPTED',
    message: 'Palisade stopped while the hunt ran; its alerts so far are kept; start it again',
  }
  await db
    .updateTable('hunts')
    .set({ state: 'failed', finished_at: at, error: JSON.stringify(error) })
    .where('state', '=', 'running')
    .execute()
  return rows.map((r) => r.id)
}

export async function getHunt(db: StateDb, id: string): Promise<HuntRecord | null> {
  const row = await db.selectFrom('hunts').selectAll().where('id', '=', id).executeTakeFirst()
  return row ? toRecord(row) : null
}

/** Hunts newest first, `limit` of them, after the hunt with id `after` if given. */
export async function listHunts(
  db: StateDb,
  page: { limit: number; after?: string },
): Promise<HuntRecord[]> {
  let query = db.selectFrom('hunts').selectAll().orderBy('id', 'desc').limit(page.limit)
  if (page.after !== undefined) query = query.where('id', '<', page.after)
  return (await query.execute()).map(toRecord)
}

function progressColumns(p: HuntProgress) {
  return {
    slices_done: p.slices.done,
    slices_total: p.slices.total,
    events_done: p.events.done,
    events_total: p.events.total,
    queries_done: p.queries.done,
    queries_total: p.queries.total,
    matches: p.matches,
  }
}

function toRecord(row: Row): HuntRecord {
  // PostgreSQL's driver hands bigint columns back as strings.
  const n = (v: number | string) => Number(v)
  return {
    id: row.id,
    state: row.state as HuntState,
    created_at: row.created_at,
    finished_at: row.finished_at,
    created_by: row.created_by,
    from: row.range_from,
    to: row.range_to,
    rules: JSON.parse(row.rules) as HuntRule[],
    refused: JSON.parse(row.refused) as RefusedRule[],
    progress: {
      slices: { done: n(row.slices_done), total: n(row.slices_total) },
      events: { done: n(row.events_done), total: n(row.events_total) },
      queries: { done: n(row.queries_done), total: n(row.queries_total) },
      matches: n(row.matches),
    },
    error: row.error ? (JSON.parse(row.error) as { code: string; message: string }) : null,
  }
}
