// The cookie plugin's types add request.cookies and reply.setCookie to Fastify's.
import type {} from '@fastify/cookie'
import type { FastifyReply, FastifyRequest } from 'fastify'

import type { AuthEvents } from '../auth/auth-events.ts'
import type { SecretBox } from '../auth/secret-box.ts'
import type { SessionRow } from '../platform/state/sessions.ts'
import type { UserRow } from '../platform/state/users.ts'

/** The cookie holding a session id. */
export const SESSION_COOKIE = 'palisade_session'

/** What the people routes and the session check share, decorated on the app as `people`. */
export interface PeopleContext {
  idleMs: number
  absoluteMs: number
  stepUpMs: number
  enrolmentMs: number
  issuer: string
  /** The origin people's browsers show (enrolment links, WebAuthn origin and RP id). */
  publicUrl: string | undefined
  attestation: 'none' | 'direct'
  /** Absent when no key-encryption key is configured: TOTP enrolment is then refused. */
  secrets: SecretBox | undefined
  events: AuthEvents
  /** The clock, so tests can move time; `() => new Date()` in production. */
  now: () => Date
}

export interface SignedIn {
  session: SessionRow
  user: UserRow
}

declare module 'fastify' {
  interface FastifyInstance {
    people?: PeopleContext
  }
  interface FastifyRequest {
    signedIn?: SignedIn
  }
}

/**
 * Sets the session cookie: httpOnly (no script reads it), SameSite=Strict (no other site's
 * page sends it, which is our CSRF defence) and Secure. Secure is left off only when the
 * request came over plain HTTP to a loopback address: a browser never sends a Secure cookie
 * over http, and `palisade start` listens on http://127.0.0.1 by default, where nothing
 * crosses a network. `Path=/` and no Domain, so only this host gets it.
 */
export function setSessionCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  value: string,
  maxAgeMs: number,
): void {
  reply.setCookie(SESSION_COOKIE, value, {
    httpOnly: true,
    sameSite: 'strict',
    secure: !plainLoopback(request),
    path: '/',
    maxAge: Math.floor(maxAgeMs / 1000),
  })
}

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, {
    httpOnly: true,
    sameSite: 'strict',
    secure: !plainLoopback(request),
    path: '/',
  })
}

function plainLoopback(request: FastifyRequest): boolean {
  if (request.protocol !== 'http') return false
  const local = request.socket.localAddress ?? ''
  return local === '::1' || local.startsWith('127.') || local === '::ffff:127.0.0.1'
}
