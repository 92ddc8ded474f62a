import type { CorrelationState } from './correlation-engine.ts'

/**
 * The part of a correlator's state that a new rule set may resume: open windows, sliding
 * groups, sequences and entity watermarks of the correlations `keep` accepts (by id) with the
 * times eviction reached in them (`evictedThrough`), plus the global watermark and the counts
 * of late events (per correlation too, whatever `keep` says: a count is history, and it keeps
 * the labelled metric adding up to the total) and evictions. Everything else is dropped, not
 * closed: a window of a changed correlation was counted under conditions that no longer hold,
 * and closing it early would decide an upper-bounded condition on a window that has not ended.
 */
export function carryCorrelationState(
  state: CorrelationState,
  keep: (correlationId: string) => boolean,
): { state: CorrelationState; dropped: string[] } {
  const dropped = new Set<string>()
  const kept = (id: string): boolean => {
    if (keep(id)) return true
    dropped.add(id)
    return false
  }
  const out: CorrelationState = {
    version: 2,
    watermark: state.watermark,
    entityWatermarks: {},
    late: state.late,
    lateBy: { ...state.lateBy },
    windows: {},
    slides: {},
    sequences: {},
    evicted: state.evicted ?? 0,
    pruned: state.pruned ?? 0,
    evictedThrough: {},
  }
  for (const [key, w] of Object.entries(state.windows)) {
    if (kept(w.correlation)) out.windows[key] = w
  }
  for (const [key, s] of Object.entries(state.sequences)) {
    if (kept(s.correlation)) out.sequences[key] = s
  }
  for (const [key, g] of Object.entries(state.slides ?? {})) {
    if (kept(g.correlation)) out.slides[key] = g
  }
  // Entity keys start with the correlation's id and a NUL (see correlation-engine.ts).
  for (const [key, t] of Object.entries(state.entityWatermarks ?? {})) {
    if (kept(key.slice(0, key.indexOf('\u0000')))) out.entityWatermarks[key] = t
  }
  for (const [id, t] of Object.entries(state.evictedThrough ?? {})) {
    if (keep(id)) out.evictedThrough[id] = t
  }
  return { state: out, dropped: [...dropped].sort() }
}
