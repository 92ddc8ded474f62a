import type { FastifyReply, FastifyRequest } from 'fastify'

import { TOTP_PERIOD } from '../auth/totp-factor.ts'
import { listCredentials, relyingParty } from '../auth/webauthn-ceremonies.ts'
import type { RelyingParty } from '../auth/webauthn-ceremonies.ts'
import { PalisadeError } from '../platform/errors.ts'
import { createSession, deleteSession } from '../platform/state/sessions.ts'
import type { StateDb } from '../platform/state/state-store.ts'
import { hasSecondFactor, publicUser } from '../platform/state/users.ts'
import type { UserRow } from '../platform/state/users.ts'
import { setSessionCookie } from './people-context.ts'
import type { PeopleContext, SignedIn } from './people-context.ts'

/**
 * A second factor verified: the session is replaced by one with a new id that records the
 * factor and its time (a privilege change, OWASP Session Management: renew the id), and the
 * event is recorded.
 */
export async function completeFactor(
  db: StateDb,
  people: PeopleContext,
  request: FastifyRequest,
  reply: FastifyReply,
  { session, user }: SignedIn,
  method: string,
) {
  const now = people.now()
  const { cookie, row } = await createSession(db, user.id, now, {
    created_at: session.created_at,
    mfa_at: now.toISOString(),
    mfa_method: method,
  })
  await deleteSession(db, session.id)
  setSessionCookie(request, reply, cookie, people.absoluteMs)
  request.signedIn = { session: row, user }
  await people.events.record({
    user: { id: user.id, name: user.name },
    ip: request.ip,
    factor: method,
    time: now,
    action: 'mfa_verify',
    outcome: 'success',
    details: { step_up: session.mfa_at !== null },
  })
  return describeSession(db, people, { session: row, user })
}

/** What `GET /v1/session` answers: the user, their factors, and how fresh the second one is. */
export async function describeSession(
  db: StateDb,
  people: PeopleContext,
  { session, user }: SignedIn,
) {
  const mfaAt = session.mfa_at === null ? null : new Date(session.mfa_at).getTime()
  return {
    user: publicUser(user),
    mfa_required: session.mfa_at === null && (await hasSecondFactor(db, user)),
    mfa_at: session.mfa_at,
    mfa_method: session.mfa_method,
    step_up_until: mfaAt === null ? null : new Date(mfaAt + people.stepUpMs).toISOString(),
    expires_at: new Date(new Date(session.created_at).getTime() + people.absoluteMs).toISOString(),
    factors: await factorSummary(db, user),
  }
}

/** The relying party people's browsers talk to. */
export function rpFor(people: PeopleContext): RelyingParty {
  return relyingParty(people.publicUrl ?? 'http://localhost', people.issuer, people.attestation)
}

/**
 * What second factors a user has and when each was last used, without any secret. TOTP's
 * last use is the start of the 30-second step of the last code accepted (the confirming code
 * of its enrolment counts), read afresh because a sign-in may have just claimed a step.
 */
export async function factorSummary(db: StateDb, user: UserRow) {
  const credentials = await listCredentials(db, user.id)
  const codes = await db
    .selectFrom('recovery_codes')
    .select(['used_at'])
    .where('user_id', '=', user.id)
    .execute()
  const totp = await db
    .selectFrom('users')
    .select(['totp_confirmed', 'totp_last_step'])
    .where('id', '=', user.id)
    .executeTakeFirst()
  const confirmed = (totp?.totp_confirmed ?? user.totp_confirmed) === 1
  const step = totp?.totp_last_step ?? null
  const used = codes.flatMap((c) => (c.used_at === null ? [] : [c.used_at])).sort()
  return {
    totp: confirmed,
    totp_last_used_at:
      confirmed && step !== null ? new Date(Number(step) * TOTP_PERIOD * 1000).toISOString() : null,
    webauthn: credentials.map((c) => ({
      id: c.id,
      name: c.name,
      created_at: c.created_at,
      last_used_at: c.last_used_at,
    })),
    recovery_codes_left: codes.length - used.length,
    recovery_code_last_used_at: used.at(-1) ?? null,
  }
}

export function kekMissing(): PalisadeError {
  return new PalisadeError(
    'PAL_KEK_MISSING',
    'no key-encryption key for TOTP secrets: set the environment variable named by ' +
      'people.kekEnv (PALISADE_KEK) to 32 random bytes in base64',
    { status: 503 },
  )
}
