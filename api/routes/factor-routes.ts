import type { RegistrationResponseJSON } from '@simplewebauthn/server'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { answers, SESSION_401, STEP_UP } from './error-responses.ts'
import { z } from 'zod'

import {
  hashRecoveryCode,
  newRecoveryCode,
  RECOVERY_CODE_COUNT,
} from '../../auth/recovery-codes.ts'
import { checkTotp, newTotpSecret, TOTP_CODE, totpEnrolment } from '../../auth/totp-factor.ts'
import { registerCredential, registrationOptions } from '../../auth/webauthn-ceremonies.ts'
import { PalisadeError } from '../../platform/errors.ts'
import type { StateDb } from '../../platform/state/state-store.ts'
import { findUser, hasSecondFactor, updateUser } from '../../platform/state/users.ts'
import { requireRecentFactor, requireSession } from '../auth.ts'
import type { PeopleContext, SignedIn } from '../people-context.ts'
import { completeFactor, factorSummary, kekMissing, rpFor } from '../complete-factor.ts'
import { registrationResponse } from './webauthn-schemas.ts'

export interface FactorRouteDeps {
  db: StateDb
  people: PeopleContext
}

/**
 * A person's own second factors. The first factor may be added on a fresh session; once a
 * user has one, adding, replacing or removing any needs a recent second factor (step-up),
 * so a stolen session alone cannot plant the thief's authenticator.
 */
export const factorRoutes: FastifyPluginAsyncZod<FactorRouteDeps> = async (app, deps) => {
  const { db, people } = deps
  const session = requireSession(db)
  const stepUpIfFactor = async (signedIn: SignedIn) => {
    if (await hasSecondFactor(db, signedIn.user)) requireRecentFactor(people, signedIn)
  }
  const factorChanged = (
    signedIn: SignedIn,
    ip: string,
    action: 'factor_add' | 'factor_remove',
    factor: string,
    details?: Record<string, boolean>,
  ) =>
    people.events.record({
      action,
      outcome: 'success',
      user: { id: signedIn.user.id, name: signedIn.user.name },
      ip,
      factor,
      time: people.now(),
      ...(details && { details }),
    })

  app.get(
    '/v1/me/factors',
    {
      onRequest: session,
      schema: {
        summary: 'My second factors',
        tags: ['factors'],
        response: answers(200, { 401: SESSION_401 }),
      },
    },
    async (request) => factorSummary(db, request.signedIn!.user),
  )

  app.post(
    '/v1/me/totp',
    {
      onRequest: session,
      schema: {
        summary: 'Start TOTP enrolment: a new secret as an otpauth URI and a QR code',
        description:
          'The secret is stored encrypted and takes effect once a code from it is confirmed; ' +
          'until then a TOTP authenticator already confirmed keeps working. ' +
          'Errors: 401 step_up_required, 503 PAL_KEK_MISSING.',
        tags: ['factors'],
        response: answers(200, { 401: [...SESSION_401, STEP_UP], 503: ['PAL_KEK_MISSING'] }),
      },
    },
    async (request) => {
      const signedIn = request.signedIn!
      await stepUpIfFactor(signedIn)
      if (!people.secrets) throw kekMissing()
      const { user } = signedIn
      const secret = newTotpSecret()
      // Only the pending secret is written: switching the confirmed one off here would leave
      // the account on its password alone, unaudited, whenever a re-enrolment is abandoned.
      await updateUser(db, user.id, {
        totp_pending_secret: people.secrets.seal(Buffer.from(secret, 'utf8'), `totp:${user.id}`),
      })
      const { uri, qrSvg } = await totpEnrolment(people.issuer, user.name, secret)
      return { otpauth_uri: uri, qr_svg: qrSvg }
    },
  )

  app.post(
    '/v1/me/totp/confirm',
    {
      onRequest: session,
      schema: {
        summary: 'Confirm TOTP enrolment with a code from the new secret',
        description: 'Errors: 401 PAL_TOTP_REFUSED, 409 PAL_FACTOR_ABSENT.',
        tags: ['factors'],
        response: answers(200, {
          400: ['PAL_INVALID_REQUEST'],
          401: [...SESSION_401, 'PAL_TOTP_REFUSED'],
          409: ['PAL_FACTOR_ABSENT'],
        }),
        body: z.strictObject({
          code: z.string().regex(TOTP_CODE, { error: 'expected a code of six digits' }),
        }),
      },
    },
    async (request, reply) => {
      const signedIn = request.signedIn!
      const { user } = signedIn
      if (user.totp_pending_secret === null) {
        throw new PalisadeError(
          'PAL_FACTOR_ABSENT',
          'no TOTP enrolment is pending: POST /v1/me/totp',
          {
            status: 409,
          },
        )
      }
      if (!people.secrets) throw kekMissing()
      const pending = user.totp_pending_secret
      const secret = people.secrets.open(pending, `totp:${user.id}`).toString('utf8')
      const check = await checkTotp(secret, request.body.code, people.now().getTime(), null)
      if (!check.ok) {
        throw new PalisadeError('PAL_TOTP_REFUSED', 'the code does not match the new secret', {
          status: 401,
          context: { reason: check.reason },
        })
      }
      const replaced = user.totp_confirmed === 1
      await updateUser(db, user.id, {
        totp_secret: pending,
        totp_pending_secret: null,
        totp_confirmed: 1,
        totp_last_step: check.step,
      })
      await factorChanged(signedIn, request.ip, 'factor_add', 'totp', { replaced })
      const updated = (await findUser(db, user.id))!
      return completeFactor(db, people, request, reply, { ...signedIn, user: updated }, 'totp')
    },
  )

  app.delete(
    '/v1/me/totp',
    {
      onRequest: session,
      schema: {
        summary: 'Remove my TOTP authenticator (step-up)',
        tags: ['factors'],
        response: answers(200, { 401: [...SESSION_401, STEP_UP] }),
      },
    },
    async (request, reply) => {
      const signedIn = request.signedIn!
      requireRecentFactor(people, signedIn)
      await updateUser(db, signedIn.user.id, {
        totp_secret: null,
        totp_pending_secret: null,
        totp_confirmed: 0,
        totp_last_step: null,
      })
      await factorChanged(signedIn, request.ip, 'factor_remove', 'totp')
      return reply.status(204).send()
    },
  )

  app.post(
    '/v1/me/recovery-codes',
    {
      onRequest: session,
      schema: {
        summary: 'Ten new recovery codes, shown once; the old ones stop working (step-up)',
        tags: ['factors'],
        response: answers(200, { 401: [...SESSION_401, STEP_UP] }),
      },
    },
    async (request) => {
      const signedIn = request.signedIn!
      requireRecentFactor(people, signedIn)
      const { user } = signedIn
      const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode)
      const now = people.now().toISOString()
      await db.deleteFrom('recovery_codes').where('user_id', '=', user.id).execute()
      await db
        .insertInto('recovery_codes')
        .values(
          codes.map((code) => ({
            code_hash: hashRecoveryCode(user.id, code),
            user_id: user.id,
            created_at: now,
            used_at: null,
          })),
        )
        .execute()
      await factorChanged(signedIn, request.ip, 'factor_add', 'recovery_code')
      return { codes }
    },
  )

  app.post(
    '/v1/me/webauthn/registration-options',
    {
      onRequest: session,
      schema: {
        summary: 'Options to register a security key or passkey',
        description: 'Errors: 401 step_up_required (when a factor exists).',
        tags: ['factors'],
        response: answers(200, { 401: [...SESSION_401, STEP_UP] }),
      },
    },
    async (request) => {
      const signedIn = request.signedIn!
      await stepUpIfFactor(signedIn)
      const { user, session: s } = signedIn
      return registrationOptions(db, rpFor(people), user, s.id, people.now())
    },
  )

  app.post(
    '/v1/me/webauthn/credentials',
    {
      onRequest: session,
      schema: {
        summary: 'Register a security key or passkey from its attestation response',
        description:
          'Errors: 400 PAL_INVALID_REQUEST, PAL_WEBAUTHN_NO_CHALLENGE, PAL_WEBAUTHN_REFUSED, ' +
          'PAL_ATTESTATION_REQUIRED; 409 for a credential already registered.',
        tags: ['factors'],
        response: answers(201, {
          400: [
            'PAL_INVALID_REQUEST',
            'PAL_WEBAUTHN_NO_CHALLENGE',
            'PAL_WEBAUTHN_REFUSED',
            'PAL_ATTESTATION_REQUIRED',
          ],
          401: SESSION_401,
          409: ['PAL_WEBAUTHN_REFUSED'],
        }),
        body: z.strictObject({
          name: z.string().min(1).max(100).default('security key'),
          response: registrationResponse,
        }),
      },
    },
    async (request, reply) => {
      const signedIn = request.signedIn!
      const { user, session: s } = signedIn
      const row = await registerCredential(
        db,
        rpFor(people),
        user.id,
        s.id,
        request.body.response as RegistrationResponseJSON,
        request.body.name,
        people.now(),
      )
      await factorChanged(signedIn, request.ip, 'factor_add', 'webauthn')
      // Registering proves the authenticator is at hand, as confirming a TOTP code does: the
      // session counts it as its second factor, under a new id.
      const session = await completeFactor(db, people, request, reply, signedIn, 'webauthn')
      return reply.status(201).send({
        credential: { id: row.id, name: row.name, created_at: row.created_at, aaguid: row.aaguid },
        session,
      })
    },
  )

  app.delete(
    '/v1/me/webauthn/credentials/:id',
    {
      onRequest: session,
      schema: {
        summary: 'Remove one of my WebAuthn credentials (step-up)',
        tags: ['factors'],
        response: answers(200, { 401: [...SESSION_401, STEP_UP], 404: ['PAL_NOT_FOUND'] }),
        params: z.object({ id: z.string().min(1).max(1366) }),
      },
    },
    async (request, reply) => {
      const signedIn = request.signedIn!
      requireRecentFactor(people, signedIn)
      const removed = await db
        .deleteFrom('webauthn_credentials')
        .where('id', '=', request.params.id)
        .where('user_id', '=', signedIn.user.id)
        .executeTakeFirst()
      if (Number(removed.numDeletedRows) === 0) {
        throw new PalisadeError(
          'PAL_NOT_FOUND',
          `no credential of yours with id ${request.params.id}`,
          {
            status: 404,
          },
        )
      }
      await factorChanged(signedIn, request.ip, 'factor_remove', 'webauthn')
      return reply.status(204).send()
    },
  )
}
