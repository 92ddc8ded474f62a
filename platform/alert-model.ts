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
})

export type Alert = z.infer<typeof alertSchema>

/** Deterministic alert id from the rule version and what makes this firing unique. */
export function alertId(ruleId: string, ruleVersion: string, identity: string): string {
  return derivedId('alert', `${ruleId}\u0000${ruleVersion}\u0000${identity}`)
}
