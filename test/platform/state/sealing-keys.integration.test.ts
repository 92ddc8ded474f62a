import { describe, expect, it } from 'vitest'

import { toBase64Url } from '../../../crypto/bytes.ts'
import { generateOwnerSigningKey, signKeyRegistration } from '../../../crypto/key-registration.ts'
import type { OwnerSigningKey } from '../../../crypto/key-registration.ts'
import { openSealedField, sealField } from '../../../crypto/sealed-field.ts'
import { generateSealingKeyPair } from '../../../crypto/sealing-key-pair.ts'
import type { SealingKeyPair } from '../../../crypto/sealing-key-pair.ts'
import {
  CHALLENGE_TTL_MS,
  issueKeyChallenge,
  listSealingKeys,
  ownerSigningKey,
  registerSealingKey,
} from '../../../platform/state/sealing-keys.ts'
import type { SealingKeyRegistration } from '../../../platform/state/sealing-keys.ts'
import type { StateDb } from '../../../platform/state/state-store.ts'
import { bothStateStores } from '../../helpers/state-stores.ts'

const { stores, postgres } = bothStateStores('sealing-keys')
const ACTOR = 'token:registrar'

/** What an owner's client sends: a challenge answered with the owner's signing key. */
async function registration(
  db: StateDb,
  owner: string,
  signer: OwnerSigningKey,
  pair: SealingKeyPair,
  options: { replaces?: string; firstTime?: boolean; actor?: string } = {},
): Promise<SealingKeyRegistration> {
  const { challenge_id, challenge } = await issueKeyChallenge(db, owner, options.actor ?? ACTOR)
  const publicKey = toBase64Url(pair.publicKey)
  const signature = await signKeyRegistration(signer, {
    owner,
    challenge,
    kid: pair.kid,
    suite: pair.suite,
    publicKey,
    ...(options.replaces ? { replaces: options.replaces } : {}),
  })
  return {
    owner,
    challenge_id,
    kid: pair.kid,
    suite: pair.suite,
    public_key: publicKey,
    ...(options.firstTime === false ? {} : { signing_public_key: signer.publicKey }),
    signature,
  }
}

describe.each(stores)('sealing public keys in the state store on %s', (kind, open) => {
  const available = !(kind === 'PostgreSQL' && !postgres)

  it.skipIf(!available)(
    'registers a key proven by the owner’s signature and stores only public keys',
    async () => {
      const state = await open()
      try {
        const signer = await generateOwnerSigningKey()
        const pair = await generateSealingKeyPair()
        const body = await registration(state.db, 'owner-a', signer, pair)
        const record = await registerSealingKey(state.db, body, { actor: ACTOR })
        expect(record).toMatchObject({ kid: pair.kid, owner: 'owner-a', state: 'active' })
        expect(await ownerSigningKey(state.db, 'owner-a')).toBe(signer.publicKey)
        const rows = JSON.stringify([
          await state.db.selectFrom('sealing_keys').selectAll().execute(),
          await state.db.selectFrom('sealing_owners').selectAll().execute(),
          await state.db.selectFrom('sealing_key_challenges').selectAll().execute(),
        ])
        expect(rows).toContain(toBase64Url(pair.publicKey))
        expect(rows).not.toContain(toBase64Url(pair.privateKey))
        expect(rows).not.toContain(signer.privateKey)
      } finally {
        await state.close()
      }
    },
  )

  it.skipIf(!available)(
    'rotates by key id: the old key is retired and still opens what was sealed to it',
    async () => {
      const state = await open()
      try {
        const signer = await generateOwnerSigningKey()
        const first = await generateSealingKeyPair()
        const second = await generateSealingKeyPair()
        await registerSealingKey(state.db, await registration(state.db, 'owner-b', signer, first), {
          actor: ACTOR,
        })
        const eventId = '0193a0f4-7c2e-7b4d-9a31-5f2d8e6c1a07'
        const old = await sealField({ recipient: first, eventId, field: 'message', value: 'old' })

        const body = await registration(state.db, 'owner-b', signer, second, {
          replaces: first.kid,
          firstTime: false,
        })
        await registerSealingKey(state.db, body, { actor: ACTOR, replaces: first.kid })
        const keys = await listSealingKeys(state.db, 'owner-b')
        expect(keys.map((k) => [k.kid, k.state, k.replaced_by, k.replaces])).toEqual([
          [first.kid, 'retired', second.kid, null],
          [second.kid, 'active', null, first.kid],
        ])
        expect(await openSealedField(old, eventId, first)).toBe('old')
      } finally {
        await state.close()
      }
    },
  )

  it.skipIf(!available)(
    'refuses a forged, replayed, expired or misdirected proof, each with its code',
    async () => {
      const state = await open()
      const db = state.db
      try {
        const signer = await generateOwnerSigningKey()
        const stranger = await generateOwnerSigningKey()
        const pair = await generateSealingKeyPair()
        const refusal = (body: SealingKeyRegistration, options = {}) =>
          registerSealingKey(db, body, { actor: ACTOR, ...options })

        // Signed by someone else than the signing key it presents.
        const forged = { ...(await registration(db, 'owner-c', stranger, pair)) }
        forged.signing_public_key = signer.publicKey
        await expect(refusal(forged)).rejects.toMatchObject({ code: 'PAL_SEALING_PROOF_INVALID' })

        // A challenge is used once, by the caller it was issued to, before it expires.
        const body = await registration(db, 'owner-c', signer, pair)
        await expect(refusal({ ...body, owner: 'owner-z' })).rejects.toThrow(
          /was issued for owner owner-c, not owner-z/,
        )
        await expect(refusal(body)).rejects.toMatchObject({
          code: 'PAL_SEALING_CHALLENGE_UNKNOWN',
        })
        const other = await registration(db, 'owner-c', signer, pair, { actor: 'token:other' })
        await expect(refusal(other)).rejects.toThrow(/was issued to another caller/)
        const late = await registration(db, 'owner-c', signer, pair)
        const after = new Date(Date.now() + CHALLENGE_TTL_MS + 1000)
        await expect(refusal(late, { now: after })).rejects.toThrow(/expired at/)

        // The key id must be the one the public key gives.
        const wrongKid = { ...(await registration(db, 'owner-c', signer, pair)), kid: 'abc' }
        await expect(refusal(wrongKid)).rejects.toMatchObject({ code: 'PAL_SEALING_KEY_INVALID' })

        await refusal(await registration(db, 'owner-c', signer, pair))
        // Once pinned, the owner's other signing keys are refused, and a second key needs a
        // rotation.
        const next = await generateSealingKeyPair()
        await expect(
          refusal(await registration(db, 'owner-c', stranger, next)),
        ).rejects.toMatchObject({ code: 'PAL_SEALING_SIGNER_MISMATCH' })
        await expect(
          refusal(await registration(db, 'owner-c', signer, next)),
        ).rejects.toMatchObject({ code: 'PAL_SEALING_OWNER_HAS_KEY' })
        expect((await listSealingKeys(db, 'owner-c')).map((k) => k.kid)).toEqual([pair.kid])
      } finally {
        await state.close()
      }
    },
  )
})
