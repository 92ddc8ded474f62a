import type { RuleSet } from '../detectors/sigma/rule-set.ts'
import type { PalisadeConfig } from '../platform/config/config-schema.ts'
import type { Logger } from '../platform/logger.ts'
import { packageInfo } from '../platform/package-info.ts'
import { readStartDigests, writeStartDigests } from '../platform/state/start-digests.ts'
import type { StateDb } from '../platform/state/state-store.ts'
import type { AuditDetailValue, AuditLog } from './audit-log.ts'
import type { CheckpointSigner } from './signers/checkpoint-signer.ts'
import { Pkcs11Signer } from './signers/pkcs11-signer.ts'
import { configDigests, diffKeys, ruleSetDigests } from './startup-digests.ts'

const SYSTEM = { kind: 'system', id: 'palisade' } as const

/** At most this many ids or paths are named in one entry; the rest are only counted. */
export const MAX_LISTED = 20
/** …and their JSON list stays under this many characters (a detail string holds 1,024). */
const MAX_LIST_CHARS = 900

export interface StartupAuditOptions {
  audit: AuditLog
  /** Where the previous start's digests are kept. */
  state: { db: StateDb }
  /** The effective configuration the engine started with. */
  config: PalisadeConfig
  /** The rule set the detector compiled at this start. */
  ruleSet: Pick<RuleSet, 'rules' | 'correlations'>
  signer: CheckpointSigner
  logger?: Logger
}

export interface StartupAudit {
  configDigest: string
  rulesDigest: string
  /** Whether a previous start was known and the configuration or rules differ from it. */
  configChanged: boolean
  rulesChanged: boolean
}

/**
 * Audits an engine start, before the engine reports itself started. Configuration is read
 * only at start, and rule files change between starts too, so comparing with the previous
 * start (or the last `rules.reload`, which updates the digests) is how their changes reach the
 * audit log. In order:
 *
 * 1. the checkpoint key: `audit.key.generate` when the HSM key was made at this start, then
 *    `audit.key.open` (see `auditSignerOpen`);
 * 2. `engine.start`, with the digests of the configuration and rule set and the signer;
 * 3. `config.change` and `rules.change` when they differ from the previous start's, naming
 *    what changed (configuration paths, never values; rule ids added, removed or changed).
 *
 * The digests are then kept in the state store for the next start. A crash between the two
 * records the same change again at the next start: recorded twice, never lost.
 *
 * @throws {StoreError} when an entry or the digests could not be stored; the start fails.
 */
export async function auditStartup(options: StartupAuditOptions): Promise<StartupAudit> {
  const { audit, state, config, ruleSet, signer } = options
  await auditSignerOpen(audit, signer)

  const configNow = configDigests(config)
  const rulesNow = ruleSetDigests(ruleSet)
  await audit.record({
    actor: SYSTEM,
    action: 'engine.start',
    outcome: 'success',
    details: {
      palisade_version: packageInfo.version,
      config_digest: configNow.digest,
      rules_digest: rulesNow.digest,
      rule_count: rulesNow.count,
      ...signerDetails(signer, 'signer_'),
    },
  })

  const previous = await readStartDigests(state.db)
  const configChanged = previous !== null && previous.configDigest !== configNow.digest
  const rulesChanged = previous !== null && previous.rulesDigest !== rulesNow.digest

  if (previous && configChanged) {
    const { added, removed, changed } = diffKeys(previous.configPaths, configNow.paths)
    const paths = [...added, ...removed, ...changed].sort()
    await audit.record({
      actor: SYSTEM,
      action: 'config.change',
      target: { kind: 'config', id: 'effective' },
      outcome: 'success',
      details: {
        old_digest: previous.configDigest,
        new_digest: configNow.digest,
        ...listed('paths', paths),
      },
    })
    options.logger?.info({ paths: paths.slice(0, MAX_LISTED) }, 'configuration changed')
  }

  if (previous && rulesChanged) {
    const { added, removed, changed } = diffKeys(previous.ruleVersions, rulesNow.versions)
    await audit.record({
      actor: SYSTEM,
      action: 'rules.change',
      target: { kind: 'rule_set', id: 'loaded' },
      outcome: 'success',
      details: {
        old_digest: previous.rulesDigest,
        new_digest: rulesNow.digest,
        old_count: previous.ruleCount,
        new_count: rulesNow.count,
        ...listed('added', added),
        ...listed('removed', removed),
        ...listed('changed', changed),
      },
    })
    options.logger?.info(
      { added: added.length, removed: removed.length, changed: changed.length },
      'rules changed',
    )
  }

  await writeStartDigests(state.db, {
    configDigest: configNow.digest,
    configPaths: configNow.paths,
    rulesDigest: rulesNow.digest,
    ruleCount: rulesNow.count,
    ruleVersions: rulesNow.versions,
  })
  return {
    configDigest: configNow.digest,
    rulesDigest: rulesNow.digest,
    configChanged,
    rulesChanged,
  }
}

/**
 * Audits the checkpoint key as the engine opened it: `audit.key.generate` first when an HSM
 * signer generated its key pair in the token just now, then `audit.key.open`. The key is named
 * by its id in `target` (a detail key may not say "key": the log would refuse it as a secret).
 */
export async function auditSignerOpen(audit: AuditLog, signer: CheckpointSigner): Promise<void> {
  const target = { kind: 'checkpoint_key', id: signer.keyId }
  const details = signerDetails(signer, '')
  if (signer instanceof Pkcs11Signer && signer.generated) {
    await audit.record({
      actor: SYSTEM,
      action: 'audit.key.generate',
      target,
      outcome: 'success',
      details,
    })
  }
  await audit.record({
    actor: SYSTEM,
    action: 'audit.key.open',
    target,
    outcome: 'success',
    details,
  })
}

function signerDetails(signer: CheckpointSigner, prefix: string): Record<string, AuditDetailValue> {
  const details: Record<string, AuditDetailValue> = {
    [`${prefix}fingerprint`]: signer.fingerprint(),
    [`${prefix}algorithm`]: signer.algorithm,
    [`${prefix}kind`]: signer.kind,
  }
  // Under its own name only where the entry has no target naming the key.
  if (prefix) details[`${prefix}id`] = signer.keyId
  return details
}

/**
 * `name` (a JSON list of the first items that fit), `name_count` (all of them) and
 * `name_unlisted` (how many the list leaves out).
 */
export function listed(name: string, items: readonly string[]): Record<string, AuditDetailValue> {
  const shown: string[] = []
  for (const item of items.slice(0, MAX_LISTED)) {
    if (JSON.stringify([...shown, item]).length > MAX_LIST_CHARS) break
    shown.push(item)
  }
  return {
    [name]: JSON.stringify(shown),
    [`${name}_count`]: items.length,
    [`${name}_unlisted`]: items.length - shown.length,
  }
}
