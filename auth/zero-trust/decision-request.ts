import { z } from 'zod'

/** The actions the schema declares; any other is unknown and denied. */
export const accessActions = ['read', 'write', 'delete', 'admin'] as const

export const mfaMethods = ['none', 'totp', 'webauthn', 'recovery_code'] as const

/**
 * A request for a decision, shaped after the OpenID AuthZEN Authorization API's access
 * evaluation (subject, resource, action, context). Every object is strict: a field Palisade
 * does not know is refused rather than ignored, since a policy author may believe it is read.
 */
export const decisionRequestSchema = z.strictObject({
  subject: z.strictObject({
    type: z.literal('user', { error: 'expected subject.type "user"' }),
    id: z.string().min(1).max(256),
  }),
  resource: z.strictObject({
    type: z.string().min(1).max(128),
    id: z.string().min(1).max(1024),
    /** Absent is read as high: what nobody classified is treated as the most sensitive. */
    sensitivity: z.enum(['low', 'medium', 'high']).optional(),
  }),
  action: z.strictObject({
    name: z.string().min(1).max(64),
  }),
  context: z.strictObject({
    device: z
      .strictObject({
        id: z.string().min(1).max(256).optional(),
        host: z.string().min(1).max(256).optional(),
        managed: z.boolean().optional(),
        compliant: z.boolean().optional(),
        disk_encrypted: z.boolean().optional(),
        os: z.string().max(128).optional(),
      })
      .optional(),
    network: z.strictObject({
      address: z.union([z.ipv4(), z.ipv6()], { error: 'expected an IPv4 or IPv6 address' }),
    }),
    location: z.strictObject({ country: z.string().length(2).optional() }).optional(),
    /** Absent means no second factor: what was not shown was not verified. */
    mfa: z
      .strictObject({
        method: z.enum(mfaMethods),
        age_seconds: z.number().int().min(0),
      })
      .optional(),
    session: z
      .strictObject({
        id: z.string().min(1).max(256).optional(),
        age_seconds: z.number().int().min(0).optional(),
      })
      .optional(),
  }),
})

export type DecisionRequest = z.infer<typeof decisionRequestSchema>

/** Where a malformed request went wrong: the path, what was expected, what came. */
export interface InputProblem {
  path: string
  message: string
}

/** The zod issues of a refused request as path and message. */
export function inputProblems(error: z.ZodError): InputProblem[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(root)',
    message: issue.message,
  }))
}
