import { useRef, useState } from 'react'
import type { FormEvent } from 'react'

import { plainError } from '../../api/error-messages.ts'
import type { Action, PlainError } from '../../api/error-messages.ts'
import { callApi } from '../../api/palisade-api.ts'
import type { Factors, SessionInfo } from '../../api/palisade-api.ts'
import { getAssertion } from '../../webauthn/key-prompt.ts'
import { ErrorNotice } from './error-notice.tsx'

const SIX_DIGITS = /^\d{6}$/

/**
 * Proves a second factor: to finish signing in, or to confirm it is still the same person
 * before a sensitive change (step-up). Offers each factor the account has: a code from the
 * authenticator app, a security key or passkey, or a recovery code.
 */
export function SecondFactorForm({
  factors,
  idPrefix,
  onVerified,
}: {
  factors: Factors
  /** Keeps ids unique when the sign-in form and a step-up dialog are both in the page. */
  idPrefix: string
  onVerified: (session: SessionInfo) => void
}) {
  const [code, setCode] = useState('')
  const [recoveryCode, setRecoveryCode] = useState('')
  const [busy, setBusy] = useState<'totp' | 'key' | 'recovery' | null>(null)
  const [error, setError] = useState<{ on: 'totp' | 'key' | 'recovery'; e: PlainError } | null>(
    null,
  )
  const prompt = useRef<AbortController | null>(null)

  async function attempt(
    on: 'totp' | 'key' | 'recovery',
    action: Action,
    run: () => Promise<SessionInfo>,
  ) {
    setBusy(on)
    setError(null)
    try {
      const session = await run()
      setCode('')
      setRecoveryCode('')
      onVerified(session)
    } catch (failure) {
      setError({ on, e: plainError(failure, action) })
    } finally {
      prompt.current = null
      setBusy(null)
    }
  }

  function submitTotp(event: FormEvent) {
    event.preventDefault()
    if (!SIX_DIGITS.test(code)) {
      setError({
        on: 'totp',
        e: { what: 'A code is six digits.', next: 'Enter the six digits your app shows now.' },
      })
      return
    }
    void attempt('totp', 'verify-totp', () =>
      callApi<SessionInfo>('POST', '/v1/session/totp', { code }),
    )
  }

  function promptKey() {
    const controller = new AbortController()
    prompt.current = controller
    void attempt('key', 'verify-key', async () => {
      const options = await callApi<unknown>('POST', '/v1/session/webauthn/options')
      const response = await getAssertion(options, controller.signal)
      return callApi<SessionInfo>('POST', '/v1/session/webauthn', response)
    })
  }

  function submitRecovery(event: FormEvent) {
    event.preventDefault()
    const typed = recoveryCode.trim().toUpperCase()
    if (typed === '') {
      setError({
        on: 'recovery',
        e: { what: 'No recovery code was entered.', next: 'Type one code from your saved list.' },
      })
      return
    }
    void attempt('recovery', 'recovery-code', () =>
      callApi<SessionInfo>('POST', '/v1/session/recovery-code', { code: typed }),
    )
  }

  const errorOn = (on: 'totp' | 'key' | 'recovery') => (error?.on === on ? error.e : null)
  const id = (name: string) => `${idPrefix}-${name}`

  return (
    <div className="factors">
      {factors.totp && (
        <form onSubmit={submitTotp} aria-labelledby={id('totp-heading')} noValidate>
          <h2 id={id('totp-heading')}>Code from your authenticator app</h2>
          <label htmlFor={id('totp-code')}>6-digit code</label>
          <input
            id={id('totp-code')}
            inputMode="numeric"
            autoComplete="one-time-code"
            maxLength={6}
            value={code}
            onChange={(e) => setCode(e.target.value.replace(/\s/g, ''))}
            aria-invalid={errorOn('totp') !== null}
            aria-describedby={errorOn('totp') ? id('totp-error') : undefined}
          />
          <ErrorNotice error={errorOn('totp')} id={id('totp-error')} />
          <button type="submit" disabled={busy !== null}>
            {busy === 'totp' ? 'Checking…' : 'Confirm code'}
          </button>
        </form>
      )}
      {factors.webauthn.length > 0 && (
        <section aria-labelledby={id('key-heading')}>
          <h2 id={id('key-heading')}>Security key or passkey</h2>
          <ErrorNotice error={errorOn('key')} id={id('key-error')} />
          {busy === 'key' ? (
            <p role="status">
              Touch your security key or confirm on your device now.{' '}
              <button type="button" onClick={() => prompt.current?.abort()}>
                Cancel
              </button>
            </p>
          ) : (
            <button type="button" onClick={promptKey} disabled={busy !== null}>
              Use my security key
            </button>
          )}
        </section>
      )}
      <form onSubmit={submitRecovery} aria-labelledby={id('recovery-heading')} noValidate>
        <h2 id={id('recovery-heading')}>Recovery code</h2>
        <p className="hint" id={id('recovery-hint')}>
          If you have lost your app and keys, use one of the codes you saved. Each works once.
        </p>
        <label htmlFor={id('recovery-code')}>Recovery code</label>
        <input
          id={id('recovery-code')}
          autoComplete="off"
          spellCheck={false}
          value={recoveryCode}
          onChange={(e) => setRecoveryCode(e.target.value)}
          aria-invalid={errorOn('recovery') !== null}
          aria-describedby={
            errorOn('recovery')
              ? `${id('recovery-hint')} ${id('recovery-error')}`
              : id('recovery-hint')
          }
        />
        <ErrorNotice error={errorOn('recovery')} id={id('recovery-error')} />
        <button type="submit" disabled={busy !== null}>
          {busy === 'recovery' ? 'Checking…' : 'Use recovery code'}
        </button>
      </form>
    </div>
  )
}
