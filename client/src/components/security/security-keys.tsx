import { useRef, useState } from 'react'
import type { FormEvent } from 'react'

import { plainError } from '../../api/error-messages.ts'
import type { PlainError } from '../../api/error-messages.ts'
import { callApi } from '../../api/palisade-api.ts'
import type { SecurityKey, SessionInfo } from '../../api/palisade-api.ts'
import { createCredential, keysSupported } from '../../webauthn/key-prompt.ts'
import { ErrorNotice, readableTime } from './error-notice.tsx'
import type { Guard } from './factor-overview.tsx'

/** The account's security keys and passkeys, with when each was last used, and a new one. */
export function SecurityKeys({
  keys,
  guard,
  onRegistered,
  onRemove,
}: {
  keys: SecurityKey[]
  guard: Guard
  onRegistered: (session: SessionInfo, name: string) => void
  onRemove: (key: SecurityKey) => void
}) {
  const [name, setName] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<PlainError | null>(null)
  const prompt = useRef<AbortController | null>(null)

  async function register(event: FormEvent) {
    event.preventDefault()
    const trimmed = name.trim()
    if (trimmed === '') {
      setError({
        what: 'The new key needs a name.',
        next: 'Name it so you can tell your keys apart, for example "Blue key on my keyring".',
      })
      return
    }
    const controller = new AbortController()
    prompt.current = controller
    setBusy(true)
    setError(null)
    try {
      const options = await guard('register a security key', () =>
        callApi<unknown>('POST', '/v1/me/webauthn/registration-options'),
      )
      const response = await createCredential(options, controller.signal)
      const answer = await callApi<{ session: SessionInfo }>(
        'POST',
        '/v1/me/webauthn/credentials',
        { name: trimmed, response },
      )
      setName('')
      onRegistered(answer.session, trimmed)
    } catch (failure) {
      setError(plainError(failure, 'register-key'))
    } finally {
      prompt.current = null
      setBusy(false)
    }
  }

  return (
    <section aria-labelledby="keys-heading">
      <h2 id="keys-heading">Security keys and passkeys</h2>
      {keys.length === 0 ? (
        <p>No security key or passkey yet.</p>
      ) : (
        <table>
          <caption className="visually-hidden">Your security keys and passkeys</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Added</th>
              <th scope="col">Last used</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {keys.map((key) => (
              <tr key={key.id}>
                <th scope="row">{key.name}</th>
                <td>{readableTime(key.created_at, '')}</td>
                <td>{readableTime(key.last_used_at, 'Never')}</td>
                <td>
                  <button
                    type="button"
                    className="secondary"
                    aria-label={`Remove security key ${key.name}`}
                    onClick={() => onRemove(key)}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {keysSupported() ? (
        <form onSubmit={register} aria-busy={busy} noValidate>
          <label htmlFor="key-name">Name for a new key</label>
          <input
            id="key-name"
            maxLength={100}
            value={name}
            onChange={(e) => setName(e.target.value)}
            aria-invalid={error !== null}
            aria-describedby={error ? 'key-name-hint key-error' : 'key-name-hint'}
          />
          <p className="hint" id="key-name-hint">
            For example “Blue key on my keyring” or “Laptop passkey”.
          </p>
          <ErrorNotice error={error} id="key-error" />
          {busy ? (
            <p role="status">
              Touch your security key or confirm on your device now.{' '}
              <button type="button" onClick={() => prompt.current?.abort()}>
                Cancel
              </button>
            </p>
          ) : (
            <button type="submit">Register a security key</button>
          )}
        </form>
      ) : (
        <p>
          This browser cannot use security keys or passkeys. Try a current Chrome, Firefox or
          Safari.
        </p>
      )}
    </section>
  )
}
