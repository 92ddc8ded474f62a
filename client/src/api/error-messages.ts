import { ApiError } from './palisade-api.ts'

/** What the person was doing when something failed: some codes mean different things. */
export type Action =
  | 'load'
  | 'enrol'
  | 'sign-in'
  | 'sign-out'
  | 'verify-totp'
  | 'confirm-totp'
  | 'start-totp'
  | 'register-key'
  | 'verify-key'
  | 'recovery-code'
  | 'new-recovery-codes'
  | 'remove-factor'

/** An error in plain words: what happened, and what to do next. */
export interface PlainError {
  what: string
  next: string
}

type Phrase = PlainError | ((error: ApiError, action: Action) => PlainError)

const SIGN_IN_AGAIN = 'Sign in again to continue.'

/**
 * Every error code the session and factor routes answer (api/routes/session-routes.ts,
 * factor-routes.ts, error-responses.ts), and the cross-origin check's, in plain words. A unit
 * test keeps this table in step with the codes the routes declare.
 */
export const API_ERRORS: Record<string, Phrase> = {
  PAL_SIGN_IN_FAILED: {
    what: 'The name or the password is not right.',
    next: 'Check both and try again. Five failed tries pause sign-in from here for 15 minutes.',
  },
  PAL_LOCKED_OUT: (error) => ({
    what: 'There were too many failed attempts, so this is paused for now.',
    next: `Wait ${waitFor(error)} and try again.`,
  }),
  PAL_TOTP_REFUSED: (error, action) =>
    action === 'confirm-totp'
      ? {
          what: 'That code does not match the QR code on this page.',
          next:
            'Enter the code your app shows now for the entry you just added. If you started ' +
            'set-up in another tab or window, finish it there, or start again here.',
        }
      : error.context['reason'] === 'replayed'
        ? {
            what: 'That code was already used.',
            next: 'Wait for your app to show a new code (at most 30 seconds), then enter it.',
          }
        : {
            what: 'That code is not right, or it is too old.',
            next:
              'Enter the code your authenticator app shows now. If it keeps failing, check ' +
              'that your device sets its clock automatically.',
          },
  PAL_RECOVERY_CODE_REFUSED: {
    what: 'That recovery code is wrong or was already used.',
    next: 'Check it against your saved list: each code works once.',
  },
  PAL_WEBAUTHN_NO_CHALLENGE: {
    what: 'The security key request expired or was already answered.',
    next: 'Try again, and touch your key within 5 minutes.',
  },
  PAL_WEBAUTHN_REFUSED: (error) =>
    error.status === 409
      ? {
          what: 'This security key is already registered to an account.',
          next: 'Use another key, or sign in with this one.',
        }
      : {
          what: 'Your security key’s answer was not accepted.',
          next:
            'Try again with a key registered to this account. If it keeps failing, use ' +
            'another sign-in method.',
        },
  PAL_ATTESTATION_REQUIRED: {
    what: 'This server only accepts security keys that prove their make, and this one did not.',
    next: 'Use another security key, or ask your administrator which keys are accepted.',
  },
  PAL_CLONED_AUTHENTICATOR: {
    what: 'This security key was refused because it may have been copied.',
    next:
      'Your administrators have been alerted. Sign in another way, then remove this key from ' +
      'your account.',
  },
  PAL_FACTOR_ABSENT: (_error, action) =>
    action === 'confirm-totp'
      ? {
          what: 'This authenticator app set-up is no longer pending.',
          next: 'Start the set-up again to get a new QR code.',
        }
      : {
          what: 'That sign-in method is not set up for your account.',
          next: 'Choose another method.',
        },
  PAL_KEK_MISSING: {
    what: 'Authenticator apps cannot be used on this server yet.',
    next: 'Use a security key for now, and ask your administrator to set PALISADE_KEK.',
  },
  PAL_NOT_FOUND: {
    what: 'That security key is no longer on your account; it may have been removed elsewhere.',
    next: 'The list below is up to date now.',
  },
  PAL_SESSION_REQUIRED: { what: 'You are signed out.', next: SIGN_IN_AGAIN },
  PAL_SESSION_INVALID: { what: 'You were signed out.', next: SIGN_IN_AGAIN },
  PAL_SESSION_EXPIRED: {
    what: 'Your session ended: it was idle too long or reached its time limit.',
    next: SIGN_IN_AGAIN,
  },
  PAL_MFA_REQUIRED: {
    what: 'You have not finished signing in.',
    next: 'Confirm with your second factor first.',
  },
  step_up_required: {
    what: 'This change needs you to confirm it is you.',
    next: 'Confirm with a code, your security key or a recovery code, then it goes ahead.',
  },
  PAL_INVALID_REQUEST: {
    what: 'Something entered is not in the expected form.',
    next: 'Check what you typed and try again.',
  },
  PAL_CROSS_ORIGIN: {
    what: 'The request was blocked because it did not come from Palisade’s own page.',
    next: 'Open this page from your Palisade address and try again.',
  },
  PAL_ENROLMENT_INVALID: {
    what: 'The enrolment link is unknown, already used or expired.',
    next: 'Ask an administrator for a new link.',
  },
  STEP_UP_CANCELLED: {
    what: 'You did not confirm it is you, so nothing was changed.',
    next: 'Try again when you have your app, key or a recovery code at hand.',
  },
  NETWORK: {
    what: 'Palisade could not be reached.',
    next: 'Check your connection, then try again.',
  },
}

/** The browser's own WebAuthn errors (WebAuthn Level 3 §5.1.3, §5.1.4), in plain words. */
const KEY_PROMPT_ERRORS: Record<string, PlainError> = {
  NotAllowedError: {
    what: 'The security key prompt was cancelled or timed out. Nothing was changed.',
    next: 'Try again, and touch your key when it asks.',
  },
  AbortError: {
    what: 'The security key prompt was cancelled. Nothing was changed.',
    next: 'Try again when your key is at hand.',
  },
  InvalidStateError: {
    what: 'This security key is already registered to your account.',
    next: 'Use another key, or give this one a clearer name by removing and adding it.',
  },
  SecurityError: {
    what: 'The browser refused to use a security key on this address.',
    next: 'Open Palisade at the address your administrator gave you (https, or localhost).',
  },
  NotSupportedError: {
    what: 'This browser or key does not support what Palisade asks for.',
    next: 'Try another browser or another security key.',
  },
}

/** Any failure of `action` in plain words, with what to do next. */
export function plainError(error: unknown, action: Action): PlainError {
  if (error instanceof ApiError) {
    const phrase = API_ERRORS[error.code]
    if (typeof phrase === 'function') return phrase(error, action)
    if (phrase) return phrase
    return {
      what: `Palisade could not do this (${error.code}).`,
      next: 'Try again. If it keeps happening, tell your administrator this code.',
    }
  }
  if (error instanceof DOMException && KEY_PROMPT_ERRORS[error.name]) {
    return KEY_PROMPT_ERRORS[error.name]!
  }
  return {
    what: 'Something unexpected went wrong on this page.',
    next: 'Reload the page and try again.',
  }
}

function waitFor(error: ApiError): string {
  const seconds = Number(error.context['retry_after_seconds'])
  if (!Number.isFinite(seconds) || seconds <= 0) return 'a few minutes'
  const minutes = Math.ceil(seconds / 60)
  return minutes <= 1 ? 'a minute' : `${minutes} minutes`
}
