import { createHash } from 'node:crypto'

import type { PalisadeConfig } from '../platform/config/config-schema.ts'
import { canonicalJson } from '../platform/event-id.ts'
import type { RuleSet } from '../detectors/sigma/rule-set.ts'

/**
 * Digests of what an engine runs with, for the audit log: a start records them, and the next
 * start compares. Pure: no I/O, no logging.
 */

/** Top-level fields only the CLI reads (where to reach an instance, with which token). */
const CLIENT_FIELDS = ['url', 'token'] as const

/** Query parameters of a store URL that may carry a credential (libpq's `password`, …). */
const SECRET_PARAM = /pass|secret|token|key|cred/i

/** The configuration's digest and, per path, the digest of each value. */
export interface ConfigDigests {
  /** SHA-256 of `auditableConfig(config)` as canonical JSON, 64 hex digits. */
  digest: string
  /** Each leaf path (arrays are leaves: rule folder order matters) to its value's SHA-256. */
  paths: Record<string, string>
}

export interface RuleSetDigests {
  /** SHA-256 of the sorted `[id, version]` pairs as canonical JSON, 64 hex digits. */
  digest: string
  /** Detection and correlation rules in the set. */
  count: number
  /** Rule id to its content version (versions joined with `+` if an id is loaded twice). */
  versions: Record<string, string>
}

/**
 * The effective configuration as far as it shapes what the engine does, with nothing secret
 * in it: without the CLI's `url` and `token`, without `clickhouse.password`, and with the
 * password and credential-like query parameters taken out of the store URLs (the host and
 * database stay, since moving them is a change to audit). The PKCS#11 PIN is never in the
 * configuration, only the name of the variable that holds it.
 */
export function auditableConfig(config: PalisadeConfig): Record<string, unknown> {
  const copy = structuredClone(config) as Record<string, unknown>
  for (const field of CLIENT_FIELDS) delete copy[field]

  const clickhouse = { ...config.clickhouse }
  delete (clickhouse as { password?: string }).password
  if (clickhouse.url !== undefined) clickhouse.url = withoutCredentials(clickhouse.url)
  copy['clickhouse'] = clickhouse

  if (config.state.url !== undefined) {
    copy['state'] = { ...config.state, url: withoutCredentials(config.state.url) }
  }
  return copy
}

/** Digests of the auditable configuration: stable across key order, blind to secrets. */
export function configDigests(config: PalisadeConfig): ConfigDigests {
  const auditable = auditableConfig(config)
  const paths: Record<string, string> = {}
  for (const [path, value] of leaves(auditable, '')) paths[path] = sha256(canonicalJson(value))
  return { digest: sha256(canonicalJson(auditable)), paths }
}

/**
 * Digests of a compiled rule set, from its rules' ids and content versions (the hash of a
 * rule's content and of every filter applied to it), so editing a rule, or a filter on it,
 * changes the digest while reloading the same files does not.
 */
export function ruleSetDigests(ruleSet: Pick<RuleSet, 'rules' | 'correlations'>): RuleSetDigests {
  const all = [...ruleSet.rules, ...ruleSet.correlations]
  const byId = new Map<string, string[]>()
  for (const rule of all) byId.set(rule.id, [...(byId.get(rule.id) ?? []), rule.version])

  const versions: Record<string, string> = {}
  for (const id of [...byId.keys()].sort()) versions[id] = byId.get(id)!.sort().join('+')
  return { digest: sha256(canonicalJson(Object.entries(versions))), count: all.length, versions }
}

/** Which keys were added, removed or changed between two maps of digests or versions. */
export function diffKeys(
  before: Readonly<Record<string, string>>,
  after: Readonly<Record<string, string>>,
): { added: string[]; removed: string[]; changed: string[] } {
  const added = Object.keys(after).filter((k) => !Object.hasOwn(before, k))
  const removed = Object.keys(before).filter((k) => !Object.hasOwn(after, k))
  const changed = Object.keys(after).filter(
    (k) => Object.hasOwn(before, k) && before[k] !== after[k],
  )
  return { added: added.sort(), removed: removed.sort(), changed: changed.sort() }
}

function* leaves(value: unknown, path: string): Generator<[string, unknown]> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    yield [path, value]
    return
  }
  for (const [key, inner] of Object.entries(value)) {
    if (inner !== undefined) yield* leaves(inner, path ? `${path}.${key}` : key)
  }
}

/**
 * A store URL without its password or credential-like parameters. A text that does not parse
 * as a URL (a libpq keyword string) is kept only as "set": its parts cannot be told apart
 * safely, so a change inside it is not seen.
 */
function withoutCredentials(text: string): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return '(set, not a URL)'
  }
  url.password = ''
  for (const name of [...url.searchParams.keys()]) {
    if (SECRET_PARAM.test(name)) url.searchParams.delete(name)
  }
  return url.toString()
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}
