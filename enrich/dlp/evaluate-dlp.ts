import type { DlpScanner, Finding } from './finding.ts'
import { DLP_TYPES } from './finding.ts'
import type { SpanRecord } from './read-presidio-spans.ts'

export interface TypeScore {
  covered: boolean
  /** Labelled spans of the type. */
  support: number
  /** Findings of the type. */
  predicted: number
  true_positives: number
  /** Null for a type the scanner does not cover, or when nothing was predicted or labelled. */
  precision: number | null
  recall: number | null
  f1: number | null
}

export interface DlpEvaluation {
  records: number
  entities: Record<string, TypeScore>
}

/**
 * Scores the scanner against labelled texts. A finding is a true positive when a labelled span
 * of its type overlaps it; a labelled span is found when a finding of its type overlaps it.
 * Precision counts findings and recall counts labels, so two findings on one label are not
 * two misses, and one finding spanning two labels finds both.
 */
export function evaluateDlp(records: readonly SpanRecord[], scanner: DlpScanner): DlpEvaluation {
  const covered = new Set<string>(DLP_TYPES)
  const scores = new Map<string, TypeScore>()
  const score = (type: string): TypeScore => {
    let s = scores.get(type)
    if (!s) {
      s = {
        covered: covered.has(type),
        support: 0,
        predicted: 0,
        true_positives: 0,
        precision: null,
        recall: null,
        f1: null,
      }
      scores.set(type, s)
    }
    return s
  }
  const found = new Map<string, number>()
  for (const type of DLP_TYPES) score(type)

  for (const record of records) {
    const findings: Finding[] = scanner.scanText(record.full_text, 'full_text')
    for (const span of record.spans) {
      const s = score(span.entity_type)
      s.support++
      const hit = findings.some(
        (f) =>
          f.type === span.entity_type && f.start < span.end_position && span.start_position < f.end,
      )
      if (hit) found.set(span.entity_type, (found.get(span.entity_type) ?? 0) + 1)
    }
    for (const finding of findings) {
      const s = score(finding.type)
      s.predicted++
      const labelled = record.spans.some(
        (span) =>
          span.entity_type === finding.type &&
          finding.start < span.end_position &&
          span.start_position < finding.end,
      )
      if (labelled) s.true_positives++
    }
  }

  const entities: Record<string, TypeScore> = {}
  for (const [type, s] of [...scores].sort(([a], [b]) => a.localeCompare(b))) {
    if (s.covered) {
      const recalled = found.get(type) ?? 0
      s.precision = s.predicted > 0 ? s.true_positives / s.predicted : null
      s.recall = s.support > 0 ? recalled / s.support : null
      s.f1 =
        s.precision !== null && s.recall !== null && s.precision + s.recall > 0
          ? (2 * s.precision * s.recall) / (s.precision + s.recall)
          : null
    }
    entities[type] = s
  }
  return { records: records.length, entities }
}
