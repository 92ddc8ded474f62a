import type { TokenScope } from '../platform/state/api-tokens.ts'

/** What a person may be: each role is a set of the scopes API tokens hold. */
export const roles = ['admin', 'analyst', 'compliance', 'service'] as const
export type Role = (typeof roles)[number]

/**
 * An analyst reads alerts and events; a compliance officer reads and takes signed audit
 * exports; a service account only ingests; an admin does all. `audit_export` is a scope no
 * token is given: admin tokens hold it through `admin`.
 */
export type Permission = TokenScope | 'audit_export'

export const rolePermissions: Record<Role, readonly Permission[]> = {
  admin: ['ingest', 'read', 'admin', 'audit_export'],
  analyst: ['read'],
  compliance: ['read', 'audit_export'],
  service: ['ingest'],
}

export function isRole(value: string): value is Role {
  return (roles as readonly string[]).includes(value)
}
