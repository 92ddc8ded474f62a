import { z } from 'zod'

import { alertLevels } from '../../platform/alert-model.ts'

const rfc3339 = z.iso.datetime({ offset: true, error: 'expected an RFC 3339 date-time' })

const pageFields = {
  from: rfc3339.optional(),
  to: rfc3339.optional(),
  limit: z.coerce
    .number({ error: 'expected an integer from 1 to 1000, given once' })
    .int()
    .min(1)
    .max(1000)
    .default(100),
  cursor: z.string().max(500).optional(),
}

/** An empty range is a mistake worth saying, not an empty page. */
function fromBeforeTo<T extends { from?: string; to?: string }>(query: T, ctx: z.RefinementCtx) {
  if (query.from && query.to && Date.parse(query.from) >= Date.parse(query.to)) {
    ctx.addIssue({
      code: 'custom',
      path: ['from'],
      message: `expected from before to, got from=${query.from} and to=${query.to}`,
    })
  }
}

/** Query parameters every list endpoint shares. */
export const pageQuery = z.object(pageFields).superRefine(fromBeforeTo)

export const eventQuery = z
  .object({ ...pageFields, q: z.string().min(1).max(200).optional() })
  .superRefine(fromBeforeTo)

export const alertQuery = z
  .object({
    ...pageFields,
    rule_id: z.string().max(200).optional(),
    level: z.enum(alertLevels).optional(),
    q: z.string().min(1).max(200).optional(),
    origin: z
      .enum(['stream', 'hunt'], { error: 'expected stream or hunt' })
      .optional()
      .meta({ description: "Only the stream's alerts, or only hunts' (default: both)" }),
    hunt_id: z.uuid({ error: 'expected a hunt id (a UUID)' }).optional(),
  })
  .superRefine(fromBeforeTo)

export const deadLetterQuery = z
  .object({
    ...pageFields,
    status: z.enum(['pending', 'replayed', 'failed_again']).optional(),
  })
  .superRefine(fromBeforeTo)

export const pageOf = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), next_cursor: z.string().nullable() })
