import { alertId } from '../../platform/alert-model.ts'
import type { Alert } from '../../platform/alert-model.ts'

/** The rule every dropped-state alert names, so analysts can filter and route on it. */
export const stateDroppedRule = {
  id: 'palisade-correlation-state-dropped',
  version: '1',
  title: 'Correlation state dropped: too many group keys held',
  kind: 'platform',
} as const

/** Event time is cut in hours: one flood against one correlation makes one alert an hour. */
const BUCKET_MS = 3_600_000

/**
 * The alert raised when the correlation engine, at its `maxGroups` limit, drops the open
 * windows or sequences of a group key of a correlation. Its id derives from the correlation
 * and the hour of event time, so a flood reported again (a redelivered batch, a restart) stays
 * one alert. It names the correlation, never a group's values (they are event data), and
 * carries the id of the event whose new group key forced the eviction.
 */
export function stateDroppedAlert(
  correlation: { id: string; title: string },
  maxGroups: number,
  at: number,
  eventId: string,
): Alert {
  const hour = Math.floor(at / BUCKET_MS) * BUCKET_MS
  return {
    id: alertId(stateDroppedRule.id, stateDroppedRule.version, `${correlation.id}\u0000${hour}`),
    '@timestamp': new Date(at).toISOString(),
    rule: { ...stateDroppedRule },
    level: 'high',
    tags: ['palisade.correlation'],
    entity: { kind: 'correlation', value: correlation.id },
    event_ids: [eventId],
    message:
      `${correlation.title}: the correlation engine holds its limit of ${maxGroups} group keys ` +
      'and dropped the open windows of the least recently updated ones. Those groups start ' +
      'counting again: an alert they were due may be missed, none is raised on part of a ' +
      'window. A flood of distinct group-by values (sprayed addresses or users) does this.',
  }
}

/** The hour of event time a dropped-state alert covers (its id's identity). */
export function stateDroppedHour(at: number): number {
  return Math.floor(at / BUCKET_MS)
}
