import { useState } from 'react'
import type { FormEvent } from 'react'

import { plainError } from '../../api/error-messages.ts'
import type { PlainError } from '../../api/error-messages.ts'
import { callApi } from '../../api/palisade-api.ts'
import { ErrorNotice, useFocusOnMount } from './error-notice.tsx'

/** NIST SP 800-63B §5.1.1.2 as the API applies it (api/routes/session-routes.ts). */
const MIN_LENGTH = 12
const MAX_LENGTH = 256

/**
 * A new person's first visit, from the one-time link `palisade users add` printed: choose a
 * password (`POST /v1/enrolment`), then sign in. The link's token arrives in the address's
 * fragment and is kept only in this component's state.
 */
export function EnrolmentForm({ token, onDone }: { token: string; onDone: () => void }) {
  const heading = useFocusOnMount<HTMLHeadingElement>()
  const [password, setPassword] = useState('')
  const [again, setAgain] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<PlainError | null>(null)

  async function submit(event: FormEvent) {
    event.preventDefault()
    if (password.length < MIN_LENGTH || password.length > MAX_LENGTH) {
      setError({
        what: `A password here is ${MIN_LENGTH} to ${MAX_LENGTH} characters long.`,
        next: 'A few unrelated words make a long password that is easy to remember.',
      })
      return
    }
    if (password !== again) {
      setError({
        what: 'The two passwords are not the same.',
        next: 'Type the same password in both fields.',
      })
      return
    }
    setBusy(true)
    setError(null)
    try {
      await callApi<void>('POST', '/v1/enrolment', { token, password })
      onDone()
    } catch (failure) {
      setError(plainError(failure, 'enrol'))
      setBusy(false)
    }
  }

  const described = error ? 'enrol-hint enrol-error' : 'enrol-hint'
  return (
    <main aria-labelledby="enrol-heading">
      <h1 id="enrol-heading" tabIndex={-1} ref={heading}>
        Choose your password
      </h1>
      <p id="enrol-hint">
        Welcome to Palisade. Choose a password of at least {MIN_LENGTH} characters; next you will
        sign in with it and add a second factor.
      </p>
      <form onSubmit={submit} aria-busy={busy} noValidate>
        <label htmlFor="enrol-password">New password</label>
        <input
          id="enrol-password"
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          aria-invalid={error !== null}
          aria-describedby={described}
        />
        <label htmlFor="enrol-again">The same password again</label>
        <input
          id="enrol-again"
          type="password"
          autoComplete="new-password"
          value={again}
          onChange={(e) => setAgain(e.target.value)}
          aria-invalid={error !== null}
          aria-describedby={error ? 'enrol-error' : undefined}
        />
        <ErrorNotice error={error} id="enrol-error" />
        <button type="submit" disabled={busy}>
          {busy ? 'Saving…' : 'Set password'}
        </button>
      </form>
    </main>
  )
}
