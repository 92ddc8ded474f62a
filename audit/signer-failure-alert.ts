import { alertId } from '../platform/alert-model.ts'
import type { Alert } from '../platform/alert-model.ts'
import type { PalisadeError } from '../platform/errors.ts'
import type { CheckpointSigner } from './signers/checkpoint-signer.ts'

/** The rule every signer failure alert names, so analysts can filter and route on it. */
export const signerFailureRule = {
  id: 'palisade-audit-signer-failure',
  version: '1',
  title: 'Audit checkpoint signer failed: checkpoints wait unsigned',
  kind: 'platform',
} as const

/**
 * The alert raised when the audit checkpoint signer starts failing. Its id derives from the
 * key, the error code and the tree size that waits, so the one outage reported again (after
 * a restart, say) stays one alert, while a later outage or another code is a new one.
 *
 * A signer the operator must fix (a wrong PIN, a missing module) is critical: nothing will be
 * signed until someone acts. One that retries by itself (token gone, session lost) is high.
 */
export function signerFailureAlert(
  error: PalisadeError,
  signer: Pick<CheckpointSigner, 'keyId' | 'kind'>,
  treeSize: number,
  at: Date,
): Alert {
  const identity = `${signer.keyId}\u0000${error.code}\u0000${treeSize}`
  const then = error.retriable ? 'signing is retried on every tick' : 'signing is halted'
  return {
    id: alertId(signerFailureRule.id, signerFailureRule.version, identity),
    '@timestamp': at.toISOString(),
    rule: { ...signerFailureRule },
    level: error.retriable ? 'high' : 'critical',
    tags: ['palisade.audit', `palisade.signer.${signer.kind}`],
    entity: { kind: 'checkpoint_signer', value: signer.keyId },
    event_ids: [],
    message:
      `${error.code}: ${error.message}. The checkpoint for tree size ${treeSize} waits as ` +
      `pending; appends go on, no other key signs, and ${then}.`,
  }
}
