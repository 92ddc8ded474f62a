import type { RuleSetOptions } from '../../../detectors/sigma/rule-set.ts'
import { fires, processRule, ruleSetFrom, sysmon } from './helpers.ts'

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

/** Whether a `service: security` rule with this detection fires on a Security event. */
export function securityFires(
  detection: string,
  eventId: number,
  data: Record<string, unknown>,
): boolean {
  const rule = processRule(detection).replace('category: process_creation', 'service: security')
  const event = sysmon(eventId, data)
  event.winlog!.channel = 'Security'
  return ruleSetFrom(rule).evaluate(event).length > 0
}

/** Whether the process-creation rule fires on an event with `data` and a `message`. */
export function messageFires(detection: string, message: string, data = {}): boolean {
  const event = sysmon(1, data)
  event.message = message
  return ruleSetFrom(processRule(detection)).evaluate(event).length > 0
}
