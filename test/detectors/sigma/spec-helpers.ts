import type { RuleSetOptions } from '../../../detectors/sigma/rule-set.ts'
import { fires, processRule, ruleSetFrom } from './helpers.ts'

/**
 * Helpers for the specification tests (`spec-*.test.ts`). Rule text is written with
 * `String.raw` and single-quoted YAML, so a backslash in the test is a backslash in the Sigma
 * value, exactly as the specification prints it.
 */

/** A detection with one search identifier `sel` holding the given map lines. */
export function selection(lines: string, condition = 'sel'): string {
  const body = lines
    .trim()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n')
  return `sel:\n${body}\ncondition: ${condition}`
}

/** Whether `sel: {key: value}` fires on a process-creation event with `data`. */
export function entryFires(
  entry: string,
  data: Record<string, unknown>,
  options?: RuleSetOptions,
): boolean {
  return fires(selection(entry), data, options)
}

/** Why a process-creation rule with this detection block is rejected (undefined: it is not). */
export function rejectionOf(detection: string, options?: RuleSetOptions): string | undefined {
  const set = ruleSetFrom(processRule(detection), options)
  return set.rejections[0]?.message
}
