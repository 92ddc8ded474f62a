import { useState } from 'react'

import { useFocusOnMount } from './error-notice.tsx'

/**
 * New recovery codes, shown this once: the API keeps only their hashes, and this component's
 * state is dropped when the person says they saved them. Copy puts them on the clipboard;
 * download saves them as a text file, made in the page (a Blob) so they never travel again.
 */
export function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  const heading = useFocusOnMount<HTMLHeadingElement>()
  const [status, setStatus] = useState('')
  const text = codes.join('\n') + '\n'

  async function copy() {
    try {
      await navigator.clipboard.writeText(text)
      setStatus('Copied the 10 codes to the clipboard.')
    } catch {
      setStatus('The browser did not allow copying. Download them or write them down instead.')
    }
  }

  function download() {
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }))
    const link = document.createElement('a')
    link.href = url
    link.download = 'palisade-recovery-codes.txt'
    link.click()
    // Revoked once the download has surely started: revoking at once can cancel it.
    setTimeout(() => URL.revokeObjectURL(url), 1000)
    setStatus('Saved palisade-recovery-codes.txt to your downloads.')
  }

  return (
    <section className="panel" aria-labelledby="codes-heading">
      <h3 id="codes-heading" tabIndex={-1} ref={heading}>
        Save your recovery codes now
      </h3>
      <p>
        Each code signs you in once if you lose your app and keys. This is the only time they are
        shown: keep them somewhere safe, away from this device. Codes you had before no longer work.
      </p>
      <ol className="codes" aria-label="Recovery codes">
        {codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ol>
      <div className="actions">
        <button type="button" onClick={copy}>
          Copy codes
        </button>
        <button type="button" onClick={download}>
          Download codes
        </button>
        <button type="button" className="secondary" onClick={onDone}>
          I have saved them
        </button>
      </div>
      <p role="status">{status}</p>
    </section>
  )
}
