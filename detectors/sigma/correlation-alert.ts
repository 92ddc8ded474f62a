import { alertId, alertLevels, type Alert, type AlertLevel } from '../../platform/alert-model.ts'
import type { CorrelationRule, CountCondition } from './sigma-rule.ts'

/**
 * A correlation's alert, as both back ends make it (SLIDING.md), so a hunt over history and
 * the stream give the same alert for the same events: the same id, entity, contributing
 * events, time and message.
 *
 * @param c the correlation
 * @param group its group-by values, in the order of `group-by`
 * @param id `slideAlertId` or `windowAlertId`
 * @param from the window's start: a set's first event, or an anchored window's opening
 * @param at its end: the event that completed a set, or an anchored window's end
 * @param eventIds the contributing events, of which the first `cap` are kept
 * @param count what the condition was about (a count, distinct values, a sum, ...)
 * @param cap most event ids an alert carries
 * @param options `partial`: counted on part of the group (events dropped at a limit);
 *   `countedTo`: an anchored value_count window's `distinctValuesKept`, at which its count
 *   reads "more than" the one before it, since counting stopped there
 */
export function correlationAlert(
  c: CorrelationRule,
  group: readonly string[],
  id: string,
  from: number,
  at: number,
  eventIds: readonly string[],
  count: number,
  cap: number,
  options: { partial?: boolean; countedTo?: number } = {},
): Alert {
  const { partial = false, countedTo = Infinity } = options
  const n = count >= countedTo ? `more than ${countedTo - 1}` : String(count)
  return {
    id,
    '@timestamp': new Date(at).toISOString(),
    rule: { id: c.id, version: c.version, title: c.title, kind: 'correlation' },
    level: (alertLevels as readonly string[]).includes(c.level ?? '')
      ? (c.level as AlertLevel)
      : 'medium',
    tags: c.tags,
    entity:
      c.groupBy.length > 0
        ? { kind: c.groupBy.join(','), value: group.join(',') }
        : { kind: 'correlation', value: c.id },
    event_ids: eventIds.slice(0, cap),
    message:
      `${c.title} (${measured(c)} ${n} in ${c.timespanMs / 1000}s, ` +
      `from ${new Date(from).toISOString()} to ${new Date(at).toISOString()})` +
      (partial ? '; counted on part of the group, some of its events were dropped at a limit' : ''),
  }
}

/**
 * The id of a sliding alert (SLIDING.md A): from the correlation, its version, the group
 * values and the event that completed the set.
 */
export function slideAlertId(c: CorrelationRule, group: readonly string[], trigger: string) {
  return alertId(c.id, c.version, `${trigger}\u0000${group.join('\u0000')}`)
}

/**
 * The id of an anchored window's alert (SLIDING.md B), and of a sequence's: from the
 * correlation, its version, the group values and the window's start.
 */
export function windowAlertId(c: CorrelationRule, group: readonly string[], start: number) {
  return alertId(c.id, c.version, `${start}\u0000${group.join('\u0000')}`)
}

/** What an alert's number is: `event_count`, `value_avg of bytes`, `value_percentile p95 of t`. */
function measured(c: CorrelationRule): string {
  if (c.type !== 'value_sum' && c.type !== 'value_avg' && c.type !== 'value_percentile') {
    return c.type
  }
  const p = c.type === 'value_percentile' ? ` p${c.percentile ?? 50}` : ''
  return `${c.type}${p} of ${c.field ?? ''}`
}

/**
 * How many distinct values an anchored value_count window keeps: one more than the largest
 * number its condition names, so every comparison (`gt`, `lte`, `eq`, `neq`, ...) is decided
 * exactly, and a spray of a million user names against one address keeps a few values, not a
 * million. A condition with no upper bound (`neq`, with or without a lower one) holds past
 * that, so its window keeps one more than the event ids an alert carries: the count its alert
 * reports is exact up to there and "more than" past it.
 */
export function distinctValuesKept(c: CountCondition, cap: number): number {
  const bounds = [c.gt, c.gte, c.lt, c.lte, c.eq, c.neq].filter((n) => n !== undefined)
  const ceiling = Math.floor(Math.max(0, ...bounds)) + 1
  const bounded = c.lt !== undefined || c.lte !== undefined || c.eq !== undefined
  return bounded ? ceiling : Math.max(ceiling, cap + 1)
}
