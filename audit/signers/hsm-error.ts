import { PalisadeError } from '../../platform/errors.ts'

/**
 * Why an HSM signer cannot sign. Codes are stable; a retired one is never reused.
 *
 * Retriable: the same configuration may work later (the token comes back, the session is
 * reopened). Not retriable: an operator must change something (module path, PIN, key).
 */
export const hsmErrorCodes = {
  PAL_HSM_MODULE_MISSING: false,
  PAL_HSM_TOKEN_MISSING: true,
  PAL_HSM_TOKEN_AMBIGUOUS: false,
  PAL_HSM_PIN_INCORRECT: false,
  PAL_HSM_SESSION_LOST: true,
  PAL_HSM_KEY_MISSING: false,
  PAL_HSM_KEY_AMBIGUOUS: false,
  PAL_HSM_KEY_MISMATCH: false,
  PAL_HSM_KEY_UNPROTECTED: false,
  PAL_HSM_MECHANISM_UNSUPPORTED: false,
  PAL_HSM_SIGNATURE_INVALID: true,
  PAL_HSM_FAILED: true,
  PAL_HSM_CLOSED: false,
} as const satisfies Record<string, boolean>

export type HsmErrorCode = keyof typeof hsmErrorCodes

/**
 * An HSM failure. The context names the module, token, key and PKCS#11 return value
 * (`ckr`), never the PIN. Status 503: the API cannot sign now, whatever asked.
 */
export class HsmError extends PalisadeError {
  declare readonly code: HsmErrorCode

  constructor(
    code: HsmErrorCode,
    message: string,
    options: { context?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(code, message, { status: 503, retriable: hsmErrorCodes[code], ...options })
    this.name = 'HsmError'
  }
}
