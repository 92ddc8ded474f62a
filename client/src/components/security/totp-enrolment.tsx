import { useState } from 'react'
import type { FormEvent } from 'react'

import { plainError } from '../../api/error-messages.ts'
import type { PlainError } from '../../api/error-messages.ts'
import { callApi } from '../../api/palisade-api.ts'
import type { SessionInfo } from '../../api/palisade-api.ts'
import { ErrorNotice, useFocusOnMount } from './error-notice.tsx'

/** What `POST /v1/me/totp` answers: the secret as an otpauth URI, and that URI as a QR code. */
export interface TotpStart {
  otpauth_uri: string
  qr_svg: string
}

/**
 * The second half of setting up an authenticator app: scan the QR code (or type the key by
 * hand), then confirm a code from it. The secret lives only in this component's state, which
 * is dropped when it closes: it is never written to storage.
 */
export function TotpEnrolment({
  start,
  onConfirmed,
  onCancel,
}: {
  start: TotpStart
  onConfirmed: (session: SessionInfo) => void
  onCancel: () => void
}) {
  const heading = useFocusOnMount<HTMLHeadingElement>()
  const [code, setCode] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<PlainError | null>(null)
  const secret = new URL(start.otpauth_uri).searchParams.get('secret') ?? ''
  const grouped = secret.match(/.{1,4}/g)?.join(' ') ?? secret

  async function submit(event: FormEvent) {
    event.preventDefault()
    if (!/^\d{6}$/.test(code)) {
      setError({ what: 'A code is six digits.', next: 'Enter the six digits your app shows now.' })
      return
    }
    setBusy(true)
    setError(null)
    try {
      const session = await callApi<SessionInfo>('POST', '/v1/me/totp/confirm', { code })
      onConfirmed(session)
    } catch (failure) {
      setError(plainError(failure, 'confirm-totp'))
      setBusy(false)
    }
  }

  return (
    <section className="panel" aria-labelledby="totp-setup-heading">
      <h3 id="totp-setup-heading" tabIndex={-1} ref={heading}>
        Add Palisade to your authenticator app
      </h3>
      <ol className="steps">
        <li>
          <p>Scan this QR code with your authenticator app.</p>
          <figure>
            <img
              className="qr"
              src={`data:image/svg+xml,${encodeURIComponent(start.qr_svg)}`}
              alt={
                'QR code that adds Palisade to an authenticator app. If you cannot scan it, ' +
                'type the setup key shown next to it into the app instead.'
              }
              width={200}
              height={200}
            />
          </figure>
        </li>
        <li>
          <p>Or type this setup key into the app (time-based, 30 seconds):</p>
          <p>
            <code className="secret">{grouped}</code>
          </p>
          <p>
            <a href={start.otpauth_uri}>Open in an authenticator app on this device</a>
          </p>
        </li>
        <li>
          <form onSubmit={submit} aria-busy={busy} noValidate>
            <label htmlFor="totp-confirm-code">Enter the 6-digit code the app shows</label>
            <input
              id="totp-confirm-code"
              inputMode="numeric"
              autoComplete="one-time-code"
              maxLength={6}
              value={code}
              onChange={(e) => setCode(e.target.value.replace(/\s/g, ''))}
              aria-invalid={error !== null}
              aria-describedby={error ? 'totp-confirm-error' : undefined}
            />
            <ErrorNotice error={error} id="totp-confirm-error" />
            <div className="actions">
              <button type="submit" disabled={busy}>
                {busy ? 'Checking…' : 'Turn on authenticator app'}
              </button>
              <button type="button" className="secondary" onClick={onCancel} disabled={busy}>
                Cancel set-up
              </button>
            </div>
          </form>
        </li>
      </ol>
    </section>
  )
}
