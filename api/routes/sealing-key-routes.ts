import type { FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'

import type { AuditLog } from '../../audit/audit-log.ts'
import { suiteName } from '../../crypto/cipher-suite.ts'
import { PalisadeError } from '../../platform/errors.ts'
import {
  findSealingKey,
  issueKeyChallenge,
  listSealingKeys,
  registerSealingKey,
} from '../../platform/state/sealing-keys.ts'
import type { SealingKeyRegistration } from '../../platform/state/sealing-keys.ts'
import type { StateDb } from '../../platform/state/state-store.ts'
import { auditContext } from '../audit-context.ts'
import { requireScope } from '../auth.ts'

export interface SealingKeyRouteDeps {
  db: StateDb
  audit: AuditLog
}

const base64url = z
  .string()
  .min(1)
  .max(4096)
  .regex(/^[A-Za-z0-9_-]+$/, 'unpadded base64url')
const owner = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]*$/, 'letters, digits and . _ @ -, starting alphanumeric')
const rfcId = z.number().int().min(0).max(0xffff)

const registrationBody = z.object({
  owner,
  challenge_id: z.string().min(1).max(100),
  kid: base64url,
  suite: z.object({ kem: rfcId, kdf: rfcId, aead: rfcId }),
  public_key: base64url,
  signing_public_key: base64url.optional().meta({
    description: "The owner's Ed25519 public key, raw, base64url: required the first time",
  }),
  signature: base64url.meta({
    description: 'Ed25519 over the registration (crypto/key-registration.ts), base64url',
  }),
})

/**
 * Sealing public keys of data owners (issue 14). Registering or rotating one is a key
 * operation: an admin token, or a person with a recent second factor, and a one-time challenge
 * signed with the owner's signing key. Emitters read the keys to seal to. Each change, and each
 * refused one, is audited by key id before it is answered; key bytes never reach the log.
 */
export const sealingKeyRoutes: FastifyPluginAsyncZod<SealingKeyRouteDeps> = async (
  app,
  { db, audit },
) => {
  const keyOperation = requireScope(db, 'admin', audit, { stepUp: true })
  const emitter = requireScope(db, 'ingest')
  const actorOf = (request: FastifyRequest) => {
    const { actor } = auditContext(request)
    return `${actor.kind}:${actor.id}`
  }

  app.post(
    '/v1/sealing-keys/challenges',
    {
      onRequest: keyOperation,
      config: { audit: { action: 'sealing_key.challenge' } },
      schema: {
        summary: 'Get a one-time challenge to sign with a sealing key registration',
        tags: ['sealing keys'],
        body: z.object({ owner }),
      },
    },
    async (request, reply) => {
      const challenge = await issueKeyChallenge(db, request.body.owner, actorOf(request))
      return reply.status(201).send(challenge)
    },
  )

  app.post(
    '/v1/sealing-keys',
    {
      onRequest: keyOperation,
      config: { audit: { action: 'sealing_key.register' } },
      schema: {
        summary: "Register a data owner's sealing public key, with a proof of possession",
        tags: ['sealing keys'],
        body: registrationBody,
      },
    },
    async (request, reply) => {
      const record = await audited(request, 'sealing_key.register', request.body, undefined)
      return reply.status(201).send(record)
    },
  )

  app.post(
    '/v1/sealing-keys/:kid/rotation',
    {
      onRequest: keyOperation,
      config: { audit: { action: 'sealing_key.rotate', target: { kind: 'sealing_key' } } },
      schema: {
        summary: "Rotate an owner's active sealing key to a new one; the old one is retired",
        description:
          'The old key stays listed as retired: events sealed to it still open with its ' +
          'private key. The signature covers the replaced key id.',
        tags: ['sealing keys'],
        params: z.object({ kid: base64url }),
        body: registrationBody,
      },
    },
    async (request, reply) => {
      const replaces = request.params.kid
      const record = await audited(request, 'sealing_key.rotate', request.body, replaces)
      return reply.status(201).send(record)
    },
  )

  app.get(
    '/v1/sealing-keys',
    {
      onRequest: emitter,
      schema: {
        summary: 'List sealing public keys, active and retired',
        tags: ['sealing keys'],
        querystring: z.object({ owner: owner.optional() }),
      },
    },
    async (request) => ({ items: await listSealingKeys(db, request.query.owner) }),
  )

  app.get(
    '/v1/sealing-keys/:kid',
    {
      onRequest: emitter,
      schema: {
        summary: 'One sealing public key',
        tags: ['sealing keys'],
        params: z.object({ kid: base64url }),
      },
    },
    async (request) => {
      const record = await findSealingKey(db, request.params.kid)
      if (!record) {
        throw new PalisadeError('PAL_NOT_FOUND', `no sealing key ${request.params.kid}`, {
          status: 404,
        })
      }
      return record
    },
  )

  /** Registers or rotates, and records the outcome (success or the refusal's code). */
  async function audited(
    request: FastifyRequest,
    action: string,
    body: SealingKeyRegistration,
    replaces: string | undefined,
  ) {
    const entry = {
      ...auditContext(request),
      action,
      target: { kind: 'sealing_key', id: body.kid },
    }
    const details = {
      owner: body.owner,
      suite: suiteName(body.suite),
      ...(replaces ? { replaces } : {}),
    }
    try {
      const record = await registerSealingKey(db, body, {
        actor: actorOf(request),
        ...(replaces ? { replaces } : {}),
      })
      await audit.record({ ...entry, outcome: 'success', details })
      return record
    } catch (error) {
      if (error instanceof PalisadeError) {
        await audit.record({
          ...entry,
          outcome: 'failure',
          details: { ...details, code: error.code },
        })
      }
      throw error
    }
  }
}
