import { describe, expect, it } from 'vitest'

import type { AuditEntryInput } from '../../audit/audit-log.ts'
import { checkAuditEntry } from '../../audit/check-audit-entry.ts'
import { ValidationError } from '../../platform/errors.ts'

const valid: AuditEntryInput = {
  actor: { kind: 'token', id: '0190a1b2-0000-7000-8000-000000000001', name: 'admin' },
  action: 'token.create',
  target: { kind: 'token', id: '0190a1b2-0000-7000-8000-000000000002' },
  outcome: 'success',
  source: { ip: '192.0.2.7' },
  details: { name: 'ci', scopes: 'read,ingest', count: 1, admin: false },
}

function errorOf(entry: unknown): ValidationError {
  try {
    checkAuditEntry(entry as AuditEntryInput)
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError)
    return error as ValidationError
  }
  throw new Error('expected the entry to be refused')
}

describe('checkAuditEntry', () => {
  it('accepts a complete entry and a minimal one', () => {
    expect(() => checkAuditEntry(valid)).not.toThrow()
    const minimal = { actor: { kind: 'system', id: 'palisade' }, action: 'x.y', outcome: 'denied' }
    expect(() => checkAuditEntry(minimal as AuditEntryInput)).not.toThrow()
  })

  it.each([
    'token',
    'password',
    'secret',
    'pin',
    'key',
    'apiToken',
    'api_token',
    'API-KEY',
    'db.password',
    'clientSecretValue',
    'recovery_pin',
  ])('refuses a detail named %s as a secret, without echoing its value', (key) => {
    const error = errorOf({ ...valid, details: { [key]: 'hunter2-value' } })
    expect(error.code).toBe('PAL_AUDIT_SECRET_REFUSED')
    expect(error.status).toBe(400)
    expect(error.message).toContain(`details.${key}`)
    expect(error.message).not.toContain('hunter2-value')
  })

  it('accepts detail names that only contain a secret word inside another word', () => {
    expect(() => checkAuditEntry({ ...valid, details: { shipping: 1, monkey: 'x' } })).not.toThrow()
  })

  it('refuses a Palisade API token anywhere in the entry', () => {
    const token = `pal_${'A'.repeat(43)}`
    const error = errorOf({ ...valid, target: { kind: 'token', id: token } })
    expect(error.code).toBe('PAL_AUDIT_SECRET_REFUSED')
    expect(error.message).toContain('target.id')
    expect(error.message).not.toContain(token)
  })

  it.each([
    [{ ...valid, actor: { kind: 'robot', id: 'x' } }, 'actor.kind'],
    [{ ...valid, actor: { kind: 'user', id: '' } }, 'actor.id'],
    [{ ...valid, action: 'Token Create' }, 'action'],
    [{ ...valid, outcome: 'ok' }, 'outcome'],
    [{ ...valid, source: { ip: 'not-an-ip' } }, 'source.ip'],
    [{ ...valid, details: { nested: { a: 1 } } }, 'details.nested'],
    [{ ...valid, details: { n: Number.NaN } }, 'details.n'],
    [{ ...valid, extra: 1 }, 'only actor, action'],
  ])('refuses a malformed entry and names the field (%#)', (entry, field) => {
    const error = errorOf(entry)
    expect(error.code).toBe('PAL_AUDIT_ENTRY_INVALID')
    expect(error.message).toContain(field)
  })
})
