import { z } from 'zod'

type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 429 | 503

/** What `requireSession` answers, with `partial` (a session still waiting for its factor). */
export const PARTIAL_SESSION_401 = [
  'PAL_SESSION_REQUIRED',
  'PAL_SESSION_INVALID',
  'PAL_SESSION_EXPIRED',
]
/** What `requireSession` answers for a full session. */
export const SESSION_401 = [...PARTIAL_SESSION_401, 'PAL_MFA_REQUIRED']
/** What `requireScope` answers, for a token or a session; step-up routes add its code. */
export const SCOPE_401 = [
  'PAL_AUTH_MISSING',
  'PAL_AUTH_MALFORMED',
  'PAL_AUTH_UNKNOWN',
  'PAL_SESSION_INVALID',
  'PAL_SESSION_EXPIRED',
  'PAL_MFA_REQUIRED',
]
export const STEP_UP = 'step_up_required'

/**
 * A route's OpenAPI answers: its success (a JSON object, described by the route's summary) and
 * the errors it gives, each listing the stable codes a client must handle. Every error has the
 * shape of `errorBody`; context fields (`retry_after_seconds`, `reason`...) pass through. The
 * codes are documentation: the check accepts any code, so an unlisted one is never turned into
 * a 500 by the serialiser.
 */
export function answers(success: 200 | 201, errors: Partial<Record<ErrorStatus, string[]>>) {
  const out: Record<number, z.ZodType> = {
    [success]: z.looseObject({}).meta({ description: 'success' }),
  }
  for (const [status, codes] of Object.entries(errors)) {
    out[Number(status)] = z
      .looseObject({
        error: z.looseObject({ code: z.string().meta({ enum: codes }), message: z.string() }),
      })
      .meta({ description: codes.join(', ') })
  }
  return out
}
