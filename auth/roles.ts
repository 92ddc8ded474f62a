import type { TokenScope } from '../platform/state/api-tokens.ts'

/** What a person may be: each role is a set of the scopes API tokens hold. */
export const roles = ['admin', 'analyst', 'compliance', 'service'] as const
export type Role = (typeof roles)[number]

/**
 * An analyst reads alerts and events, and clears an entity's risk after triage (issue 13); a
 * compliance officer reads and takes signed audit exports; a service account only ingests; an
 * admin does all. `audit_export` and `risk_clear` are scopes no token is given: admin tokens
 * hold them through `admin`. `decide` is for enforcement points asking for access decisions.
 */
export type Permission = TokenScope | 'audit_export' | 'risk_clear'

export const rolePermissions: Record<Role, readonly Permission[]> = {
  admin: ['ingest', 'read', 'decide', 'admin', 'audit_export', 'risk_clear'],
  analyst: ['read', 'risk_clear'],
  compliance: ['read', 'audit_export'],
  service: ['ingest'],
}

export function isRole(value: string): value is Role {
  return (roles as readonly string[]).includes(value)
}
