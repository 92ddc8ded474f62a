import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { answers, PARTIAL_SESSION_401, SESSION_401 } from './error-responses.ts'
import { z } from 'zod'

import {
  ATTEMPT_RULES,
  attemptKey,
  clearFailures,
  lockedKey,
  recordFailure,
} from '../../auth/attempt-limiter.ts'
import type { AttemptKey } from '../../auth/attempt-limiter.ts'
import type { AuthEvent } from '../../auth/auth-events.ts'
import { decoyHash, hashPassword, verifyPassword } from '../../auth/password-hash.ts'
import { hashRecoveryCode } from '../../auth/recovery-codes.ts'
import { checkTotp, TOTP_CODE } from '../../auth/totp-factor.ts'
import { authenticationOptions, verifyAssertion } from '../../auth/webauthn-ceremonies.ts'
import type { AuthenticationResponseJSON } from '@simplewebauthn/server'
import { PalisadeError } from '../../platform/errors.ts'
import {
  createSession,
  deleteSession,
  deleteUserSessions,
  findSession,
} from '../../platform/state/sessions.ts'
import type { StateDb } from '../../platform/state/state-store.ts'
import {
  findUserByName,
  hasSecondFactor,
  hashEnrolmentToken,
  publicUser,
  updateUser,
} from '../../platform/state/users.ts'
import type { UserRow } from '../../platform/state/users.ts'
import { requireSession } from '../auth.ts'
import { clearSessionCookie, SESSION_COOKIE, setSessionCookie } from '../people-context.ts'
import type { PeopleContext } from '../people-context.ts'
import { authenticationResponse } from './webauthn-schemas.ts'
import {
  completeFactor,
  describeSession,
  factorSummary,
  kekMissing,
  rpFor,
} from '../complete-factor.ts'

export interface SessionRouteDeps {
  db: StateDb
  people: PeopleContext
}

const signInBody = z.strictObject({
  name: z.string().min(1).max(100),
  password: z.string().min(1).max(1024),
})

/** SP 800-63B §5.1.1.2: at least 8 characters with MFA, and at least 64 allowed. */
const newPassword = z
  .string()
  .min(12, { error: 'expected a password of at least 12 characters' })
  .max(256, { error: 'expected a password of at most 256 characters' })

/**
 * People signing in: a password, then a second factor when they have one (TOTP, a WebAuthn
 * credential or a recovery code), each ending with a new session id; sign-out here or
 * everywhere; and the one-time enrolment that sets a new user's password. Every attempt,
 * failure and lockout is an auth event (audit entry and pipeline event).
 */
export const sessionRoutes: FastifyPluginAsyncZod<SessionRouteDeps> = async (app, deps) => {
  const { db, people } = deps
  const partial = requireSession(db, { partial: true })
  const full = requireSession(db)

  app.post(
    '/v1/session',
    {
      schema: {
        summary: 'Sign in with a name and password',
        description:
          'Sets the session cookie. When the user has a second factor, `mfa_required` is ' +
          'true and the session may only verify it (401 PAL_MFA_REQUIRED elsewhere). ' +
          'Errors: 401 PAL_SIGN_IN_FAILED, 429 PAL_LOCKED_OUT.',
        tags: ['session'],
        response: answers(201, {
          400: ['PAL_INVALID_REQUEST'],
          401: ['PAL_SIGN_IN_FAILED'],
          429: ['PAL_LOCKED_OUT'],
        }),
        security: [],
        body: signInBody,
      },
    },
    async (request, reply) => {
      const now = people.now()
      const { name, password } = request.body
      const ip = request.ip
      const keys = [
        attemptKey(ATTEMPT_RULES.pair, `${name}|${ip}`),
        attemptKey(ATTEMPT_RULES.address, ip),
      ]
      const base = { user: { name }, ip, factor: 'password', time: now }
      await refuseIfLocked(db, people, keys, { ...base, action: 'sign_in' }, now)

      const user = await findUserByName(db, name)
      const usable = user && user.password_hash !== null && user.disabled_at === null
      const matches = await verifyPassword(
        usable ? user.password_hash! : await decoyHash(),
        password,
      )
      if (!usable || !matches) {
        const reason = !user ? 'unknown_user' : !usable ? 'not_enrolled' : 'wrong_password'
        const event = { ...base, user: { id: user?.id, name } }
        await failAttempt(db, people, keys, { ...event, action: 'sign_in', reason }, now)
        throw new PalisadeError('PAL_SIGN_IN_FAILED', 'the name or the password is wrong', {
          status: 401,
        })
      }
      await clearFailures(db, keys)

      // A new id at sign-in, whatever cookie came (OWASP: session fixation).
      const old = request.cookies[SESSION_COOKIE]
      if (old) {
        const previous = await findSession(db, old)
        if (previous) await deleteSession(db, previous.id)
      }
      const { cookie, row } = await createSession(db, user.id, now)
      setSessionCookie(request, reply, cookie, people.absoluteMs)
      const mfaRequired = await hasSecondFactor(db, user)
      const who = { id: user.id, name: user.name }
      await people.events.record({ ...base, user: who, action: 'sign_in', outcome: 'success' })
      if (mfaRequired) {
        await people.events.record({ ...base, user: who, action: 'mfa_prompt', outcome: 'success' })
      }
      return reply.status(201).send({
        user: publicUser(user),
        mfa_required: mfaRequired,
        factors: await factorSummary(db, user),
        expires_at: new Date(new Date(row.created_at).getTime() + people.absoluteMs).toISOString(),
      })
    },
  )

  app.get(
    '/v1/session',
    {
      onRequest: partial,
      schema: {
        summary: 'The signed-in user, their factors and step-up freshness',
        tags: ['session'],
        response: answers(200, { 401: PARTIAL_SESSION_401 }),
      },
    },
    async (request) => describeSession(db, people, request.signedIn!),
  )

  app.delete(
    '/v1/session',
    {
      onRequest: partial,
      schema: {
        summary: 'Sign out: end this session',
        tags: ['session'],
        response: answers(200, { 401: PARTIAL_SESSION_401 }),
      },
    },
    async (request, reply) => {
      const { session, user } = request.signedIn!
      await deleteSession(db, session.id)
      clearSessionCookie(request, reply)
      await people.events.record({
        action: 'sign_out',
        outcome: 'success',
        user: { id: user.id, name: user.name },
        ip: request.ip,
        time: people.now(),
      })
      return reply.status(204).send()
    },
  )

  app.delete(
    '/v1/sessions',
    {
      onRequest: full,
      schema: {
        summary: "Sign out everywhere: end all of this user's sessions",
        tags: ['session'],
        response: answers(200, { 401: SESSION_401 }),
      },
    },
    async (request, reply) => {
      const { user } = request.signedIn!
      const ended = await deleteUserSessions(db, user.id)
      clearSessionCookie(request, reply)
      await people.events.record({
        action: 'sign_out',
        outcome: 'success',
        user: { id: user.id, name: user.name },
        ip: request.ip,
        details: { everywhere: true, sessions: ended },
        time: people.now(),
      })
      return { ended }
    },
  )

  app.post(
    '/v1/session/totp',
    {
      onRequest: partial,
      schema: {
        summary: 'Verify a TOTP code: completes sign-in, or steps up',
        description:
          'Errors: 400 PAL_INVALID_REQUEST (not six digits), 401 PAL_TOTP_REFUSED (wrong, ' +
          'outside one step of drift, or used before), 409 PAL_FACTOR_ABSENT, 429 PAL_LOCKED_OUT.',
        tags: ['session'],
        response: answers(200, {
          400: ['PAL_INVALID_REQUEST'],
          401: [...PARTIAL_SESSION_401, 'PAL_TOTP_REFUSED'],
          409: ['PAL_FACTOR_ABSENT'],
          429: ['PAL_LOCKED_OUT'],
          503: ['PAL_KEK_MISSING'],
        }),
        body: z.strictObject({
          code: z.string().regex(TOTP_CODE, { error: 'expected a code of six digits' }),
        }),
      },
    },
    async (request, reply) => {
      const signedIn = request.signedIn!
      const { user } = signedIn
      const now = people.now()
      const keys = factorKeys(user, request.ip)
      const base = baseEvent(user, request.ip, 'totp', now)
      await refuseIfLocked(db, people, keys, { ...base, action: 'mfa_verify' }, now)

      if (user.totp_confirmed !== 1 || user.totp_secret === null) {
        throw new PalisadeError('PAL_FACTOR_ABSENT', 'this user has no TOTP authenticator', {
          status: 409,
        })
      }
      const secret = openTotpSecret(people, user)
      const check = await checkTotp(secret, request.body.code, now.getTime(), lastStep(user))
      // Claim the step in one conditional write, so two requests racing with one code cannot
      // both pass (RFC 6238 §5.2).
      const claimed = check.ok && (await claimStep(db, user, check.step))
      if (!check.ok || !claimed) {
        const reason = check.ok ? 'replayed' : check.reason
        await failAttempt(db, people, keys, { ...base, action: 'mfa_verify', reason }, now)
        throw new PalisadeError(
          'PAL_TOTP_REFUSED',
          reason === 'replayed'
            ? 'this code was already used; wait for the next one'
            : 'the code is wrong or outside the allowed clock drift of one 30-second step',
          { status: 401, context: { reason } },
        )
      }
      await clearFailures(db, keys)
      return completeFactor(db, people, request, reply, signedIn, 'totp')
    },
  )

  app.post(
    '/v1/session/recovery-code',
    {
      onRequest: partial,
      schema: {
        summary: 'Use a recovery code instead of a second factor (each works once)',
        description: 'Errors: 401 PAL_RECOVERY_CODE_REFUSED, 429 PAL_LOCKED_OUT.',
        tags: ['session'],
        response: answers(200, {
          400: ['PAL_INVALID_REQUEST'],
          401: [...PARTIAL_SESSION_401, 'PAL_RECOVERY_CODE_REFUSED'],
          429: ['PAL_LOCKED_OUT'],
        }),
        body: z.strictObject({ code: z.string().min(1).max(64) }),
      },
    },
    async (request, reply) => {
      const signedIn = request.signedIn!
      const { user } = signedIn
      const now = people.now()
      const keys = factorKeys(user, request.ip)
      const base = baseEvent(user, request.ip, 'recovery_code', now)
      await refuseIfLocked(db, people, keys, { ...base, action: 'mfa_verify' }, now)

      const used = await db
        .updateTable('recovery_codes')
        .set({ used_at: now.toISOString() })
        .where('code_hash', '=', hashRecoveryCode(user.id, request.body.code))
        .where('user_id', '=', user.id)
        .where('used_at', 'is', null)
        .executeTakeFirst()
      if (Number(used.numUpdatedRows) !== 1) {
        await failAttempt(db, people, keys, { ...base, action: 'mfa_verify', reason: 'wrong' }, now)
        throw new PalisadeError(
          'PAL_RECOVERY_CODE_REFUSED',
          'the recovery code is wrong or was already used',
          { status: 401 },
        )
      }
      await clearFailures(db, keys)
      return completeFactor(db, people, request, reply, signedIn, 'recovery_code')
    },
  )

  app.post(
    '/v1/session/webauthn/options',
    {
      onRequest: partial,
      schema: {
        summary: 'A WebAuthn challenge for one of the user\u2019s credentials',
        description:
          'User verification is required when the session already has a second factor ' +
          '(step-up), preferred otherwise. Errors: 409 PAL_FACTOR_ABSENT.',
        tags: ['session'],
        response: answers(200, { 401: PARTIAL_SESSION_401, 409: ['PAL_FACTOR_ABSENT'] }),
      },
    },
    async (request) => {
      const { session, user } = request.signedIn!
      const verification = session.mfa_at === null ? 'preferred' : 'required'
      return authenticationOptions(
        db,
        rpFor(people),
        user.id,
        session.id,
        verification,
        people.now(),
      )
    },
  )

  app.post(
    '/v1/session/webauthn',
    {
      onRequest: partial,
      schema: {
        summary: 'Answer the WebAuthn challenge: completes sign-in, or steps up',
        description:
          'Errors: 400 PAL_INVALID_REQUEST (malformed), 400 PAL_WEBAUTHN_NO_CHALLENGE ' +
          '(none pending, expired, or already answered), 400 PAL_WEBAUTHN_REFUSED (wrong ' +
          'challenge, origin, RP id, signature or missing user verification), 401 ' +
          'PAL_CLONED_AUTHENTICATOR (sign counter did not grow), 429 PAL_LOCKED_OUT.',
        tags: ['session'],
        response: answers(200, {
          400: ['PAL_INVALID_REQUEST', 'PAL_WEBAUTHN_NO_CHALLENGE', 'PAL_WEBAUTHN_REFUSED'],
          401: [...PARTIAL_SESSION_401, 'PAL_CLONED_AUTHENTICATOR'],
          429: ['PAL_LOCKED_OUT'],
        }),
        body: authenticationResponse,
      },
    },
    async (request, reply) => {
      const signedIn = request.signedIn!
      const { session, user } = signedIn
      const now = people.now()
      const keys = factorKeys(user, request.ip)
      const base = baseEvent(user, request.ip, 'webauthn', now)
      await refuseIfLocked(db, people, keys, { ...base, action: 'mfa_verify' }, now)

      const stepUp = session.mfa_at !== null
      let result
      try {
        result = await verifyAssertion(
          db,
          rpFor(people),
          user.id,
          session.id,
          request.body as AuthenticationResponseJSON,
          stepUp,
          now,
        )
      } catch (error) {
        if (error instanceof PalisadeError) {
          const reason = error.code === 'PAL_WEBAUTHN_NO_CHALLENGE' ? 'no_challenge' : 'refused'
          await failAttempt(db, people, keys, { ...base, action: 'mfa_verify', reason }, now)
        }
        throw error
      }
      if (!result.ok) {
        await people.events.record({
          ...base,
          action: 'cloned_authenticator',
          outcome: 'failure',
          reason: 'counter_not_increased',
          details: {
            authenticator_id: result.credential.id.slice(0, 256),
            stored_counter: result.stored,
            received_counter: result.received,
          },
        })
        throw new PalisadeError(
          'PAL_CLONED_AUTHENTICATOR',
          `the authenticator's sign counter went from ${result.stored} to ${result.received}: ` +
            'it may be cloned, so it is refused; an alert was raised',
          { status: 401, context: { authenticator_id: result.credential.id } },
        )
      }
      await clearFailures(db, keys)
      return completeFactor(db, people, request, reply, signedIn, 'webauthn')
    },
  )

  app.post(
    '/v1/enrolment',
    {
      schema: {
        summary: 'Use a one-time enrolment token to set a new user\u2019s password',
        description: 'Errors: 401 PAL_ENROLMENT_INVALID (unknown, used or expired token).',
        tags: ['session'],
        response: answers(200, { 400: ['PAL_INVALID_REQUEST'], 401: ['PAL_ENROLMENT_INVALID'] }),
        security: [],
        body: z.strictObject({ token: z.string().min(1).max(200), password: newPassword }),
      },
    },
    async (request, reply) => {
      const now = people.now()
      const user = await db
        .selectFrom('users')
        .selectAll()
        .where('enrolment_hash', '=', hashEnrolmentToken(request.body.token))
        .executeTakeFirst()
      const live =
        user &&
        user.disabled_at === null &&
        user.enrolment_expires_at !== null &&
        new Date(user.enrolment_expires_at) > now
      if (!live) {
        throw new PalisadeError(
          'PAL_ENROLMENT_INVALID',
          'the enrolment token is unknown, already used or expired; ask an admin for a new one',
          { status: 401 },
        )
      }
      await updateUser(db, user.id, {
        password_hash: await hashPassword(request.body.password),
        enrolment_hash: null,
        enrolment_expires_at: null,
      })
      await people.events.record({
        action: 'enrol',
        outcome: 'success',
        user: { id: user.id, name: user.name },
        ip: request.ip,
        factor: 'password',
        time: now,
      })
      return reply.status(204).send()
    },
  )
}

function baseEvent(user: UserRow, ip: string, factor: string, time: Date) {
  return { user: { id: user.id, name: user.name }, ip, factor, time }
}

/** A second factor is limited per (user, address) and, more slowly, per user. */
function factorKeys(user: UserRow, ip: string): AttemptKey[] {
  return [
    attemptKey(ATTEMPT_RULES.pair, `${user.name}|${ip}`),
    attemptKey(ATTEMPT_RULES.user, user.id),
  ]
}

type EventBase = Omit<AuthEvent, 'action' | 'outcome'>

/** Refuses an attempt while one of its keys is locked, recorded as a failed `attempt.action`. */
async function refuseIfLocked(
  db: StateDb,
  people: PeopleContext,
  keys: AttemptKey[],
  attempt: EventBase & { action: 'sign_in' | 'mfa_verify' },
  now: Date,
): Promise<void> {
  const locked = await lockedKey(db, keys, now)
  if (!locked) return
  const retryAfter = Math.ceil((locked.until.getTime() - now.getTime()) / 1000)
  await people.events.record({
    ...attempt,
    outcome: 'failure',
    reason: 'locked',
    details: { locked_by: locked.key.rule.kind },
  })
  throw new PalisadeError(
    'PAL_LOCKED_OUT',
    `too many failed attempts (${locked.key.rule.kind} limit); try again in ${retryAfter} s`,
    { status: 429, context: { retry_after_seconds: retryAfter, limit: locked.key.rule.kind } },
  )
}

async function failAttempt(
  db: StateDb,
  people: PeopleContext,
  keys: AttemptKey[],
  event: Omit<AuthEvent, 'outcome'>,
  now: Date,
): Promise<void> {
  await people.events.record({ ...event, outcome: 'failure' })
  for (const key of await recordFailure(db, keys, now)) {
    await people.events.record({
      ...event,
      action: 'lockout',
      outcome: 'success',
      details: { limit: key.rule.kind, minutes: key.rule.lockMs / 60_000 },
    })
  }
}

function openTotpSecret(people: PeopleContext, user: UserRow): string {
  if (!people.secrets) throw kekMissing()
  return people.secrets.open(user.totp_secret!, `totp:${user.id}`).toString('utf8')
}

function lastStep(user: UserRow): number | null {
  return user.totp_last_step === null ? null : Number(user.totp_last_step)
}

async function claimStep(db: StateDb, user: UserRow, step: number): Promise<boolean> {
  const result = await db
    .updateTable('users')
    .set({ totp_last_step: step })
    .where('id', '=', user.id)
    .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]))
    .executeTakeFirst()
  return Number(result.numUpdatedRows) === 1
}
