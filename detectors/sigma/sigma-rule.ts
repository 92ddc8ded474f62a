/**
 * The shapes a Sigma file loads into, before compilation. A YAML document is one of three
 * kinds (Sigma rules specification, filters specification, correlation rules specification):
 * a detection rule, a correlation rule (`correlation:`) or a global filter (`filter:`).
 */

export interface Logsource {
  product?: string
  category?: string
  service?: string
}

interface DocumentBase {
  /** The rule's `id`; a document without one gets `file#index` so it can still be named. */
  id: string
  /** The optional `name` other rules may reference it by. */
  name?: string
  title: string
  file: string
  /** 1-based line where the YAML document starts. */
  line: number
  /** Stable hash of the document's content (sha256, first 16 hex chars). */
  version: string
  level?: string
  tags: string[]
  description?: string
  /** The document as parsed (after `action: global` merging), for tools and back ends. */
  raw: Record<string, unknown>
}

export interface DetectionRule extends DocumentBase {
  kind: 'detection'
  status?: string
  logsource: Logsource
  detection: Record<string, unknown>
}

export type CorrelationType =
  | 'event_count'
  | 'value_count'
  | 'temporal'
  | 'temporal_ordered'
  | 'value_sum'
  | 'value_avg'
  | 'value_percentile'

/** `gt`, `gte`, `lt`, `lte`, `eq`, `neq`; several entries are ANDed (a range). */
export type CountCondition = Partial<Record<'gt' | 'gte' | 'lt' | 'lte' | 'eq' | 'neq', number>>

export interface CorrelationRule extends DocumentBase {
  kind: 'correlation'
  type: CorrelationType
  /** Referenced rules, by id or name, as written. */
  rules: string[]
  groupBy: string[]
  /** Window length in milliseconds. */
  timespanMs: number
  condition: CountCondition
  /**
   * value_count: the field whose distinct values are counted (several joined by commas);
   * value_sum, value_avg, value_percentile: the numeric field they read.
   */
  field?: string
  /** value_percentile: which percentile (0 to 100) of the field's values is compared. */
  percentile?: number
  /** alias name → (rule name → field). */
  aliases: Record<string, Record<string, string>>
  /** Whether referenced rules also alert on their own (spec default: false). */
  generate: boolean
}

export interface FilterRule extends DocumentBase {
  kind: 'filter'
  logsource: Logsource
  /** Ids or names of the rules the filter applies to. */
  rules: string[]
  /** The filter's search identifiers and condition (`rules` removed). */
  detection: Record<string, unknown>
}

export type SigmaDocument = DetectionRule | CorrelationRule | FilterRule

/** A rule that could not be loaded or compiled, and why; never dropped silently. */
export interface RuleRejection {
  file: string
  line?: number
  rule_id?: string
  message: string
}
