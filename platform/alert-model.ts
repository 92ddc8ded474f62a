import { z } from 'zod'

import { derivedId } from './event-id.ts'

export const alertLevels = ['informational', 'low', 'medium', 'high', 'critical'] as const
export const alertLevel = z.enum(alertLevels)
export type AlertLevel = z.infer<typeof alertLevel>

/** Orders levels so `level=medium` in a query means "medium or worse". */
export function levelRank(level: AlertLevel): number {
  return alertLevels.indexOf(level)
}

/**
 * An alert: what a detector says about one entity. Its id is derived from the rule, its
 * version and the contributing events (or the correlation window), so a redelivered batch
 * produces the same id and storage keeps one row.
 */
export const alertSchema = z.object({
  id: z.uuid(),
  '@timestamp': z.iso.datetime({ offset: true }),
  rule: z.object({
    id: z.string(),
    /** A hash of the rule's content: a changed rule is a new version. */
    version: z.string(),
    title: z.string(),
    /**
     * 'sigma' for a detection rule, 'correlation' for a correlation rule, 'platform' for what
     * Palisade reports about itself (an audit signer that fails).
     */
    kind: z.enum(['sigma', 'correlation', 'anomaly', 'platform']),
  }),
  level: alertLevel,
  tags: z.array(z.string()),
  /** The entity the alert is about: what a correlation grouped on, or the event's main actor. */
  entity: z.object({ kind: z.string(), value: z.string() }),
  event_ids: z.array(z.uuid()),
  message: z.string().optional(),
  /**
   * Where the alert comes from: the stream (absent, or 'stream') or a hunt over stored events
   * ('hunt', with the hunt's id). A hunt alert names the same rule, version and events as the
   * stream's alert for them, under an id of its own, so neither replaces the other.
   */
  origin: z.enum(['stream', 'hunt']).optional(),
  hunt_id: z.uuid().optional(),
})

export type Alert = z.infer<typeof alertSchema>

/** Deterministic alert id from the rule version and what makes this firing unique. */
export function alertId(ruleId: string, ruleVersion: string, identity: string): string {
  return derivedId('alert', `${ruleId}\u0000${ruleVersion}\u0000${identity}`)
}

/**
 * The id of a hunt's alert for one rule and event: deterministic, so a hunt run again writes
 * the same rows, and distinct from the stream's (`alertId(rule, version, eventId)`) and from
 * any other hunt's, so a hunt neither replaces the stream's alert nor another hunt's.
 */
export function huntAlertId(
  huntId: string,
  ruleId: string,
  ruleVersion: string,
  eventId: string,
): string {
  return alertId(ruleId, ruleVersion, `hunt\u0000${huntId}\u0000${eventId}`)
}
