import { z } from 'zod'

import { derivedId } from './event-id.ts'

export const alertLevels = ['informational', 'low', 'medium', 'high', 'critical'] as const
export const alertLevel = z.enum(alertLevels)
export type AlertLevel = z.infer<typeof alertLevel>

/** Orders levels so `level=medium` in a query means "medium or worse". */
export function levelRank(level: AlertLevel): number {
  return alertLevels.indexOf(level)
}

/** Why an anomaly alert fired: its window, its score against the model, what moved. */
export const anomalyFinding = z.object({
  score: z.number(),
  /** The model's threshold: the training windows' score quantile at 1 − contamination. */
  threshold: z.number(),
  model_version: z.number().int(),
  window: z.object({ start: z.iso.datetime(), end: z.iso.datetime() }),
  /** Every feature's value in the window. */
  features: z.record(z.string(), z.number()),
  /** The features far from their baseline, furthest first, in robust z (1.4826 MAD units). */
  deviations: z.array(
    z.object({
      feature: z.string(),
      value: z.number(),
      /** The entity's last windows, its same hour of week before, or every entity's. */
      baseline: z.enum(['entity', 'entity-hour-of-week', 'population']),
      median: z.number(),
      scale: z.number(),
      z: z.number(),
    }),
  ),
})

export type AnomalyFinding = z.infer<typeof anomalyFinding>

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
  /** For an anomaly alert: its score and the features that pushed it. */
  anomaly: anomalyFinding.optional(),
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
