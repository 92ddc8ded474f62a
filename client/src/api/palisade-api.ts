/** One second factor as `GET /v1/me/factors` and the session answers list it. */
export interface SecurityKey {
  id: string
  name: string
  created_at: string
  last_used_at: string | null
}

export interface Factors {
  totp: boolean
  /** The start of the 30-second step of the last code accepted. */
  totp_last_used_at: string | null
  webauthn: SecurityKey[]
  recovery_codes_left: number
  recovery_code_last_used_at: string | null
}

export interface SessionInfo {
  user: { id: string; name: string; role: string }
  mfa_required: boolean
  mfa_at: string | null
  mfa_method: string | null
  step_up_until: string | null
  factors: Factors
}

/**
 * An answer of the API that is not a success, with its stable code (`PAL_…` or
 * `step_up_required`), status and context fields (`reason`, `retry_after_seconds`…). A request
 * that got no answer at all has the code `NETWORK` and status 0.
 */
export class ApiError extends Error {
  readonly code: string
  readonly status: number
  readonly context: Record<string, unknown>

  constructor(code: string, status: number, message: string, context: Record<string, unknown>) {
    super(message)
    this.name = 'ApiError'
    this.code = code
    this.status = status
    this.context = context
  }
}

/**
 * Calls the API on this page's own origin. The session cookie is httpOnly, so no script ever
 * holds it; the browser sends it, and its Origin header, which the API checks on every
 * state-changing request (api/cross-origin-check.ts). Answers are never cached.
 */
export async function callApi<T>(
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<T> {
  let response: Response
  try {
    response = await fetch(path, {
      method,
      credentials: 'same-origin',
      cache: 'no-store',
      // Fastify refuses an empty body declared as JSON, so a bodiless call declares none.
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    })
  } catch (error) {
    throw new ApiError('NETWORK', 0, (error as Error).message, {})
  }
  if (response.status === 204) return undefined as T

  const parsed: unknown = await response.json().catch(() => undefined)
  if (response.ok) return parsed as T
  const error = (parsed as { error?: Record<string, unknown> } | undefined)?.error ?? {}
  const code = typeof error['code'] === 'string' ? error['code'] : `HTTP_${response.status}`
  const message = typeof error['message'] === 'string' ? error['message'] : response.statusText
  throw new ApiError(code, response.status, message, error)
}
