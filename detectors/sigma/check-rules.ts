import { loadRules } from './load-rules.ts'
import { compileRuleSet, type RuleSet, type RuleSetOptions } from './rule-set.ts'
import type { Logsource, RuleRejection } from './sigma-rule.ts'

export interface CheckReport {
  files: number
  /** Documents that loaded and compiled (detection rules, correlations, filters). */
  loaded: number
  rejected: number
  /** Detection rules that compiled but whose logsource has no route: they never fire. */
  unrouted: number
  rejections: RuleRejection[]
  unroutedRules: { file: string; rule_id: string; logsource: Logsource }[]
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
  const rejections = [...loaded.rejections, ...ruleSet.rejections]
  const unroutedRules = ruleSet.rules
    .filter((r) => !r.routed)
    .map((r) => ({ file: r.file, rule_id: r.id, logsource: r.logsource }))
  return {
    files: loaded.files,
    loaded: loaded.documents.length - ruleSet.rejections.length,
    rejected: rejections.length,
    unrouted: unroutedRules.length,
    rejections,
    unroutedRules,
    ruleSet,
  }
}
