import { createPublicKey } from 'node:crypto'

import { ValidationError } from '../platform/errors.ts'
import type { CheckpointSigner, SignatureAlgorithm } from './signers/checkpoint-signer.ts'
import { algorithmOf, spkiFingerprint } from './signers/public-key.ts'
import { verifySignature } from './signers/verify-signature.ts'

/**
 * A signed statement that the audit log had `tree_size` entries with root `root_hash` at
 * `time` (RFC 9162 §4.10 calls it a signed tree head). Every field is inside the signed bytes,
 * so a checkpoint signed by a software key cannot be relabelled as an HSM one.
 */
export interface Checkpoint {
  tree_size: number
  /** MTH(D[tree_size]), 64 lower-case hex digits. */
  root_hash: string
  /** When it was signed, RFC 3339 in UTC with milliseconds (`2026-12-03T20:17:11.000Z`). */
  time: string
  /** Where the key lives: a PKCS#11 URI or `software:NAME`. */
  key_id: string
  /** SHA-256 of the public key's SPKI DER, lower-case hex. */
  key_fingerprint: string
  algorithm: SignatureAlgorithm
  signer_kind: 'hsm' | 'software'
}

/** A checkpoint with its signature, base64 (RFC 4648 §4). */
export interface SignedCheckpoint {
  checkpoint: Checkpoint
  signature: string
}

/** The first line of every checkpoint's signed text; a new format gets a new line. */
export const CHECKPOINT_ORIGIN = 'palisade-audit-checkpoint/v1'

const hex64 = /^[0-9a-f]{64}$/
const utcTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const keyIdText = /^[\x21-\x7e]+$/
const algorithms: readonly SignatureAlgorithm[] = ['ecdsa-p256-sha256', 'ed25519']

/**
 * The exact text a checkpoint's signature covers, modelled on the C2SP signed-note checkpoint
 * body (origin, size, base64 root), with Palisade's fields as `name value` lines after it:
 *
 * ```
 * palisade-audit-checkpoint/v1
 * <tree_size in decimal, no leading zeros>
 * <root hash, 32 bytes in standard base64 with padding>
 * time <RFC 3339 UTC with milliseconds>
 * key_id <printable ASCII, no spaces>
 * key_fingerprint <64 lower-case hex>
 * algorithm <ecdsa-p256-sha256 | ed25519>
 * signer_kind <hsm | software>
 * ```
 *
 * Each line ends with one LF, the last included; the text is ASCII, signed as its bytes. A
 * field that cannot be written this way (a newline in `key_id`, a local time) is refused, so
 * two different checkpoints never share a text.
 *
 * @throws {ValidationError} PAL_CHECKPOINT_INVALID naming the field, what was expected and
 *   what arrived.
 */
export function checkpointText(checkpoint: Checkpoint): string {
  checkCheckpoint(checkpoint)
  const root = Buffer.from(checkpoint.root_hash, 'hex').toString('base64')
  return [
    CHECKPOINT_ORIGIN,
    String(checkpoint.tree_size),
    root,
    `time ${checkpoint.time}`,
    `key_id ${checkpoint.key_id}`,
    `key_fingerprint ${checkpoint.key_fingerprint}`,
    `algorithm ${checkpoint.algorithm}`,
    `signer_kind ${checkpoint.signer_kind}`,
    '',
  ].join('\n')
}

/** The signed bytes: `checkpointText` as ASCII. */
export function checkpointBytes(checkpoint: Checkpoint): Uint8Array {
  return new Uint8Array(Buffer.from(checkpointText(checkpoint), 'ascii'))
}

/**
 * Signs the tree's state with `signer`, stamping the checkpoint with the signer's key id,
 * fingerprint, algorithm and kind.
 *
 * @throws {HsmError} whatever the signer throws; nothing is signed in its place.
 * @example const signed = await signCheckpoint(signer, { treeSize: log.size(), root: log.root() })
 */
export async function signCheckpoint(
  signer: CheckpointSigner,
  tree: { treeSize: number; root: Uint8Array; time?: Date },
): Promise<SignedCheckpoint> {
  const checkpoint: Checkpoint = {
    tree_size: tree.treeSize,
    root_hash: Buffer.from(tree.root).toString('hex'),
    time: (tree.time ?? new Date()).toISOString(),
    key_id: signer.keyId,
    key_fingerprint: signer.fingerprint(),
    algorithm: signer.algorithm,
    signer_kind: signer.kind,
  }
  const signature = await signer.sign(checkpointBytes(checkpoint))
  return { checkpoint, signature: Buffer.from(signature).toString('base64') }
}

export type CheckpointVerdict =
  | { valid: true; signer_kind: 'hsm' | 'software'; key_fingerprint: string }
  | { valid: false; reason: string }

/**
 * Checks a checkpoint offline with nothing but the exported public key: the key must be the
 * one the checkpoint names (its fingerprint), of the algorithm it names, and the signature
 * must cover the checkpoint's text. A valid verdict repeats `signer_kind`, so a caller sees
 * when a checkpoint was signed by a development (software) key.
 *
 * @param signature base64, or the raw bytes.
 * @returns `{ valid: false, reason }` saying what did not match; never throws for a bad
 *   checkpoint, signature or key.
 * @example
 * const verdict = verifyCheckpoint(signed.checkpoint, signed.signature, publicKeyPem)
 * if (verdict.valid && verdict.signer_kind === 'software') warn('signed by a development key')
 */
export function verifyCheckpoint(
  checkpoint: Checkpoint,
  signature: string | Uint8Array,
  publicKeyPem: string,
): CheckpointVerdict {
  let message: Uint8Array
  try {
    message = checkpointBytes(checkpoint)
  } catch (error) {
    return { valid: false, reason: (error as Error).message }
  }

  let key
  try {
    key = createPublicKey(publicKeyPem)
  } catch {
    return { valid: false, reason: 'the public key is not a PEM public key' }
  }

  const fingerprint = spkiFingerprint(key)
  if (fingerprint !== checkpoint.key_fingerprint) {
    return {
      valid: false,
      reason: `expected the key with fingerprint ${checkpoint.key_fingerprint}, got ${fingerprint}`,
    }
  }

  const algorithm = algorithmOf(key)
  if (algorithm !== checkpoint.algorithm) {
    return {
      valid: false,
      reason: `expected a ${checkpoint.algorithm} key, got ${algorithm ?? 'another kind'}`,
    }
  }

  const bytes = typeof signature === 'string' ? Buffer.from(signature, 'base64') : signature
  if (!verifySignature(key, algorithm, message, bytes)) {
    return {
      valid: false,
      reason: `the signature does not cover checkpoint ${checkpoint.tree_size}`,
    }
  }

  return { valid: true, signer_kind: checkpoint.signer_kind, key_fingerprint: fingerprint }
}

function checkCheckpoint(c: Checkpoint): void {
  if (!Number.isSafeInteger(c.tree_size) || c.tree_size < 0) {
    throw invalid('tree_size', 'a non-negative safe integer', c.tree_size)
  }

  if (typeof c.root_hash !== 'string' || !hex64.test(c.root_hash)) {
    throw invalid('root_hash', '64 lower-case hex digits', c.root_hash)
  }

  if (typeof c.time !== 'string' || !utcTime.test(c.time) || Number.isNaN(Date.parse(c.time))) {
    throw invalid('time', 'RFC 3339 UTC with milliseconds (YYYY-MM-DDTHH:MM:SS.sssZ)', c.time)
  }

  if (typeof c.key_id !== 'string' || !keyIdText.test(c.key_id)) {
    throw invalid('key_id', 'printable ASCII without spaces', c.key_id)
  }

  if (typeof c.key_fingerprint !== 'string' || !hex64.test(c.key_fingerprint)) {
    throw invalid('key_fingerprint', '64 lower-case hex digits', c.key_fingerprint)
  }

  if (!algorithms.includes(c.algorithm)) {
    throw invalid('algorithm', algorithms.join(' or '), c.algorithm)
  }

  if (c.signer_kind !== 'hsm' && c.signer_kind !== 'software') {
    throw invalid('signer_kind', 'hsm or software', c.signer_kind)
  }
}

function invalid(field: string, expected: string, got: unknown): ValidationError {
  return new ValidationError(
    `checkpoint.${field}: expected ${expected}, got ${JSON.stringify(got) ?? String(got)}`,
    { path: `checkpoint.${field}` },
    'PAL_CHECKPOINT_INVALID',
  )
}
