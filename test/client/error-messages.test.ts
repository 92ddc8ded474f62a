import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { API_ERRORS, plainError } from '../../client/src/api/error-messages.ts'
import type { Action } from '../../client/src/api/error-messages.ts'
import { ApiError } from '../../client/src/api/palisade-api.ts'
import { repoRoot } from '../helpers/test-engine.ts'

/** Every error code the routes the page calls can answer, read from their source. */
const declared = [
  'api/routes/session-routes.ts',
  'api/routes/factor-routes.ts',
  'api/routes/error-responses.ts',
  'api/auth.ts',
  'api/cross-origin-check.ts',
]
  .flatMap((file) => [
    ...readFileSync(join(repoRoot, file), 'utf8').matchAll(/'(PAL_[A-Z_]+|step_up_required)'/g),
  ])
  .map((match) => match[1]!)
  // Bearer-token and role answers: the page only ever sends its session cookie.
  .filter(
    (code) =>
      !['PAL_AUTH_MISSING', 'PAL_AUTH_MALFORMED', 'PAL_AUTH_UNKNOWN', 'PAL_AUTH_SCOPE'].includes(
        code,
      ),
  )

const actions: Action[] = [
  'sign-in',
  'verify-totp',
  'confirm-totp',
  'register-key',
  'remove-factor',
]

describe('errors shown on the MFA set-up page', () => {
  it('has plain words for every error code the session and factor routes declare', () => {
    expect(declared.length).toBeGreaterThan(15)
    const missing = [...new Set(declared)].filter((code) => !(code in API_ERRORS))
    expect(missing).toEqual([])
  })

  it.each([...new Set(declared)])('says what happened and what to do next for %s', (code) => {
    for (const action of actions) {
      const plain = plainError(new ApiError(code, 400, 'a message', {}), action)
      expect(plain.what).toMatch(/\.$/)
      expect(plain.next).toMatch(/\.$/)
      expect(plain.what).not.toContain(code)
    }
  })

  it('tells a locked-out person how long to wait, from the answer', () => {
    const locked = new ApiError('PAL_LOCKED_OUT', 429, 'too many', { retry_after_seconds: 600 })
    expect(plainError(locked, 'sign-in').next).toBe('Wait 10 minutes and try again.')
  })

  it('tells a reused code from a wrong one', () => {
    const replayed = new ApiError('PAL_TOTP_REFUSED', 401, 'used', { reason: 'replayed' })
    expect(plainError(replayed, 'verify-totp').what).toBe('That code was already used.')
    const wrong = new ApiError('PAL_TOTP_REFUSED', 401, 'wrong', { reason: 'wrong' })
    expect(plainError(wrong, 'verify-totp').what).toBe('That code is not right, or it is too old.')
  })

  it('names a code it does not know, so the person can report it', () => {
    const unknown = new ApiError('PAL_SOMETHING_NEW', 500, 'new', {})
    expect(plainError(unknown, 'load').what).toContain('PAL_SOMETHING_NEW')
  })

  it('puts a cancelled key prompt in plain words', () => {
    const cancelled = new DOMException(
      'The operation either timed out or was not allowed.',
      'NotAllowedError',
    )
    expect(plainError(cancelled, 'verify-key').what).toContain('cancelled or timed out')
  })
})
