import type { SignatureAlgorithm } from '../signers/checkpoint-signer.ts'

/**
 * An audit export is a folder an auditor can check offline, trusting nothing but the public
 * key (ideally its fingerprint, learnt another way): every entry of a range of the log, the
 * signed checkpoints that cover it, the proofs tying the two, and a manifest signed by the
 * checkpoint key.
 *
 * ```
 * DIR/
 *   manifest.json             the Manifest below, as canonical JSON and one LF
 *   manifest.sig              base64 signature over manifestSignedBytes(manifest.json), one LF
 *   public-key.pem            the checkpoint key, SPKI PEM
 *   entries.jsonl             entry from_index + k on line k+1: the exact text the log hashed
 *   checkpoints.jsonl         signed checkpoints ({checkpoint, signature}), by tree size
 *   inclusion-proofs.jsonl    line k+1 proves entry from_index + k in the anchor checkpoint
 *   consistency-proofs.jsonl  one line per pair of consecutive checkpoints
 * ```
 *
 * Every `.jsonl` line is one JSON value followed by LF, the last line too; hashes are lower-case
 * hex. The checkpoints are every signed one from `base` (the newest signed at or below
 * `from_index`, when there is one) up to `anchor` (the first signed at or above `to_index`), so
 * a run of exports chains: each one's base is proved consistent with the one before.
 */
export const EXPORT_FORMAT = 'palisade-audit-export/v1'

/** The first line of the text a manifest signature covers; unlike any checkpoint's. */
export const MANIFEST_ORIGIN = 'palisade-audit-export-manifest/v1'

export const EXPORT_FILES = {
  manifest: 'manifest.json',
  manifestSignature: 'manifest.sig',
  publicKey: 'public-key.pem',
  entries: 'entries.jsonl',
  checkpoints: 'checkpoints.jsonl',
  inclusionProofs: 'inclusion-proofs.jsonl',
  consistencyProofs: 'consistency-proofs.jsonl',
} as const

/** The files the manifest lists with their digests: all but itself and its signature. */
export const DIGESTED_FILES = [
  EXPORT_FILES.publicKey,
  EXPORT_FILES.entries,
  EXPORT_FILES.checkpoints,
  EXPORT_FILES.inclusionProofs,
  EXPORT_FILES.consistencyProofs,
] as const

export interface ExportManifest {
  format: typeof EXPORT_FORMAT
  export_id: string
  /** When the export was written, RFC 3339 UTC with milliseconds. */
  created: string
  /** What was asked for, as given (times or indexes); the range below is what it selected. */
  requested: { from?: string; to?: string }
  /** Entries from_index ≤ index < to_index; empty when they are equal. */
  range: { from_index: number; to_index: number }
  entry_count: number
  /** The checkpoint every entry's inclusion proof leads to. */
  anchor: { tree_size: number; root_hash: string }
  /** The oldest checkpoint in the export, when there is one at or below from_index. */
  base: { tree_size: number; root_hash: string } | null
  key: {
    key_id: string
    fingerprint: string
    algorithm: SignatureAlgorithm
    signer_kind: 'hsm' | 'software'
  }
  /** One per DIGESTED_FILES name, in that order. */
  files: ExportFileDigest[]
}

export interface ExportFileDigest {
  name: string
  bytes: number
  /** SHA-256 of the file's bytes. */
  sha256: string
  /** LF-ended lines, for the `.jsonl` files. */
  lines?: number
}

/** A line of inclusion-proofs.jsonl: PATH(index, D[tree_size]) (RFC 9162 §2.1.3.1). */
export interface InclusionProofLine {
  index: number
  tree_size: number
  path: string[]
}

/** A line of consistency-proofs.jsonl: PROOF(from, D[to]) (RFC 9162 §2.1.4.1). */
export interface ConsistencyProofLine {
  from: number
  to: number
  path: string[]
}

/** The bytes `manifest.sig` signs: the origin line, then manifest.json's bytes as written. */
export function manifestSignedBytes(manifestFile: Uint8Array): Uint8Array {
  return Buffer.concat([Buffer.from(`${MANIFEST_ORIGIN}\n`, 'ascii'), manifestFile])
}
