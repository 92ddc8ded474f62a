import type { FastifyRequest } from 'fastify'

import { PalisadeError } from '../platform/errors.ts'
import { SESSION_COOKIE } from './people-context.ts'

/** Methods that may change state (RFC 9110 §9.2.1: every method but these is unsafe). */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * CSRF protection for cookie-authenticated requests, on top of the SameSite=Strict session
 * cookie (which other sites' pages never send, but pages on a sibling host of the same site
 * do). A browser states where a request comes from: `Sec-Fetch-Site` (Fetch Metadata) and
 * `Origin` (RFC 6454 §7, sent on every non-GET request). An unsafe request is refused with
 * 403 `PAL_CROSS_ORIGIN` unless it comes from this origin: Sec-Fetch-Site same-origin, or an
 * Origin equal to `publicUrl`'s or to the host the request was sent to. As OWASP's CSRF
 * cheat sheet advises for such checks, a request with neither header is let through: it did
 * not come from a browser, which alone sends cookies on another site's behalf. A request with
 * a bearer token and no session cookie carries no ambient credential, so it cannot be forged
 * this way and is not checked; with a session cookie it is, since the cookie is what the
 * session routes read, and what the others fall back to when the header is empty.
 */
export function crossOriginCheck(publicUrl: string | undefined) {
  const trusted = publicUrl === undefined ? undefined : new URL(publicUrl).origin
  return async function checkOrigin(request: FastifyRequest): Promise<void> {
    if (SAFE_METHODS.has(request.method)) return
    const bearer = request.headers.authorization !== undefined
    if (bearer && request.cookies?.[SESSION_COOKIE] === undefined) return

    const site = request.headers['sec-fetch-site']
    const origin = request.headers.origin
    if (site === 'same-origin') return
    if (site === undefined && origin === undefined) return
    if (origin !== undefined && origin !== 'null') {
      if (origin === trusted || origin === `${request.protocol}://${request.host}`) return
    }

    throw new PalisadeError(
      'PAL_CROSS_ORIGIN',
      `expected a request from this server's own pages (${trusted ?? request.host}), got one ` +
        `from ${origin ?? 'an unnamed origin'} (Sec-Fetch-Site: ${site ?? 'absent'}); ` +
        'state-changing requests from other sites are refused',
      { status: 403, context: { origin: origin ?? null } },
    )
  }
}
