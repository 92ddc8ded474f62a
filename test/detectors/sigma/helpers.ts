import { parseRuleText } from '../../../detectors/sigma/load-rules.ts'
import {
  compileRuleSet,
  type RuleSet,
  type RuleSetOptions,
} from '../../../detectors/sigma/rule-set.ts'
import type { PalisadeEvent } from '../../../platform/event-model.ts'

/** A rule set from YAML text (documents separated by `---`). */
export function ruleSetFrom(yaml: string, options: RuleSetOptions = {}): RuleSet {
  const { documents, rejections } = parseRuleText(yaml, 'test.yml')
  if (rejections.length > 0) throw new Error(JSON.stringify(rejections))
  return compileRuleSet(documents, options)
}

let n = 0

/** A Sysmon event with the given id and EventData. */
export function sysmon(eventId: number, data: Record<string, unknown>): PalisadeEvent {
  n++
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    '@timestamp': '2025-01-01T00:00:00Z',
    host: { name: 'ws1' },
    winlog: {
      channel: 'Microsoft-Windows-Sysmon/Operational',
      computer_name: 'ws1',
      event_id: eventId,
      provider_name: 'Microsoft-Windows-Sysmon',
      event_data: data,
    },
  }
}

/** A detection rule over Sysmon process creation with the given detection block. */
export function processRule(detection: string): string {
  const body = detection
    .trim()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n')
  return `title: t
id: 11111111-1111-4111-8111-111111111111
logsource:
    product: windows
    category: process_creation
detection:
${body}
`
}

/** Whether the one-rule set built from `detection` fires on a process-creation event. */
export function fires(detection: string, data: Record<string, unknown>, opts?: RuleSetOptions) {
  return ruleSetFrom(processRule(detection), opts).evaluate(sysmon(1, data)).length > 0
}
