import { loadRules } from './load-rules.ts'
import { compileRuleSet, type RuleSet, type RuleSetOptions } from './rule-set.ts'
import type { Logsource } from './sigma-rule.ts'

/** What `rules check` reports; its JSON form is this object as it is. */
export interface CheckReport {
  /** Rule files read. */
  files: number
  /** Rule documents found: those compiled and those rejected. */
  total: number
  /** Documents that loaded and compiled (detection rules, correlations, filters). */
  compiled: number
  /** Documents (or whole files) that did not load or compile, and why. */
  rejected: { file: string; line?: number; rule_id?: string; reason: string }[]
  /** Rules that load but match nothing: a placeholder they use has no value. */
  missing_placeholders: {
    file: string
    line?: number
    rule_id: string
    placeholders: string[]
    reason: string
  }[]
  /** Detection rules whose logsource no route covers: they load but never fire. */
  unrouted: { file: string; line?: number; rule_id: string; logsource: Logsource }[]
}

/**
 * Loads and compiles every rule under `paths` and reports what would not run, and why.
 * An offline tool: it reads files only.
 *
 * @throws ValidationError when a path does not exist
 */
export function checkRules(
  paths: readonly string[],
  options: RuleSetOptions = {},
): CheckReport & { ruleSet: RuleSet } {
  const loaded = loadRules(paths)
  const ruleSet = compileRuleSet(loaded.documents, options)
  const lines = new Map(loaded.documents.map((d) => [`${d.file}#${d.id}`, d.line]))
  const rejected = [...loaded.rejections, ...ruleSet.rejections].map((r) => ({
    file: r.file,
    ...(r.line !== undefined ? { line: r.line } : {}),
    ...(r.rule_id !== undefined ? { rule_id: r.rule_id } : {}),
    reason: r.message,
  }))
  const missing = ruleSet.warnings.map((w) => ({
    file: w.file,
    ...(w.line !== undefined ? { line: w.line } : {}),
    rule_id: w.rule_id,
    placeholders: w.placeholders,
    reason: w.message,
  }))
  const unrouted = ruleSet.rules
    .filter((r) => !r.routed)
    .map((r) => {
      const line = lines.get(`${r.file}#${r.id}`)
      return {
        file: r.file,
        ...(line !== undefined ? { line } : {}),
        rule_id: r.id,
        logsource: r.logsource,
      }
    })
  const compiled = loaded.documents.length - ruleSet.rejections.length
  return {
    files: loaded.files,
    total: compiled + rejected.length,
    compiled,
    rejected,
    missing_placeholders: missing,
    unrouted,
    ruleSet,
  }
}
