import { describe, expect, it } from 'vitest'

import { DecisionPoint } from '../../../auth/zero-trust/decision-point.ts'
import { compilePolicySet, DEFAULT_POLICIES } from '../../../auth/zero-trust/policy-set.ts'
import { RiskRegister } from '../../../auth/zero-trust/risk-register.ts'
import type { Alert } from '../../../platform/alert-model.ts'
import type { PalisadeError } from '../../../platform/errors.ts'

const NOW = new Date('2026-12-04T12:00:00.000Z')

function pointWith(policies: string, risk = new RiskRegister()) {
  const set = compilePolicySet(policies)
  return new DecisionPoint({
    policies: () => ({ version: 1, set }),
    risk,
    subject: async (name) =>
      name === 'alice'
        ? { role: 'analyst', disabled: false }
        : name === 'bob'
          ? { role: 'analyst', disabled: true }
          : undefined,
    now: () => NOW,
  })
}

function request(change: (r: any) => void = () => undefined) {
  const r: any = {
    subject: { type: 'user', id: 'alice' },
    resource: { type: 'report', id: 'q4', sensitivity: 'low' },
    action: { name: 'read' },
    context: {
      device: { id: 'laptop-7', managed: true, compliant: true },
      network: { address: '198.51.100.20' },
      mfa: { method: 'webauthn', age_seconds: 3600 },
    },
  }
  change(r)
  return r
}

function alert(id: string, level: Alert['level'], entity: Alert['entity'], at = NOW): Alert {
  return {
    id,
    '@timestamp': at.toISOString(),
    rule: { id: `rule-${id}`, version: 'v1', title: `Rule ${id}`, kind: 'correlation' },
    level,
    tags: [],
    entity,
    event_ids: [],
  }
}

function invalid(text: string): PalisadeError {
  try {
    compilePolicySet(text)
  } catch (error) {
    return error as PalisadeError
  }
  throw new Error('expected the policy set to be refused')
}

describe('policies with missing attributes', () => {
  const compliantOnly =
    '@id("compliant-devices") permit (principal, action, resource) ' +
    'when { context.device has compliant && context.device.compliant };'

  it('denies a request whose device does not say whether it is compliant', async () => {
    const point = pointWith(compliantOnly)
    const decision = await point.decide(request((r) => delete r.context.device.compliant))
    expect(decision.decision).toBe('deny')
    expect(decision.reasons[0]).toMatchObject({ code: 'not_permitted' })
  })

  it('allows the same request once the device says it is compliant', async () => {
    expect((await pointWith(compliantOnly).decide(request())).decision).toBe('allow')
  })

  it('reads a resource without a sensitivity as high, the most sensitive', async () => {
    const point = pointWith(DEFAULT_POLICIES)
    const unmanaged = request((r) => {
      delete r.resource.sensitivity
      delete r.context.device.managed
    })
    const decision = await point.decide(unmanaged)
    expect(decision).toMatchObject({
      decision: 'deny',
      policies: ['sensitive-needs-managed-device'],
    })
  })

  it('reads a request without a second factor as none, verified never', async () => {
    const point = pointWith(DEFAULT_POLICIES)
    const decision = await point.decide(
      request((r) => {
        delete r.context.mfa
        r.action.name = 'admin'
      }),
    )
    expect(decision).toMatchObject({ decision: 'deny', policies: ['admin-needs-second-factor'] })
  })

  it('refuses a policy reading an optional attribute without testing for it first', () => {
    const error = invalid('permit (principal, action, resource) when { context.device.compliant };')
    expect(error.code).toBe('PAL_POLICY_INVALID')
    expect(error.message).toContain('optional attribute `device.compliant`')
  })
})

describe('conflicting policies', () => {
  const permit = '@id("everyone") permit (principal, action, resource);\n'
  const stepUp =
    '@id("fresh-factor") @decision("step_up") @obligation("verify a second factor") ' +
    'forbid (principal, action, resource) when { context.mfa.age_seconds > 300 };\n'
  const deny =
    '@id("no-documentation-range") forbid (principal, action, resource) ' +
    'when { context.network.address.isInRange(ip("198.51.100.0/24")) };\n'

  it('steps up when a step-up forbid meets a permit', async () => {
    const decision = await pointWith(permit + stepUp).decide(request())
    expect(decision).toMatchObject({
      decision: 'step_up',
      policies: ['fresh-factor'],
      obligations: ['verify a second factor'],
    })
  })

  it('denies when a plain forbid and a step-up forbid both apply: deny wins', async () => {
    const decision = await pointWith(permit + stepUp + deny).decide(request())
    expect(decision.decision).toBe('deny')
    expect([...decision.policies].sort()).toEqual(['fresh-factor', 'no-documentation-range'])
    expect(decision.obligations).toEqual([])
  })

  it('denies a disabled user whom no policy permits', async () => {
    const point = pointWith(DEFAULT_POLICIES)
    const decision = await point.decide(request((r) => (r.subject.id = 'bob')))
    expect(decision).toMatchObject({ decision: 'deny', reasons: [{ code: 'not_permitted' }] })
  })
})

describe('malformed and unknown requests fail closed', () => {
  const point = pointWith(DEFAULT_POLICIES)

  it('denies a request that is not an object, saying what was expected', async () => {
    const decision = await point.decide('allow me')
    expect(decision.decision).toBe('deny')
    expect(decision.reasons[0]).toMatchObject({ code: 'malformed_request', path: '(root)' })
    expect(decision.reasons[0]!.message).toMatch(/expected object/)
  })

  it('denies a request with a field Palisade does not know, naming where it is', async () => {
    const decision = await point.decide(request((r) => (r.context.device.jailbroken = false)))
    expect(decision.reasons).toEqual([
      expect.objectContaining({ code: 'malformed_request', path: 'context.device' }),
    ])
    expect(decision.reasons[0]!.message).toContain('jailbroken')
  })

  it('denies a request whose address is not an address, saying what came', async () => {
    const decision = await point.decide(request((r) => (r.context.network.address = '999.1.1.1')))
    expect(decision.reasons[0]).toMatchObject({ path: 'context.network.address' })
    expect(decision.reasons[0]!.message).toContain('expected an IPv4 or IPv6 address')
  })

  it('denies an action the schema does not declare', async () => {
    const decision = await point.decide(request((r) => (r.action.name = 'impersonate')))
    expect(decision.reasons[0]).toMatchObject({ code: 'unknown_action', path: 'action.name' })
  })

  it('denies a subject Palisade does not know', async () => {
    const decision = await point.decide(request((r) => (r.subject.id = 'mallory')))
    expect(decision.reasons[0]).toMatchObject({ code: 'unknown_subject', path: 'subject.id' })
  })
})

describe('policy sets that fail validation are refused whole', () => {
  it('refuses text that does not parse, with the offset of the fault', () => {
    const error = invalid('permit (principal, action, resource) when { context.risk.score >= };')
    expect(error.message).toMatch(/does not parse/)
    expect((error.context.problems as any[])[0].offset).toBeGreaterThan(0)
  })

  it('refuses a policy naming an attribute the schema does not have', () => {
    const error = invalid(
      '@id("typo") permit (principal, action, resource) when { context.risk.scroe > 1 };',
    )
    expect(error.message).toContain('policy typo')
  })

  it('refuses a step-up annotation on a permit, and two policies with one id', () => {
    expect(invalid('@decision("step_up") permit (principal, action, resource);').message).toMatch(
      /on a forbid policy/,
    )
    const twice = '@id("a") permit (principal, action, resource);\n'.repeat(2)
    expect(invalid(twice).message).toContain('"a" twice')
  })

  it('accepts the built-in policy set', () => {
    expect([...compilePolicySet(DEFAULT_POLICIES).info.keys()]).toEqual([
      'enabled-users-may-act',
      'step-up-on-elevated-risk',
      'deny-on-critical-risk',
      'sensitive-needs-managed-device',
      'admin-needs-second-factor',
    ])
  })
})

describe('risk from alerts', () => {
  it('halves a high alert every hour and forgets it once under half a point', () => {
    const risk = new RiskRegister()
    risk.observe([alert('a', 'high', { kind: 'user.name', value: 'alice' })], NOW)
    expect(risk.risk('user', 'alice', NOW).score).toBe(50)
    expect(risk.risk('user', 'alice', new Date(NOW.getTime() + 3_600_000)).score).toBe(25)
    const later = new Date(NOW.getTime() + 7 * 3_600_000)
    expect(risk.risk('user', 'alice', later)).toMatchObject({ score: 0, contributions: [] })
  })

  it('weighs an anomaly by how far its score passed the model threshold', () => {
    const risk = new RiskRegister()
    const anomaly = (id: string, score: number): Alert => ({
      ...alert(id, 'high', { kind: 'host.name', value: `web-${id}` }),
      rule: { id: 'anomaly-host-behaviour', version: 'v1', title: 'Unusual host', kind: 'anomaly' },
      anomaly: {
        score,
        threshold: 0.6,
        model_version: 1,
        window: { start: NOW.toISOString(), end: NOW.toISOString() },
        features: {},
        deviations: [],
      },
    })
    risk.observe([anomaly('1', 0.6), anomaly('2', 0.9), anomaly('3', 1.5)], NOW)
    expect(risk.risk('host', 'web-1', NOW).score).toBe(25)
    expect(risk.risk('host', 'web-2', NOW).score).toBe(38)
    expect(risk.risk('host', 'web-3', NOW).score).toBe(50)
  })

  it('counts an alert delivered twice once', () => {
    const risk = new RiskRegister()
    const twice = alert('a', 'medium', { kind: 'source.ip', value: '203.0.113.7' })
    risk.observe([twice], NOW)
    risk.observe([twice], NOW)
    expect(risk.risk('address', '203.0.113.7', NOW).score).toBe(25)
  })

  it('sets aside what an analyst cleared, and counts what is raised after', () => {
    const risk = new RiskRegister()
    risk.observe([alert('a', 'high', { kind: 'user.name', value: 'alice' })], NOW)
    risk.clear('user', 'alice', NOW)
    expect(risk.risk('user', 'alice', NOW).score).toBe(0)
    const after = new Date(NOW.getTime() + 1000)
    risk.observe([alert('b', 'medium', { kind: 'user.name', value: 'alice' }, after)], after)
    expect(risk.risk('user', 'alice', after).score).toBe(25)
  })

  it('steps up a request from an address a detection flagged, naming the alert', async () => {
    const risk = new RiskRegister()
    risk.observe([alert('x', 'high', { kind: 'source.ip', value: '198.51.100.20' })], NOW)
    const decision = await pointWith(DEFAULT_POLICIES, risk).decide(request())
    expect(decision.decision).toBe('step_up')
    expect(decision.risk).toMatchObject({ score: 50, address: 50, user: 0 })
    expect(decision.reasons).toContainEqual(
      expect.objectContaining({ code: 'risk_alert', alert_id: 'x' }),
    )
  })

  it('denies outright at critical risk, whatever the second factor', async () => {
    const risk = new RiskRegister()
    risk.observe([alert('c', 'critical', { kind: 'device.id', value: 'laptop-7' })], NOW)
    const fresh = request((r) => (r.context.mfa.age_seconds = 10))
    const decision = await pointWith(DEFAULT_POLICIES, risk).decide(fresh)
    expect(decision).toMatchObject({ decision: 'deny', policies: ['deny-on-critical-risk'] })
  })
})
