import { useState } from 'react'

import { plainError } from '../../api/error-messages.ts'
import type { PlainError } from '../../api/error-messages.ts'
import { ApiError, callApi } from '../../api/palisade-api.ts'
import type { SecurityKey, SessionInfo } from '../../api/palisade-api.ts'
import { ErrorNotice, readableTime, useFocusOnMount } from './error-notice.tsx'
import { RecoveryCodes } from './recovery-codes.tsx'
import { SecurityKeys } from './security-keys.tsx'
import { TotpEnrolment } from './totp-enrolment.tsx'
import type { TotpStart } from './totp-enrolment.tsx'

/**
 * Runs a request; when the API answers `step_up_required`, asks the person to prove a factor
 * again (`what` says for what) and repeats it once they have.
 */
export type Guard = <T>(what: string, run: () => Promise<T>) => Promise<T>

type Removal = { kind: 'totp' } | { kind: 'key'; key: SecurityKey }

/** The factor in the words the page uses for it. */
function factorName(factor: Removal): string {
  if (factor.kind === 'totp') return 'your authenticator app'
  return `the security key “${factor.key.name}”`
}

/** The signed-in person's second factors: what they have, adding and removing them. */
export function FactorOverview({
  session,
  guard,
  onSession,
  onSignedOut,
}: {
  session: SessionInfo
  guard: Guard
  onSession: (session: SessionInfo) => void
  onSignedOut: (notice: PlainError | null) => void
}) {
  const heading = useFocusOnMount<HTMLHeadingElement>()
  const { factors } = session
  const [status, setStatus] = useState('')
  const [error, setError] = useState<PlainError | null>(null)
  const [totpStart, setTotpStart] = useState<TotpStart | null>(null)
  const [codes, setCodes] = useState<string[] | null>(null)
  const [removal, setRemoval] = useState<Removal | null>(null)
  const factorCount = (factors.totp ? 1 : 0) + factors.webauthn.length

  /** Shows a failure in plain words; an ended session goes back to sign-in. */
  function fail(failure: unknown, action: Parameters<typeof plainError>[1]) {
    if (failure instanceof ApiError && failure.code.startsWith('PAL_SESSION_')) {
      onSignedOut(plainError(failure, action))
      return
    }
    // A factor added on another device makes this session ask for it: show that prompt.
    if (failure instanceof ApiError && failure.code === 'PAL_MFA_REQUIRED') {
      void refresh().catch(() => onSignedOut(plainError(failure, action)))
      return
    }
    setStatus('')
    setError(plainError(failure, action))
  }

  async function refresh() {
    onSession(await callApi<SessionInfo>('GET', '/v1/session'))
  }

  async function startTotp() {
    setError(null)
    try {
      setTotpStart(
        await guard('set up an authenticator app', () => callApi<TotpStart>('POST', '/v1/me/totp')),
      )
    } catch (failure) {
      fail(failure, 'start-totp')
    }
  }

  async function newCodes() {
    setError(null)
    try {
      const answer = await guard('create new recovery codes', () =>
        callApi<{ codes: string[] }>('POST', '/v1/me/recovery-codes'),
      )
      setCodes(answer.codes)
    } catch (failure) {
      fail(failure, 'new-recovery-codes')
    }
  }

  async function remove(what: Removal) {
    setRemoval(null)
    setError(null)
    const words = factorName(what)
    try {
      await guard(`remove ${words}`, () =>
        what.kind === 'totp'
          ? callApi<void>('DELETE', '/v1/me/totp')
          : callApi<void>(
              'DELETE',
              `/v1/me/webauthn/credentials/${encodeURIComponent(what.key.id)}`,
            ),
      )
      await refresh()
      setStatus(`Removed ${words}.`)
    } catch (failure) {
      fail(failure, 'remove-factor')
      // A key removed in another tab: show the list as it is now.
      if (failure instanceof ApiError && failure.code === 'PAL_NOT_FOUND') await refresh()
    }
  }

  async function signOut() {
    try {
      await callApi<void>('DELETE', '/v1/session')
      onSignedOut(null)
    } catch (failure) {
      fail(failure, 'sign-out')
    }
  }

  return (
    <main aria-labelledby="overview-heading">
      <header className="top">
        <h1 id="overview-heading" tabIndex={-1} ref={heading}>
          Sign-in security
        </h1>
        <p>
          Signed in as <strong>{session.user.name}</strong>{' '}
          <button type="button" className="secondary" onClick={signOut}>
            Sign out
          </button>
        </p>
      </header>
      <p role="status" className="status">
        {status}
      </p>
      <ErrorNotice error={error} id="overview-error" />
      {removal && (
        <ConfirmRemoval
          removal={removal}
          last={factorCount === 1}
          onConfirm={() => void remove(removal)}
          onKeep={() => setRemoval(null)}
        />
      )}

      <section aria-labelledby="totp-heading">
        <h2 id="totp-heading">Authenticator app</h2>
        {factors.totp ? (
          <p>
            On: sign-in asks for a code from your app. Last used:{' '}
            {readableTime(factors.totp_last_used_at, 'never')}.{' '}
            <button
              type="button"
              className="secondary"
              onClick={() => setRemoval({ kind: 'totp' })}
            >
              Remove authenticator app
            </button>
          </p>
        ) : totpStart ? (
          <TotpEnrolment
            start={totpStart}
            onConfirmed={(next) => {
              setTotpStart(null)
              onSession(next)
              setStatus('Authenticator app turned on. Sign-in now asks for a code from it.')
            }}
            onCancel={() => setTotpStart(null)}
          />
        ) : (
          <p>
            Off.{' '}
            <button type="button" onClick={startTotp}>
              Set up an authenticator app
            </button>
          </p>
        )}
      </section>

      <SecurityKeys
        keys={factors.webauthn}
        guard={guard}
        onRegistered={(next, name) => {
          onSession(next)
          setStatus(`Security key “${name}” registered.`)
        }}
        onRemove={(key) => setRemoval({ kind: 'key', key })}
      />

      <section aria-labelledby="recovery-heading">
        <h2 id="recovery-heading">Recovery codes</h2>
        {codes ? (
          <RecoveryCodes
            codes={codes}
            onDone={() => {
              setCodes(null)
              void refresh().catch((failure: unknown) => fail(failure, 'load'))
            }}
          />
        ) : factorCount === 0 ? (
          <p>Add an authenticator app or a security key first; recovery codes back them up.</p>
        ) : (
          <p>
            {factors.recovery_codes_left === 0
              ? 'No recovery codes yet: without them, losing your app and keys locks you out.'
              : `${factors.recovery_codes_left} unused recovery codes left.`}{' '}
            {factors.recovery_code_last_used_at &&
              `One was last used ${readableTime(factors.recovery_code_last_used_at, '')}. `}
            <button type="button" onClick={newCodes}>
              Create new recovery codes
            </button>
          </p>
        )}
      </section>
    </main>
  )
}

function ConfirmRemoval({
  removal,
  last,
  onConfirm,
  onKeep,
}: {
  removal: Removal
  last: boolean
  onConfirm: () => void
  onKeep: () => void
}) {
  const button = useFocusOnMount<HTMLButtonElement>()
  const name = factorName(removal)
  return (
    <div className="panel confirm" role="group" aria-labelledby="confirm-removal">
      <p id="confirm-removal">
        Remove {name}?
        {last && ' It is your only second factor: your password alone would then sign you in.'}
      </p>
      <div className="actions">
        <button type="button" ref={button} className="danger" onClick={onConfirm}>
          Remove
        </button>
        <button type="button" className="secondary" onClick={onKeep}>
          Keep it
        </button>
      </div>
    </div>
  )
}
