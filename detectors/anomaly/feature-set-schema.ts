import { z } from 'zod'

import { describeValue } from '../../platform/errors.ts'
import { parseTimespan } from '../sigma/load-rules.ts'

/**
 * The shape of a feature set file (the built-in `feature-sets.yml`, and any a user adds with
 * `anomaly.featureSets`): per entity kind, the window and the numbers measured over it.
 */

const name = z.string({ error: (i) => `expected a string, got ${describeValue(i.input)}` }).min(1, {
  error: 'expected a non-empty string',
})

/** A feature or set name: it is written into alerts and models, so plain. */
const identifier = z
  .string({ error: (i) => `expected a string, got ${describeValue(i.input)}` })
  .regex(/^[a-z][a-z0-9_-]*$/, {
    error: (i) => `expected lower case letters, digits, _ and -, got ${describeValue(i.input)}`,
  })

/** An ECS field path such as `user.name` or `destination.port`. */
const fieldPath = name.regex(/^[A-Za-z@_][A-Za-z0-9@_]*(\.[A-Za-z0-9@_]+)*$/, {
  error: (i) => `expected a field path such as user.name, got ${describeValue(i.input)}`,
})

const timespan = z
  .string({ error: (i) => `expected a timespan such as 1h, got ${describeValue(i.input)}` })
  .refine((t) => (parseTimespan(t) ?? 0) > 0, {
    error: (i) => `expected a timespan such as 30m, 1h or 1d, got ${describeValue(i.input)}`,
  })

/** Field path → the value (or values) it must equal, as text, for an event to count. */
const where = z.record(
  fieldPath,
  z.preprocess(
    (v) => (Array.isArray(v) ? v : [v]),
    z.array(
      z.union([z.string(), z.number(), z.boolean()], {
        error: (i) => `expected a string, number or boolean, got ${describeValue(i.input)}`,
      }),
    ),
  ),
  { error: (i) => `expected a map of field path to value(s), got ${describeValue(i.input)}` },
)

const common = {
  name: identifier,
  /**
   * The smallest spread (in the feature's own units) a baseline is given: a user who always
   * touched one host has a MAD of 0, and a second host must not be infinitely unusual.
   */
  min_spread: z
    .number({ error: (i) => `expected a positive number, got ${describeValue(i.input)}` })
    .positive({ error: (i) => `expected a positive number, got ${describeValue(i.input)}` })
    .optional(),
}

export const featureSchema = z.discriminatedUnion(
  'kind',
  [
    /** Events in the window (those matching `where`, if given). */
    z.strictObject({
      ...common,
      kind: z.literal('count'),
      where: where.optional(),
      /** Also compared with the entity's same hour of week in the weeks before. */
      seasonal: z.boolean().default(false),
    }),
    /** The share of the window's events that match `where` (0 to 1). */
    z.strictObject({ ...common, kind: z.literal('ratio'), where }),
    /** Distinct values of `field` in the window. */
    z.strictObject({ ...common, kind: z.literal('distinct'), field: fieldPath }),
    /** The sum of `field`'s numeric values in the window. */
    z.strictObject({ ...common, kind: z.literal('sum'), field: fieldPath }),
    /** The hour of the week the window starts in, UTC: 0 is Sunday 00:00. */
    z.strictObject({ ...common, kind: z.literal('hour_of_week') }),
    /** Values of `field` this entity had never shown before (in the values it remembers). */
    z.strictObject({ ...common, kind: z.literal('first_seen'), field: fieldPath }),
  ],
  {
    error: (i) =>
      'expected kind count, ratio, distinct, sum, hour_of_week or first_seen, got ' +
      describeValue((i.input as { kind?: unknown } | undefined)?.kind),
  },
)

export const featureSetSchema = z.strictObject({
  /**
   * What alerts and correlation rules call it, e.g. `anomaly-user-behaviour`: a correlation's
   * `rules:` may name it like a rule.
   */
  id: identifier,
  title: name,
  /** The field naming the entity: `user.name`, `host.name`, `source.ip`. */
  entity: fieldPath,
  /** The length of the tumbling windows, on event time. */
  window: timespan,
  level: z.enum(['informational', 'low', 'medium', 'high', 'critical']).default('medium'),
  tags: z.array(name).default([]),
  features: z.array(featureSchema).min(1, { error: 'expected at least one feature' }),
})

export const featureSetFileSchema = z.strictObject({
  feature_sets: z.array(featureSetSchema).min(1, { error: 'expected at least one feature set' }),
})

export type Feature = z.infer<typeof featureSchema>
export type FeatureSetEntry = z.infer<typeof featureSetSchema>
export type FeatureSetFile = z.infer<typeof featureSetFileSchema>
