import { useCallback, useEffect, useState } from 'react'

import type { PlainError } from '../../api/error-messages.ts'
import { ApiError, callApi } from '../../api/palisade-api.ts'
import type { Factors, SessionInfo } from '../../api/palisade-api.ts'
import { EnrolmentForm } from './enrolment-form.tsx'
import { useFocusOnMount } from './error-notice.tsx'
import { FactorOverview } from './factor-overview.tsx'
import type { Guard } from './factor-overview.tsx'
import { SecondFactorForm } from './second-factor-form.tsx'
import { SignInForm } from './sign-in-form.tsx'
import { StepUpDialog } from './step-up-dialog.tsx'

/**
 * Read once, when the page loads: React runs effects twice in development (StrictMode), and
 * the second run must not find the address already cleaned and sign-in shown instead.
 */
const linkToken = enrolmentToken()

type View =
  | { kind: 'loading' }
  | { kind: 'enrol'; token: string }
  | { kind: 'signed-out'; notice: PlainError | null; welcome?: string }
  | { kind: 'second-factor'; factors: Factors }
  | { kind: 'overview'; session: SessionInfo }

interface StepUp {
  what: string
  factors: Factors
  verified: (session: SessionInfo) => void
  cancel: () => void
}

/**
 * The MFA set-up page: sign in (password, then a second factor when the account has one),
 * then see, add and remove second factors: an authenticator app from a QR code, security keys
 * and passkeys by name, and recovery codes shown once. Changes that need a recent second
 * factor (step-up) ask for one in a dialog and then go ahead.
 */
export function MfaSetup() {
  const [view, setView] = useState<View>({ kind: 'loading' })
  const [stepUp, setStepUp] = useState<StepUp | null>(null)

  const show = useCallback((session: SessionInfo) => {
    setView(
      session.mfa_required
        ? { kind: 'second-factor', factors: session.factors }
        : { kind: 'overview', session },
    )
  }, [])

  useEffect(() => {
    if (linkToken) {
      setView({ kind: 'enrol', token: linkToken })
      return
    }
    callApi<SessionInfo>('GET', '/v1/session').then(show, () =>
      setView({ kind: 'signed-out', notice: null }),
    )
  }, [show])

  const guard: Guard = useCallback(
    <T,>(what: string, run: () => Promise<T>) =>
      run().catch((error: unknown) => {
        if (!(error instanceof ApiError && error.code === 'step_up_required')) throw error
        const factors = view.kind === 'overview' ? view.session.factors : undefined
        if (!factors) throw error
        return new Promise<T>((resolve, reject) => {
          setStepUp({
            what,
            factors,
            verified: (session) => {
              setStepUp(null)
              show(session)
              run().then(resolve, reject)
            },
            cancel: () => {
              setStepUp(null)
              reject(new ApiError('STEP_UP_CANCELLED', 0, 'step-up cancelled', {}))
            },
          })
        })
      }),
    [view, show],
  )

  switch (view.kind) {
    case 'loading':
      return (
        <main aria-busy="true">
          <p role="status">Loading…</p>
        </main>
      )
    case 'enrol':
      return (
        <EnrolmentForm
          token={view.token}
          onDone={() =>
            setView({
              kind: 'signed-out',
              notice: null,
              welcome: 'Your password is set. Sign in with it to add a second factor.',
            })
          }
        />
      )
    case 'signed-out':
      return (
        <SignInForm
          notice={view.notice}
          welcome={view.welcome ?? null}
          onSignedIn={(answer) =>
            answer.mfa_required
              ? setView({ kind: 'second-factor', factors: answer.factors })
              : callApi<SessionInfo>('GET', '/v1/session').then(show, () =>
                  setView({ kind: 'signed-out', notice: null }),
                )
          }
        />
      )
    case 'second-factor':
      return (
        <SecondFactor
          factors={view.factors}
          onVerified={show}
          onSignedOut={(notice) => setView({ kind: 'signed-out', notice })}
        />
      )
    case 'overview':
      return (
        <>
          <FactorOverview
            session={view.session}
            guard={guard}
            onSession={show}
            onSignedOut={(notice) => {
              setStepUp(null)
              setView({ kind: 'signed-out', notice })
            }}
          />
          {stepUp && (
            <StepUpDialog
              factors={stepUp.factors}
              what={stepUp.what}
              onVerified={stepUp.verified}
              onCancel={stepUp.cancel}
            />
          )}
        </>
      )
  }
}

function SecondFactor({
  factors,
  onVerified,
  onSignedOut,
}: {
  factors: Factors
  onVerified: (session: SessionInfo) => void
  onSignedOut: (notice: PlainError | null) => void
}) {
  const heading = useFocusOnMount<HTMLHeadingElement>()
  return (
    <main aria-labelledby="second-factor-heading">
      <h1 id="second-factor-heading" tabIndex={-1} ref={heading}>
        Confirm it is you
      </h1>
      <p>Your password was right. Finish signing in with one of your second factors.</p>
      <SecondFactorForm factors={factors} idPrefix="sign-in" onVerified={onVerified} />
      <p>
        <button
          type="button"
          className="secondary"
          onClick={() => {
            void callApi<void>('DELETE', '/v1/session')
              .catch(() => undefined)
              .then(() => onSignedOut(null))
          }}
        >
          Cancel and sign out
        </button>
      </p>
    </main>
  )
}

/**
 * The token of an enrolment link (`/enrol#pal_enrol_…`, as `palisade users add` prints it),
 * taken out of the address at once so it stays in no history entry or bookmark.
 */
function enrolmentToken(): string | null {
  const token = window.location.hash.slice(1)
  if (window.location.pathname !== '/enrol' || !token.startsWith('pal_enrol_')) return null
  window.history.replaceState(null, '', '/security/')
  return token
}
