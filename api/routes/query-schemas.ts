import { z } from 'zod'

import { alertLevels } from '../../platform/alert-model.ts'

const rfc3339 = z.iso.datetime({ offset: true, error: 'expected an RFC 3339 date-time' })

/** Query parameters every list endpoint shares. */
export const pageQuery = z.object({
  from: rfc3339.optional(),
  to: rfc3339.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(500).optional(),
})

export const eventQuery = pageQuery.extend({
  q: z.string().min(1).max(200).optional(),
})

export const alertQuery = pageQuery.extend({
  rule_id: z.string().max(200).optional(),
  level: z.enum(alertLevels).optional(),
  q: z.string().min(1).max(200).optional(),
})

export const deadLetterQuery = pageQuery.extend({
  status: z.enum(['pending', 'replayed', 'failed_again']).optional(),
})

export const pageOf = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), next_cursor: z.string().nullable() })
