import { useState } from 'react'
import type { FormEvent } from 'react'

import { plainError } from '../../api/error-messages.ts'
import type { PlainError } from '../../api/error-messages.ts'
import { callApi } from '../../api/palisade-api.ts'
import type { Factors } from '../../api/palisade-api.ts'
import { ErrorNotice, useFocusOnMount } from './error-notice.tsx'

export interface SignedInAnswer {
  mfa_required: boolean
  factors: Factors
}

/** The first step: name and password (`POST /v1/session`). */
export function SignInForm({
  notice,
  welcome,
  onSignedIn,
}: {
  notice: PlainError | null
  /** Good news from the step before (a password just set), read out politely. */
  welcome: string | null
  onSignedIn: (answer: SignedInAnswer) => void
}) {
  const heading = useFocusOnMount<HTMLHeadingElement>()
  const [name, setName] = useState('')
  const [password, setPassword] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<PlainError | null>(null)

  async function submit(event: FormEvent) {
    event.preventDefault()
    setBusy(true)
    setError(null)
    try {
      const answer = await callApi<SignedInAnswer>('POST', '/v1/session', { name, password })
      setPassword('')
      onSignedIn(answer)
    } catch (failure) {
      setError(plainError(failure, 'sign-in'))
      setBusy(false)
    }
  }

  return (
    <main aria-labelledby="sign-in-heading">
      <h1 id="sign-in-heading" tabIndex={-1} ref={heading}>
        Sign in to Palisade
      </h1>
      <p role="status" className="status">
        {welcome}
      </p>
      <ErrorNotice error={notice} id="sign-in-notice" />
      <form onSubmit={submit} aria-busy={busy} noValidate>
        <label htmlFor="sign-in-name">Name</label>
        <input
          id="sign-in-name"
          name="username"
          autoComplete="username"
          required
          value={name}
          onChange={(e) => setName(e.target.value)}
          aria-invalid={error !== null}
          aria-describedby={error ? 'sign-in-error' : undefined}
        />
        <label htmlFor="sign-in-password">Password</label>
        <input
          id="sign-in-password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          aria-invalid={error !== null}
          aria-describedby={error ? 'sign-in-error' : undefined}
        />
        <ErrorNotice error={error} id="sign-in-error" />
        <button type="submit" disabled={busy || name === '' || password === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  )
}
