import { z } from 'zod'

import { describeValue } from '../../platform/errors.ts'

/**
 * The shape of a Sigma mapping file (the built-in `mappings/palisade.yml`, and any a user adds):
 * logsource routes with their field mappings, and placeholder values. A scalar is accepted
 * wherever a list is, so `channels: Security` and `channels: [Security]` mean the same.
 */

function oneOrMany<T extends z.ZodType>(item: T) {
  // Wrapping a scalar before validating keeps an element's error at its own index.
  return z.preprocess((v) => (v === undefined || Array.isArray(v) ? v : [v]), z.array(item))
}

/** Messages for a map: a value of another type, or keys the map does not take. */
function mapError(what: string) {
  return (issue: z.core.$ZodRawIssue): string =>
    issue.code === 'unrecognized_keys'
      ? `unknown key ${issue.keys.join(', ')}: expected only ${what}`
      : `expected a map of ${what}, got ${describeValue(issue.input)}`
}

const name = z.string({ error: (i) => `expected a string, got ${describeValue(i.input)}` }).min(1, {
  error: 'expected a non-empty string',
})

const names = oneOrMany(name)

const eventId = z
  .number({ error: (i) => `expected an event id (an integer), got ${describeValue(i.input)}` })
  .int({ error: (i) => `expected an event id (an integer), got ${describeValue(i.input)}` })
  .nonnegative({ error: (i) => `expected an event id of 0 or more, got ${describeValue(i.input)}` })

/** Sigma field name → the event's field names to try, in order. */
const fieldMap = z.record(name, names, {
  error: (i) =>
    `expected a map of Sigma field name to event field name(s), got ${describeValue(i.input)}`,
})

/** One kind of event a logsource shows up as. */
export const eventSelectorSchema = z
  .strictObject(
    {
      channels: names.optional(),
      event_ids: oneOrMany(eventId).optional(),
      datasets: names.optional(),
      appnames: names.optional(),
      any: z
        .enum(['windows', 'syslog', 'dlp'], {
          error: (i) => `expected windows, syslog or dlp, got ${describeValue(i.input)}`,
        })
        .optional(),
      fields: fieldMap.optional(),
    },
    { error: mapError('channels, event_ids, datasets, appnames, any, fields') },
  )
  .check((ctx) => {
    const s = ctx.value
    if (s.event_ids && !s.channels) {
      ctx.issues.push({
        code: 'custom',
        input: s,
        path: ['event_ids'],
        message: 'event_ids need channels: expected channels beside them',
      })
    }

    if (!s.channels && !s.datasets && !s.appnames && !s.any) {
      ctx.issues.push({
        code: 'custom',
        input: s,
        message: 'expected at least one of channels, datasets, appnames or any: which events?',
      })
    }
  })

const logsourceSchema = z.strictObject(
  { product: name.optional(), category: name.optional(), service: name.optional() },
  { error: mapError('product, category, service') },
)

export const routeSchema = z.strictObject(
  {
    logsource: logsourceSchema,
    /** How a field name with no mapping resolves; by default from the logsource's product. */
    unmapped: z
      .enum(['windows', 'path'], {
        error: (i) => `expected windows or path, got ${describeValue(i.input)}`,
      })
      .optional(),
    /** In a user file: the route replaces the one already defined instead of extending it. */
    replace: z
      .boolean({ error: (i) => `expected true or false, got ${describeValue(i.input)}` })
      .optional(),
    /** Field mappings for every kind of event of the route (an event's own `fields` win). */
    fields: fieldMap.optional(),
    events: z
      .array(eventSelectorSchema, {
        error: (i) => `expected a list of event selectors, got ${describeValue(i.input)}`,
      })
      .min(1, { error: 'expected at least one event selector' })
      .optional(),
  },
  { error: mapError('logsource, unmapped, replace, fields, events') },
)

const placeholderValue = z
  .union([z.string(), z.number()], {
    error: (i) => `expected a string or a number, got ${describeValue(i.input)}`,
  })
  .transform(String)

export const mappingFileSchema = z.strictObject(
  {
    version: z
      .literal(1, { error: (i) => `expected version 1, got ${describeValue(i.input)}` })
      .optional(),
    /** Placeholder name (without the `%`) → its value(s). */
    placeholders: z
      .record(name, oneOrMany(placeholderValue), {
        error: (i) =>
          `expected a map of placeholder name to value(s), got ${describeValue(i.input)}`,
      })
      .optional(),
    routes: z
      .array(routeSchema, {
        error: (i) => `expected a list of routes, got ${describeValue(i.input)}`,
      })
      .optional(),
  },
  { error: mapError('version, placeholders, routes') },
)

export type MappingFile = z.output<typeof mappingFileSchema>
export type RouteEntry = z.output<typeof routeSchema>
export type EventSelector = z.output<typeof eventSelectorSchema>
