import { randomBytes } from 'node:crypto'

import { cipherSuite, suiteName } from '../../crypto/cipher-suite.ts'
import type { SuiteIds } from '../../crypto/cipher-suite.ts'
import { CryptoError } from '../../crypto/crypto-error.ts'
import { fromBase64Url, isBase64Url } from '../../crypto/bytes.ts'
import { verifyKeyRegistration } from '../../crypto/key-registration.ts'
import { sealingKeyId } from '../../crypto/sealing-key-pair.ts'
import { PalisadeError, ValidationError } from '../errors.ts'
import { newId } from '../event-id.ts'
import type { StateDb, StateTables } from './state-store.ts'

/**
 * Sealing public keys of data owners (issue 14). The server keeps public keys only, each
 * registered with a proof of possession: the owner's Ed25519 signing key signs a one-time
 * server challenge together with the key (`keyRegistrationMessage`). The first registration
 * pins the owner to that signing key; every later one, a rotation included, must verify under
 * it. A rotated key stays listed as retired, since old events stay sealed to it.
 */

/** How long a challenge may be answered. */
export const CHALLENGE_TTL_MS = 5 * 60_000

export interface KeyChallenge {
  challenge_id: string
  owner: string
  /** 32 random bytes, base64url: sign it with the key registration. */
  challenge: string
  expires_at: string
}

export interface SealingKeyRecord {
  kid: string
  owner: string
  suite: SuiteIds
  public_key: string
  state: 'active' | 'retired'
  created_at: string
  created_by: string
  replaces: string | null
  retired_at: string | null
  replaced_by: string | null
}

/** A registration as the API receives it. */
export interface SealingKeyRegistration {
  owner: string
  challenge_id: string
  kid: string
  suite: SuiteIds
  public_key: string
  /** The owner's Ed25519 public key: required the first time, checked against the pin after. */
  signing_public_key?: string
  /** Ed25519 over `keyRegistrationMessage`, base64url. */
  signature: string
}

/** A fresh challenge for `owner`, answerable once, by the same caller, for five minutes. */
export async function issueKeyChallenge(
  db: StateDb,
  owner: string,
  requestedBy: string,
  now = new Date(),
): Promise<KeyChallenge> {
  const record = {
    id: newId(),
    owner,
    challenge: randomBytes(32).toString('base64url'),
    requested_by: requestedBy,
    expires_at: new Date(now.getTime() + CHALLENGE_TTL_MS).toISOString(),
  }
  // Lapsed challenges are of no use to anyone; clear them while we are here.
  await db
    .deleteFrom('sealing_key_challenges')
    .where('expires_at', '<', now.toISOString())
    .execute()
  await db.insertInto('sealing_key_challenges').values(record).execute()
  return {
    challenge_id: record.id,
    owner,
    challenge: record.challenge,
    expires_at: record.expires_at,
  }
}

/**
 * Registers a sealing public key, or with `replaces` rotates the owner's active key to it.
 * The challenge is taken (deleted) first, so a failed attempt cannot be retried with it.
 *
 * @throws {PalisadeError} `PAL_SEALING_CHALLENGE_UNKNOWN` (400), `PAL_SEALING_KEY_INVALID`
 *   (400), `PAL_SEALING_PROOF_INVALID` (400), `PAL_SEALING_SIGNER_MISMATCH` (409),
 *   `PAL_SEALING_KEY_EXISTS` (409), `PAL_SEALING_OWNER_HAS_KEY` (409), `PAL_NOT_FOUND` (404),
 *   `PAL_SEALING_KEY_RETIRED` (409).
 */
export async function registerSealingKey(
  db: StateDb,
  registration: SealingKeyRegistration,
  options: { actor: string; replaces?: string; now?: Date },
): Promise<SealingKeyRecord> {
  const now = options.now ?? new Date()
  const challenge = await takeChallenge(db, registration, options.actor, now)

  await checkPublicKey(registration)

  const pinned = await db
    .selectFrom('sealing_owners')
    .selectAll()
    .where('owner', '=', registration.owner)
    .executeTakeFirst()
  const signingKey = await signingKeyFor(registration, pinned?.signing_public_key, options.replaces)

  try {
    await verifyKeyRegistration(
      signingKey,
      {
        owner: registration.owner,
        challenge,
        kid: registration.kid,
        suite: registration.suite,
        publicKey: registration.public_key,
        ...(options.replaces ? { replaces: options.replaces } : {}),
      },
      registration.signature,
    )
  } catch (error) {
    if (!(error instanceof CryptoError)) throw error
    throw new PalisadeError('PAL_SEALING_PROOF_INVALID', error.message, {
      status: 400,
      context: { owner: registration.owner, kid: registration.kid },
    })
  }

  const existing = await findSealingKey(db, registration.kid)
  if (existing) {
    throw new PalisadeError(
      'PAL_SEALING_KEY_EXISTS',
      `key ${registration.kid} is already registered (owner ${existing.owner})`,
      { status: 409, context: { kid: registration.kid } },
    )
  }

  const active = (await listSealingKeys(db, registration.owner)).filter((k) => k.state === 'active')
  if (options.replaces) {
    const old = await findSealingKey(db, options.replaces)
    if (!old || old.owner !== registration.owner) {
      throw new PalisadeError(
        'PAL_NOT_FOUND',
        `no sealing key ${options.replaces} of owner ${registration.owner} to rotate`,
        { status: 404 },
      )
    }
    if (old.state === 'retired') {
      throw new PalisadeError(
        'PAL_SEALING_KEY_RETIRED',
        `key ${old.kid} was already rotated to ${old.replaced_by}; rotate the active key`,
        { status: 409, context: { kid: old.kid, replaced_by: old.replaced_by } },
      )
    }
  } else if (active.length > 0) {
    throw new PalisadeError(
      'PAL_SEALING_OWNER_HAS_KEY',
      `owner ${registration.owner} already has the active key ${active[0]!.kid}; ` +
        `rotate it (POST /v1/sealing-keys/${active[0]!.kid}/rotation) instead`,
      { status: 409, context: { owner: registration.owner, active: active[0]!.kid } },
    )
  }

  const at = now.toISOString()
  await db.transaction().execute(async (trx) => {
    if (!pinned) {
      await trx
        .insertInto('sealing_owners')
        .values({
          owner: registration.owner,
          signing_public_key: signingKey,
          created_at: at,
        })
        .execute()
    }
    await trx
      .insertInto('sealing_keys')
      .values({
        kid: registration.kid,
        owner: registration.owner,
        kem: registration.suite.kem,
        kdf: registration.suite.kdf,
        aead: registration.suite.aead,
        public_key: registration.public_key,
        created_at: at,
        created_by: options.actor,
        replaces: options.replaces ?? null,
        retired_at: null,
        replaced_by: null,
      })
      .execute()
    if (options.replaces) {
      await trx
        .updateTable('sealing_keys')
        .set({ retired_at: at, replaced_by: registration.kid })
        .where('kid', '=', options.replaces)
        .execute()
    }
  })
  return (await findSealingKey(db, registration.kid))!
}

/** The owner's keys (every owner's without `owner`), oldest first, active and retired. */
export async function listSealingKeys(db: StateDb, owner?: string): Promise<SealingKeyRecord[]> {
  let query = db.selectFrom('sealing_keys').selectAll()
  if (owner !== undefined) query = query.where('owner', '=', owner)
  const rows = await query.orderBy('created_at').orderBy('kid').execute()
  return rows.map(toRecord)
}

export async function findSealingKey(db: StateDb, kid: string): Promise<SealingKeyRecord | null> {
  const row = await db
    .selectFrom('sealing_keys')
    .selectAll()
    .where('kid', '=', kid)
    .executeTakeFirst()
  return row ? toRecord(row) : null
}

/** The owner's pinned signing key, base64url, or null before their first registration. */
export async function ownerSigningKey(db: StateDb, owner: string): Promise<string | null> {
  const row = await db
    .selectFrom('sealing_owners')
    .select('signing_public_key')
    .where('owner', '=', owner)
    .executeTakeFirst()
  return row?.signing_public_key ?? null
}

function toRecord(row: StateTables['sealing_keys']): SealingKeyRecord {
  return {
    kid: row.kid,
    owner: row.owner,
    suite: { kem: Number(row.kem), kdf: Number(row.kdf), aead: Number(row.aead) },
    public_key: row.public_key,
    state: row.retired_at ? 'retired' : 'active',
    created_at: row.created_at,
    created_by: row.created_by,
    replaces: row.replaces,
    retired_at: row.retired_at,
    replaced_by: row.replaced_by,
  }
}

/** Deletes the challenge and returns its bytes, if it is the caller's, the owner's and live. */
async function takeChallenge(
  db: StateDb,
  registration: SealingKeyRegistration,
  actor: string,
  now: Date,
): Promise<string> {
  const row = await db
    .selectFrom('sealing_key_challenges')
    .selectAll()
    .where('id', '=', registration.challenge_id)
    .executeTakeFirst()
  const deleted = row
    ? await db.deleteFrom('sealing_key_challenges').where('id', '=', row.id).executeTakeFirst()
    : undefined
  // Only the request that deleted the row may use it: two racing requests cannot both pass.
  const taken = row && Number(deleted?.numDeletedRows ?? 0) === 1
  const unknown = (why: string) =>
    new ValidationError(
      `challenge ${registration.challenge_id} ${why}; ask POST /v1/sealing-keys/challenges ` +
        'for a new one',
      { challenge_id: registration.challenge_id },
      'PAL_SEALING_CHALLENGE_UNKNOWN',
    )
  if (!row || !taken) throw unknown('is unknown or was already used')

  if (row.expires_at <= now.toISOString()) throw unknown(`expired at ${row.expires_at}`)

  if (row.owner !== registration.owner) {
    throw unknown(`was issued for owner ${row.owner}, not ${registration.owner}`)
  }

  if (row.requested_by !== actor) throw unknown('was issued to another caller')
  return row.challenge
}

/** Checks the suite, the public key and that the key id is the one they give. */
async function checkPublicKey(registration: SealingKeyRegistration): Promise<void> {
  const invalid = (message: string, cause?: unknown) =>
    new PalisadeError('PAL_SEALING_KEY_INVALID', message, {
      status: 400,
      context: { kid: registration.kid },
      cause,
    })
  let suite
  try {
    suite = cipherSuite(registration.suite)
  } catch (error) {
    throw invalid((error as Error).message, error)
  }

  if (!isBase64Url(registration.public_key)) {
    throw invalid('`public_key`: expected unpadded base64url')
  }
  const publicKey = fromBase64Url(registration.public_key)
  try {
    await suite.kem.deserializePublicKey(publicKey)
  } catch (error) {
    throw invalid(
      `\`public_key\`: expected a public key of the suite ${suiteName(registration.suite)} ` +
        `(${suite.kem.publicKeySize} bytes), got ${publicKey.length} bytes that are not one`,
      error,
    )
  }

  const kid = await sealingKeyId(registration.suite, publicKey)
  if (kid !== registration.kid) {
    throw invalid(
      `\`kid\`: expected ${kid}, the key id of this public key and suite, got ${registration.kid}`,
    )
  }
}

/** The signing key to verify with: the pinned one, or on a first registration the one sent. */
async function signingKeyFor(
  registration: SealingKeyRegistration,
  pinned: string | undefined,
  replaces: string | undefined,
): Promise<string> {
  const sent = registration.signing_public_key
  if (pinned) {
    if (sent !== undefined && sent !== pinned) {
      throw new PalisadeError(
        'PAL_SEALING_SIGNER_MISMATCH',
        `owner ${registration.owner} is pinned to another signing key; registrations and ` +
          'rotations must be signed with the key of the first registration',
        { status: 409, context: { owner: registration.owner } },
      )
    }
    return pinned
  }

  if (replaces !== undefined) {
    throw new PalisadeError(
      'PAL_NOT_FOUND',
      `owner ${registration.owner} has no key to rotate; register one first`,
      { status: 404 },
    )
  }

  if (sent === undefined) {
    throw new ValidationError(
      `\`signing_public_key\`: expected the owner's Ed25519 public key on the first ` +
        `registration for ${registration.owner}, got nothing`,
      { path: 'signing_public_key' },
      'PAL_SEALING_KEY_INVALID',
    )
  }
  return sent
}
