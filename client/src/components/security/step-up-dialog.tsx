import { useEffect, useRef } from 'react'

import type { Factors, SessionInfo } from '../../api/palisade-api.ts'
import { SecondFactorForm } from './second-factor-form.tsx'

/**
 * Asks the person to prove a second factor again before a sensitive change (the API answered
 * `step_up_required`). A modal <dialog>: focus moves into it and stays there, Escape cancels.
 */
export function StepUpDialog({
  factors,
  what,
  onVerified,
  onCancel,
}: {
  factors: Factors
  /** The change waiting for it, in words: "remove the security key "Desk key"". */
  what: string
  onVerified: (session: SessionInfo) => void
  onCancel: () => void
}) {
  const dialog = useRef<HTMLDialogElement>(null)
  useEffect(() => {
    const element = dialog.current
    if (element && !element.open) element.showModal()
    return () => element?.close()
  }, [])

  return (
    <dialog
      ref={dialog}
      aria-labelledby="step-up-heading"
      aria-describedby="step-up-why"
      onCancel={(event) => {
        event.preventDefault()
        onCancel()
      }}
    >
      <h2 id="step-up-heading">Confirm it is you</h2>
      <p id="step-up-why">
        To {what}, confirm with one of your second factors. Nothing changes until you do.
      </p>
      <SecondFactorForm factors={factors} idPrefix="step-up" onVerified={onVerified} />
      <button type="button" className="secondary" onClick={onCancel}>
        Cancel
      </button>
    </dialog>
  )
}
