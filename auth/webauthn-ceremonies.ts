import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server'
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server'

import { PalisadeError } from '../platform/errors.ts'
import type { StateDb, StateTables } from '../platform/state/state-store.ts'

/** Where the relying party lives, as browsers see it (WebAuthn Level 3 §5.1.3, §7.1). */
export interface RelyingParty {
  id: string
  name: string
  origin: string
  attestation: 'none' | 'direct'
}

/** How long a challenge may be answered (the ceremony's `timeout`, W3C WebAuthn §5.4). */
export const CHALLENGE_TTL_MS = 5 * 60_000

export type CredentialRow = StateTables['webauthn_credentials']

/** The relying party for a public URL: its origin, and its host as the RP id. */
export function relyingParty(
  publicUrl: string,
  name: string,
  attestation: 'none' | 'direct',
): RelyingParty {
  const url = new URL(publicUrl)
  return { id: url.hostname, name, origin: url.origin, attestation }
}

async function saveChallenge(
  db: StateDb,
  sessionId: string,
  purpose: 'register' | 'authenticate',
  challenge: string,
  now: Date,
): Promise<void> {
  await db
    .deleteFrom('webauthn_challenges')
    .where('session_id', '=', sessionId)
    .where('purpose', '=', purpose)
    .execute()
  await db
    .insertInto('webauthn_challenges')
    .values({
      session_id: sessionId,
      purpose,
      challenge,
      expires_at: new Date(now.getTime() + CHALLENGE_TTL_MS).toISOString(),
    })
    .execute()
}

/**
 * Takes the session's pending challenge for `purpose` out of the store: each is answered at
 * most once, so a replayed response finds none.
 *
 * @throws {PalisadeError} `PAL_WEBAUTHN_NO_CHALLENGE` (400) when none is pending or it expired.
 */
async function takeChallenge(
  db: StateDb,
  sessionId: string,
  purpose: 'register' | 'authenticate',
  now: Date,
): Promise<string> {
  const row = await db
    .selectFrom('webauthn_challenges')
    .selectAll()
    .where('session_id', '=', sessionId)
    .where('purpose', '=', purpose)
    .executeTakeFirst()
  await db
    .deleteFrom('webauthn_challenges')
    .where('session_id', '=', sessionId)
    .where('purpose', '=', purpose)
    .execute()
  if (!row) {
    throw new PalisadeError(
      'PAL_WEBAUTHN_NO_CHALLENGE',
      `expected a pending ${purpose} challenge for this session, got none: ask for options ` +
        'first, and answer each challenge once',
      { status: 400 },
    )
  }
  if (new Date(row.expires_at) <= now) {
    throw new PalisadeError(
      'PAL_WEBAUTHN_NO_CHALLENGE',
      `the ${purpose} challenge expired at ${row.expires_at}; ask for new options`,
      { status: 400 },
    )
  }
  return row.challenge
}

export async function listCredentials(db: StateDb, userId: string): Promise<CredentialRow[]> {
  return db
    .selectFrom('webauthn_credentials')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('created_at')
    .execute()
}

function transportsOf(row: CredentialRow): string[] {
  return row.transports === '' ? [] : row.transports.split(',')
}

/** Options for `navigator.credentials.create`, excluding the user's existing credentials. */
export async function registrationOptions(
  db: StateDb,
  rp: RelyingParty,
  user: { id: string; name: string },
  sessionId: string,
  now: Date,
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const existing = await listCredentials(db, user.id)
  const options = await generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    userName: user.name,
    userID: new TextEncoder().encode(user.id),
    timeout: CHALLENGE_TTL_MS,
    attestationType: rp.attestation,
    excludeCredentials: existing.map((c) => ({ id: c.id, transports: transportsOf(c) })),
    // Security keys and passkeys alike; user verification is asked for at step-up.
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
    // ES256 and EdDSA and RS256, as the library supports (COSE -7, -8, -257).
    supportedAlgorithmIDs: [-7, -8, -257],
  })
  await saveChallenge(db, sessionId, 'register', options.challenge, now)
  return options
}

/**
 * Verifies a registration against the session's challenge, origin and RP id, applies the
 * attestation policy and stores the credential.
 *
 * @throws {PalisadeError} `PAL_WEBAUTHN_REFUSED` (400) with the library's reason,
 *   `PAL_ATTESTATION_REQUIRED` (400) under `direct` for a response without attestation.
 */
export async function registerCredential(
  db: StateDb,
  rp: RelyingParty,
  userId: string,
  sessionId: string,
  response: RegistrationResponseJSON,
  name: string,
  now: Date,
): Promise<CredentialRow> {
  const challenge = await takeChallenge(db, sessionId, 'register', now)
  let verified
  try {
    verified = await verifyRegistrationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      requireUserVerification: false,
    })
  } catch (error) {
    throw refused(error)
  }
  if (!verified.verified) throw refused(new Error('the registration did not verify'))

  const info = verified.registrationInfo
  if (rp.attestation === 'direct' && info.fmt === 'none') {
    throw new PalisadeError(
      'PAL_ATTESTATION_REQUIRED',
      'expected an attestation statement (people.webauthn.attestation is direct), got fmt none',
      { status: 400 },
    )
  }

  const known = await db
    .selectFrom('webauthn_credentials')
    .select('id')
    .where('id', '=', info.credential.id)
    .executeTakeFirst()
  if (known) {
    throw new PalisadeError('PAL_WEBAUTHN_REFUSED', 'this credential is already registered', {
      status: 409,
    })
  }

  const row: CredentialRow = {
    id: info.credential.id,
    user_id: userId,
    name,
    public_key: Buffer.from(info.credential.publicKey).toString('base64url'),
    counter: info.credential.counter,
    transports: (response.response.transports ?? []).join(','),
    aaguid: info.aaguid,
    created_at: now.toISOString(),
    last_used_at: null,
  }
  await db.insertInto('webauthn_credentials').values(row).execute()
  return row
}

/** Options for `navigator.credentials.get`, allowing the user's credentials only. */
export async function authenticationOptions(
  db: StateDb,
  rp: RelyingParty,
  userId: string,
  sessionId: string,
  userVerification: 'required' | 'preferred',
  now: Date,
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const credentials = await listCredentials(db, userId)
  if (credentials.length === 0) {
    throw new PalisadeError('PAL_FACTOR_ABSENT', 'this user has no WebAuthn credential', {
      status: 409,
    })
  }
  const options = await generateAuthenticationOptions({
    rpID: rp.id,
    allowCredentials: credentials.map((c) => ({ id: c.id, transports: transportsOf(c) })),
    timeout: CHALLENGE_TTL_MS,
    userVerification,
  })
  await saveChallenge(db, sessionId, 'authenticate', options.challenge, now)
  return options
}

export type AssertionResult =
  | { ok: true; credential: CredentialRow; userVerified: boolean }
  /** The counter did not grow: a cloned authenticator (WebAuthn §6.1.1). */
  | { ok: false; credential: CredentialRow; stored: number; received: number }

/**
 * Verifies an assertion against the session's challenge, origin, RP id and the credential's
 * key, requiring user verification when asked (step-up). A signature counter that did not
 * grow is a sign of a cloned authenticator (WebAuthn Level 3 §6.1.1): returned as such so
 * the caller refuses, alerts and audits; the stored counter is left as it was.
 *
 * @throws {PalisadeError} `PAL_WEBAUTHN_REFUSED` (400) for any other failure.
 */
export async function verifyAssertion(
  db: StateDb,
  rp: RelyingParty,
  userId: string,
  sessionId: string,
  response: AuthenticationResponseJSON,
  requireUserVerification: boolean,
  now: Date,
): Promise<AssertionResult> {
  const challenge = await takeChallenge(db, sessionId, 'authenticate', now)
  const credential = await db
    .selectFrom('webauthn_credentials')
    .selectAll()
    .where('id', '=', response.id)
    .where('user_id', '=', userId)
    .executeTakeFirst()
  if (!credential) {
    throw new PalisadeError(
      'PAL_WEBAUTHN_REFUSED',
      'expected the id of one of this user\u2019s credentials, got an unknown one',
      { status: 400 },
    )
  }

  const verify = (counter: number) =>
    verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      credential: {
        id: credential.id,
        publicKey: Buffer.from(credential.public_key, 'base64url'),
        counter,
        transports: transportsOf(credential),
      },
      requireUserVerification,
    })
  let verified
  try {
    verified = await verify(Number(credential.counter))
  } catch (error) {
    const counter = /counter value (\d+) was lower than expected (\d+)/.exec(
      (error as Error).message,
    )
    if (!counter) throw refused(error)
    // The library compares counters before it checks the signature, so anyone could raise a
    // "cloned" alarm with an unsigned response. Only a response the key really signed is a
    // clone; checked again with no stored counter, which verifies everything else.
    try {
      await verify(0)
    } catch (unsigned) {
      throw refused(unsigned)
    }
    return { ok: false, credential, received: Number(counter[1]), stored: Number(counter[2]) }
  }
  if (!verified.verified) throw refused(new Error('the assertion did not verify'))

  await db
    .updateTable('webauthn_credentials')
    .set({ counter: verified.authenticationInfo.newCounter, last_used_at: now.toISOString() })
    .where('id', '=', credential.id)
    .execute()
  return { ok: true, credential, userVerified: verified.authenticationInfo.userVerified }
}

function refused(error: unknown): PalisadeError {
  return new PalisadeError(
    'PAL_WEBAUTHN_REFUSED',
    `the WebAuthn response was refused: ${(error as Error).message}`,
    { status: 400, cause: error },
  )
}
