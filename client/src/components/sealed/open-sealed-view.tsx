import { useId, useState } from 'react'
import type { ChangeEvent, FormEvent } from 'react'

import { CryptoError } from '../../../../crypto/crypto-error.ts'
import { openSealedEvent } from '../../../../crypto/open-sealed-event.ts'
import type { UnopenedField } from '../../../../crypto/open-sealed-event.ts'
import { EventsTextError, readEvents } from '../../../../crypto/read-events.ts'
import { parseKeyFile, unwrapPrivateKey } from '../../../../crypto/wrap-private-key.ts'
import type { WrappedKeyFile } from '../../../../crypto/wrap-private-key.ts'
import type { PlainError } from '../../api/error-messages.ts'
import { ErrorNotice } from '../security/error-notice.tsx'

interface Opened {
  event: Record<string, unknown>
  opened: string[]
  unopened: UnopenedField[]
}

const NOT_A_KEY_FILE: PlainError = {
  what: 'This file is not a Palisade sealing key file.',
  next: 'Load the file palisade sealing-key generate wrote.',
}

/** What went wrong reading the export, the key file or the passphrase, in plain words. */
function plain(error: unknown): PlainError {
  if (error instanceof EventsTextError) {
    return { what: error.message, next: 'Paste or load the export again.' }
  }
  if (error instanceof CryptoError && error.code === 'PAL_CRYPTO_WRONG_PASSPHRASE') {
    return {
      what: 'The passphrase does not open this key file.',
      next: 'Check the passphrase (and that this is the right key file) and try again.',
    }
  }
  if (error instanceof CryptoError && error.code === 'PAL_CRYPTO_KEY_INVALID') return NOT_A_KEY_FILE
  if (error instanceof CryptoError) {
    return { what: error.message, next: 'Check the export and the key file, then try again.' }
  }
  return { what: 'Something went wrong opening the events.', next: 'Reload the page and retry.' }
}

/**
 * Opens the sealed fields of exported events on the analyst's own machine: the key file is
 * read, unwrapped and used in this page's memory only. Nothing is sent anywhere (the page
 * makes no request of its own) and nothing is stored; the passphrase is dropped once used.
 */
export function OpenSealedView() {
  const ids = { key: useId(), events: useId(), pass: useId(), error: useId() }
  const [keyFile, setKeyFile] = useState<WrappedKeyFile | null>(null)
  const [eventsText, setEventsText] = useState('')
  const [passphrase, setPassphrase] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<PlainError | null>(null)
  const [results, setResults] = useState<Opened[] | null>(null)

  async function loadKey(change: ChangeEvent<HTMLInputElement>) {
    setError(null)
    setKeyFile(null)
    const file = change.target.files?.[0]
    if (!file) return
    try {
      setKeyFile(parseKeyFile(JSON.parse(await file.text())))
    } catch (cause) {
      setError(cause instanceof SyntaxError ? NOT_A_KEY_FILE : plain(cause))
    }
  }

  async function loadEvents(change: ChangeEvent<HTMLInputElement>) {
    const file = change.target.files?.[0]
    if (file) setEventsText(await file.text())
  }

  async function open(submit: FormEvent) {
    submit.preventDefault()
    if (!keyFile) return
    setBusy(true)
    setError(null)
    setResults(null)
    try {
      const events = readEvents(eventsText)
      const key = await unwrapPrivateKey(keyFile, passphrase)
      const opened: Opened[] = []
      for (const event of events) opened.push(await openSealedEvent(event, [key]))
      key.privateKey.fill(0)
      setResults(opened)
    } catch (cause) {
      setError(plain(cause))
    } finally {
      setPassphrase('')
      setBusy(false)
    }
  }

  return (
    <main>
      <h1>Open sealed fields</h1>
      <p>
        Your key file, passphrase and the opened values stay in this page: nothing is sent or saved.
        Close the tab when you are done.
      </p>
      <form onSubmit={(e) => void open(e)} aria-describedby={error ? ids.error : undefined}>
        <label htmlFor={ids.key}>Key file</label>
        <input id={ids.key} type="file" accept=".json,application/json" onChange={loadKey} />
        {keyFile && <p className="hint">Key {keyFile.kid}</p>}

        <label htmlFor={ids.events}>Events (a JSON export, or one event a line)</label>
        <input type="file" aria-label="Load events from a file" onChange={loadEvents} />
        <textarea
          id={ids.events}
          rows={8}
          spellCheck={false}
          value={eventsText}
          onChange={(e) => setEventsText(e.target.value)}
        />

        <label htmlFor={ids.pass}>Passphrase</label>
        <input
          id={ids.pass}
          type="password"
          autoComplete="off"
          value={passphrase}
          onChange={(e) => setPassphrase(e.target.value)}
        />

        <button type="submit" disabled={busy || !keyFile || passphrase === ''}>
          {busy ? 'Opening…' : 'Open'}
        </button>
      </form>
      <ErrorNotice error={error} id={ids.error} />
      {results && <OpenedEvents results={results} />}
    </main>
  )
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`
}

function OpenedEvents({ results }: { results: Opened[] }) {
  const opened = results.reduce((n, r) => n + r.opened.length, 0)
  return (
    <section aria-labelledby="opened-heading">
      <h2 id="opened-heading" tabIndex={-1}>
        {count(results.length, 'event')}, {count(opened, 'field')} opened
      </h2>
      {results.map((r, i) => (
        <article key={i} className="opened-event">
          <h3>{typeof r.event.id === 'string' ? r.event.id : `Event ${i + 1}`}</h3>
          {r.unopened.length > 0 && (
            <ul className="unopened">
              {r.unopened.map((u) => (
                <li key={u.field}>
                  {u.field} stays sealed: {u.message}
                </li>
              ))}
            </ul>
          )}
          <pre>{JSON.stringify(r.event, null, 2)}</pre>
        </article>
      ))}
    </section>
  )
}
