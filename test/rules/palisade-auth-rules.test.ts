import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { authEcsEvent } from '../../auth/auth-events.ts'
import type { AuthAction } from '../../auth/auth-events.ts'
import { createDetector } from '../../detectors/detector.ts'
import type { Alert } from '../../platform/alert-model.ts'
import type { PalisadeEvent } from '../../platform/event-model.ts'
import { createLogger } from '../../platform/logger.ts'
import { repoRoot } from '../helpers/test-engine.ts'

const start = Date.UTC(2026, 11, 4, 9, 0)

/** An auth event as Palisade's own sign-in code writes it, `seconds` after `start`. */
function auth(
  seconds: number,
  action: AuthAction,
  outcome: 'success' | 'failure',
  options: { user?: string; factor?: string; ip?: string } = {},
): PalisadeEvent {
  return authEcsEvent({
    action,
    outcome,
    user: { id: `id-${options.user ?? 'carol'}`, name: options.user ?? 'carol' },
    ip: options.ip ?? '198.51.100.7',
    ...(options.factor ? { factor: options.factor } : {}),
    time: new Date(start + seconds * 1000),
  }) as PalisadeEvent
}

function alertsTitled(title: string, events: PalisadeEvent[]): Alert[] {
  const detector = createDetector([join(repoRoot, 'rules', 'builtin')], createLogger('silent'))
  const alerts = [...detector.detect(events), ...detector.flush(start + 86_400_000)]
  return alerts.filter((a) => a.rule.title === title)
}

const totpFailure = (s: number, user?: string, ip?: string) =>
  auth(s, 'mfa_verify', 'failure', { factor: 'totp', user, ip })

describe('the built-in rule: TOTP brute force against Palisade', () => {
  const title = 'TOTP Brute Force Against Palisade'

  it('fires on ten refused codes for one user in ten minutes, from several addresses', () => {
    const events = Array.from({ length: 10 }, (_, i) => totpFailure(i * 50, 'carol', `203.0.113.${i}`))
    const alerts = alertsTitled(title, events)
    expect(alerts).toHaveLength(1)
    expect(alerts[0]).toMatchObject({ level: 'high', entity: { value: 'carol' } })
  })

  it('stays quiet for nine, for ten spread over an hour, and across users', () => {
    expect(alertsTitled(title, Array.from({ length: 9 }, (_, i) => totpFailure(i)))).toEqual([])
    expect(
      alertsTitled(
        title,
        Array.from({ length: 10 }, (_, i) => totpFailure(i * 400)),
      ),
    ).toEqual([])
    expect(
      alertsTitled(
        title,
        Array.from({ length: 10 }, (_, i) => totpFailure(i, `user${i % 2}`)),
      ),
    ).toEqual([])
  })

  it('does not count refused recovery codes or passwords as TOTP guesses', () => {
    const events = Array.from({ length: 10 }, (_, i) =>
      auth(i, 'mfa_verify', 'failure', { factor: i % 2 ? 'recovery_code' : 'password' }),
    )
    expect(alertsTitled(title, events)).toEqual([])
  })
})

describe('the built-in rule: MFA fatigue against Palisade', () => {
  const title = 'MFA Fatigue Against Palisade'
  const prompts = (n: number, from = 0) =>
    Array.from({ length: n }, (_, i) => auth(from + i * 30, 'mfa_prompt', 'success'))
  const approval = (s: number) => auth(s, 'mfa_verify', 'success', { factor: 'webauthn' })

  it('fires when many prompts are followed by one approval', () => {
    const alerts = alertsTitled(title, [...prompts(6), approval(400)])
    expect(alerts).toHaveLength(1)
    expect(alerts[0]).toMatchObject({ level: 'high', entity: { value: 'carol' } })
  })

  it('stays quiet for a few prompts and an approval, and for an approval before the burst', () => {
    expect(alertsTitled(title, [...prompts(3), approval(200)])).toEqual([])
    expect(alertsTitled(title, [approval(0), ...prompts(6, 10)])).toEqual([])
  })
})

describe('the built-in rule: sign-in soon after a factor reset', () => {
  const title = 'Sign-In to Palisade Soon After a Factor Reset'
  const reset = (s: number) => auth(s, 'factor_reset', 'success')
  const signIn = (s: number, outcome: 'success' | 'failure' = 'success') =>
    auth(s, 'sign_in', outcome, { factor: 'password' })

  it('fires when the user signs in within an hour of the reset', () => {
    const alerts = alertsTitled(title, [reset(0), signIn(20 * 60)])
    expect(alerts).toHaveLength(1)
    expect(alerts[0]).toMatchObject({ level: 'medium', entity: { value: 'carol' } })
  })

  it('stays quiet for a sign-in after the hour, a failed one, or one before the reset', () => {
    expect(alertsTitled(title, [reset(0), signIn(61 * 60)])).toEqual([])
    expect(alertsTitled(title, [reset(0), signIn(60, 'failure')])).toEqual([])
    expect(alertsTitled(title, [signIn(0), reset(60)])).toEqual([])
  })
})

describe('the built-in rule: a cloned authenticator', () => {
  it('raises a critical alert on the event Palisade records when it refuses one', () => {
    const alerts = alertsTitled('Cloned Authenticator Used Against Palisade', [
      auth(0, 'cloned_authenticator', 'failure', { factor: 'webauthn' }),
    ])
    expect(alerts).toHaveLength(1)
    expect(alerts[0]!.level).toBe('critical')
  })
})
