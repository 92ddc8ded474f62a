/**
 * `npm run bench:auth`: second-factor verifications per second, Palisade's next to the bare
 * library call on the same input, in the same run.
 *
 * - TOTP: otplib's `verify` alone (one step of drift each way); Palisade's `checkTotp` (the
 *   same, plus the format and replay checks); and the same after opening the AES-256-GCM
 *   sealed secret, as the sign-in route does before it touches the state store.
 * - WebAuthn: @simplewebauthn/server's `verifyAuthenticationResponse` alone on one real
 *   ES256 assertion; and Palisade's ceremony on a SQLite state store: options (a challenge
 *   stored), a fresh assertion signed by the software authenticator (its ECDSA signature is
 *   counted in Palisade's figure, since each challenge is new), `verifyAssertion` (challenge
 *   taken, signature and counter checked, counter stored).
 *
 * Absolute rates drift on a shared machine; the ratios are what to compare. Flags: `--json`;
 * `--seconds S` per measurement (default 1).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'

import { generateAuthenticationOptions, verifyAuthenticationResponse } from '@simplewebauthn/server'
import { generate, verify } from 'otplib'

import { SecretBox } from '../auth/secret-box.ts'
import { checkTotp, newTotpSecret } from '../auth/totp-factor.ts'
import {
  authenticationOptions,
  relyingParty,
  verifyAssertion,
} from '../auth/webauthn-ceremonies.ts'
import { openStateStore } from '../platform/state/state-store.ts'
import { insertUser } from '../platform/state/users.ts'
import { SoftwareAuthenticator } from '../test/helpers/software-authenticator.ts'
import { callsPerSecond, formatRate, formatTable, median, rateFlags } from './measure.ts'

const RUNS = 3
const ORIGIN = 'https://palisade.example'

async function main(): Promise<void> {
  const { json, seconds } = rateFlags()

  // TOTP: one secret, one code, checked at the time it was made.
  const secret = newTotpSecret()
  const nowMs = Date.UTC(2026, 11, 4, 10, 0, 0)
  const epoch = nowMs / 1000
  const code = await generate({ secret, epoch })
  const box = new SecretBox(randomBytes(32))
  const sealed = box.seal(Buffer.from(secret), 'totp:bench')
  const bareTotp = () =>
    verify({
      secret,
      token: code,
      epoch,
      period: 30,
      digits: 6,
      algorithm: 'sha1',
      epochTolerance: 30,
    })
  const ourTotp = () => checkTotp(secret, code, nowMs, null)
  const sealedTotp = () => checkTotp(box.open(sealed, 'totp:bench').toString(), code, nowMs, null)
  if (!(await bareTotp()).valid || !(await ourTotp()).ok || !(await sealedTotp()).ok) {
    throw new Error('the TOTP code did not verify; the bench measures nothing')
  }

  // WebAuthn: a registered key on a real state store.
  const dataDir = mkdtempSync(join(tmpdir(), 'palisade-auth-bench-'))
  const state = await openStateStore({ dataDir })
  try {
    const rp = relyingParty(ORIGIN, 'Palisade', 'none')
    const key = new SoftwareAuthenticator(ORIGIN)
    const user = await insertUser(state.db, {
      name: 'bench',
      role: 'analyst',
      enrolmentHash: 'bench',
      enrolmentExpiresAt: new Date(nowMs),
    })
    const registration = key.create({
      rp: { id: rp.id, name: rp.name },
      user: { id: 'YmVuY2g', name: 'bench', displayName: 'bench' },
      challenge: 'YmVuY2g',
      pubKeyCredParams: [{ type: 'public-key', alg: -7 }],
    })
    const credential = key.credentials[0]!
    await state.db
      .insertInto('webauthn_credentials')
      .values({
        id: registration.id,
        user_id: user.id,
        name: 'bench key',
        public_key: credential.cose.toString('base64url'),
        counter: 0,
        transports: 'usb',
        aaguid: '00000000-0000-0000-0000-000000000000',
        created_at: new Date(nowMs).toISOString(),
        last_used_at: null,
      })
      .execute()

    // The bare call: one assertion, verified again and again against a stored counter of 0
    // (a counter of 0 on both sides is not compared, WebAuthn §6.1.1).
    const fixed = await generateAuthenticationOptions({
      rpID: rp.id,
      allowCredentials: [{ id: registration.id }],
    })
    const assertion = key.get(fixed, { counter: 0 })
    const bareWebAuthn = () =>
      verifyAuthenticationResponse({
        response: assertion,
        expectedChallenge: fixed.challenge,
        expectedOrigin: rp.origin,
        expectedRPID: rp.id,
        credential: { id: registration.id, publicKey: new Uint8Array(credential.cose), counter: 0 },
        requireUserVerification: false,
      })
    const ceremony = async () => {
      const now = new Date()
      const options = await authenticationOptions(state.db, rp, user.id, 'bench', 'preferred', now)
      const result = await verifyAssertion(
        state.db,
        rp,
        user.id,
        'bench',
        key.get(options),
        false,
        now,
      )
      if (!result.ok) throw new Error('the assertion did not verify')
    }
    if (!(await bareWebAuthn()).verified) throw new Error('the bare assertion did not verify')
    await ceremony()

    const measures = {
      totpBare: [] as number[],
      totpPalisade: [] as number[],
      totpSealed: [] as number[],
      webauthnBare: [] as number[],
      webauthnCeremony: [] as number[],
    }
    for (let run = 0; run < RUNS; run++) {
      measures.totpBare.push(await callsPerSecond(seconds, bareTotp))
      measures.totpPalisade.push(await callsPerSecond(seconds, ourTotp))
      measures.totpSealed.push(await callsPerSecond(seconds, sealedTotp))
      measures.webauthnBare.push(await callsPerSecond(seconds, bareWebAuthn))
      measures.webauthnCeremony.push(await callsPerSecond(seconds, ceremony))
    }
    const m = Object.fromEntries(
      Object.entries(measures).map(([k, v]) => [k, median(v)]),
    ) as Record<keyof typeof measures, number>
    const results = [
      { what: 'TOTP: otplib verify', rate: m.totpBare, ratio: 1 },
      { what: 'TOTP: checkTotp', rate: m.totpPalisade, ratio: m.totpPalisade / m.totpBare },
      {
        what: 'TOTP: open sealed secret + checkTotp',
        rate: m.totpSealed,
        ratio: m.totpSealed / m.totpBare,
      },
      { what: 'WebAuthn: verifyAuthenticationResponse', rate: m.webauthnBare, ratio: 1 },
      {
        what: 'WebAuthn: options + signing + verifyAssertion (SQLite)',
        rate: m.webauthnCeremony,
        ratio: m.webauthnCeremony / m.webauthnBare,
      },
    ]

    if (json) {
      process.stdout.write(`${JSON.stringify({ runs: RUNS, seconds, results }, null, 2)}\n`)
      return
    }
    const rows = results.map((r) => [r.what, formatRate(r.rate), `${r.ratio.toFixed(2)}x`])
    process.stdout.write(
      `second-factor verifications per second, median of ${RUNS} runs of ${seconds}s, ` +
        `sequential\n${formatTable(['verification', 'per second', 'vs bare library'], rows)}\n`,
    )
  } finally {
    await state.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

await main()
