import { createHash, createPublicKey } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { open, stat } from 'node:fs/promises'
import { join } from 'node:path'

import { PalisadeError } from '../../platform/errors.ts'
import { canonicalJson } from '../../platform/event-id.ts'
import { verifyCheckpoint } from '../checkpoint.ts'
import type { Checkpoint } from '../checkpoint.ts'
import { leafHash, MerkleError, verifyConsistency } from '../merkle/index.ts'
import type { SignatureAlgorithm } from '../signers/checkpoint-signer.ts'
import { algorithmOf, spkiFingerprint } from '../signers/public-key.ts'
import { verifySignature } from '../signers/verify-signature.ts'
import {
  DIGESTED_FILES,
  EXPORT_FILES,
  EXPORT_FORMAT,
  manifestSignedBytes,
} from './export-format.ts'
import type { ExportManifest } from './export-format.ts'
import { InclusionChecker } from './inclusion-checker.ts'
import { LineReader } from './line-reader.ts'
import type { FileLine } from './line-reader.ts'

/** What can be wrong with an export; stable, for scripts that branch on them. */
export type ExportProblemCode =
  /** A file of the format is not in the folder. */
  | 'PAL_EXPORT_FILE_MISSING'
  /** public-key.pem is not a P-256 or Ed25519 public key in PEM. */
  | 'PAL_EXPORT_KEY_INVALID'
  /** public-key.pem is not the key whose fingerprint the caller gave. */
  | 'PAL_EXPORT_KEY_UNTRUSTED'
  /** public-key.pem is not the key the manifest names. */
  | 'PAL_EXPORT_KEY_MISMATCH'
  /** manifest.sig is malformed, or does not sign manifest.json with the key. */
  | 'PAL_EXPORT_MANIFEST_SIGNATURE_INVALID'
  /** A signed manifest that breaks the format (a field missing or out of range). */
  | 'PAL_EXPORT_MANIFEST_INVALID'
  /** A line cut short (no LF), too long, not UTF-8 or not JSON. */
  | 'PAL_EXPORT_LINE_INVALID'
  /** A file ends before the line the manifest calls for. */
  | 'PAL_EXPORT_LINE_MISSING'
  /** A file goes on past its last line. */
  | 'PAL_EXPORT_LINE_EXTRA'
  /** A checkpoint whose signature, key or fields do not hold. */
  | 'PAL_EXPORT_CHECKPOINT_INVALID'
  /** Checkpoints not in increasing tree size. */
  | 'PAL_EXPORT_CHECKPOINT_ORDER'
  /** The first checkpoint is not the manifest's base (or there should be one). */
  | 'PAL_EXPORT_BASE_MISMATCH'
  /** The last checkpoint is not the manifest's anchor, or another one should be. */
  | 'PAL_EXPORT_ANCHOR_MISMATCH'
  /** A consistency proof for other sizes, or that does not hold. */
  | 'PAL_EXPORT_CONSISTENCY_INVALID'
  /** An entry that is not canonical JSON of an object. */
  | 'PAL_EXPORT_ENTRY_INVALID'
  /** An entry on the wrong line: its `index` field is not the line's. */
  | 'PAL_EXPORT_ENTRY_OUT_OF_PLACE'
  /** An entry whose leaf and inclusion proof do not lead to the anchor's root. */
  | 'PAL_EXPORT_ENTRY_NOT_INCLUDED'
  /** An inclusion proof line for another entry or tree, or malformed. */
  | 'PAL_EXPORT_PROOF_INVALID'
  /** A file whose bytes, SHA-256 or lines are not the manifest's. */
  | 'PAL_EXPORT_FILE_DIGEST_MISMATCH'

/** The first thing wrong with an export, and where. */
export interface ExportProblem {
  code: ExportProblemCode
  /** The file's name inside the export folder. */
  file: string
  /** 1 for the first line, for the `.jsonl` files. */
  line?: number
  /** The log index of the entry concerned. */
  index?: number
  /** What was expected and what was found, without the location. */
  message: string
}

/** How much was checked; on a failure, what was checked before it. */
export interface ExportChecked {
  entries: number
  checkpoints: number
  consistency_steps: number
  /** Files whose bytes matched the manifest's digests. */
  files: number
}

export type ExportVerdict =
  | {
      ok: true
      checked: ExportChecked
      /** The key everything verified with; `software` is a development key. */
      key: {
        fingerprint: string
        signer_kind: 'hsm' | 'software'
        key_id: string
        algorithm: SignatureAlgorithm
      }
      export_id: string
      range: ExportManifest['range']
      anchor: ExportManifest['anchor']
      base: ExportManifest['base']
    }
  | { ok: false; problem: ExportProblem; checked: ExportChecked }

export interface VerifyExportOptions {
  /**
   * The key's fingerprint (SHA-256 of its SPKI DER, hex; colons allowed), learnt another way.
   * Without it, the export is checked against its own key, which proves only that whoever
   * holds that key made it.
   */
  expectFingerprint?: string
  /** Entries checked so far, of the export's total. */
  onProgress?: (done: number, total: number) => void
}

/** No line of an export comes near this; one that does is not read whole. */
const MAX_LINE_BYTES = 1 << 20
const MAX_SMALL_FILE_BYTES = 1 << 20
const PROGRESS_EVERY = 1024
const hex64 = /^[0-9a-f]{64}$/
/** Refuses bytes that are not UTF-8 instead of replacing them with U+FFFD. */
const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Stops the check at the first problem; caught by `verifyAuditExport`. */
class Stop extends Error {
  readonly problem: ExportProblem

  constructor(problem: ExportProblem) {
    super(problem.message)
    this.problem = problem
  }
}

function fail(
  code: ExportProblemCode,
  file: string,
  message: string,
  where: { line?: number; index?: number } = {},
): never {
  throw new Stop({ code, file, ...where, message })
}

/**
 * Checks an audit export folder offline, trusting nothing but the public key in it, and its
 * fingerprint when the caller knows it. Stops at the first problem, checked so that the one
 * named is the most specific: the key, the manifest's signature, each checkpoint's signature
 * and order, base and anchor, each consistency step, then each entry with its inclusion proof
 * to the anchor, and last each file's bytes and SHA-256 (an edited entry is reported as that
 * entry, not as a digest). The `.jsonl` files are streamed, never read whole.
 *
 * @returns `{ ok: true, … }` with what was checked and the key's kind (warn on `software`), or
 *   `{ ok: false, problem }` naming the file, line and entry index where it applies.
 * @throws {PalisadeError} `PAL_EXPORT_DIR_MISSING` (400) when `dir` is not a folder, and
 *   `PAL_EXPORT_FINGERPRINT_INVALID` (400) for an `expectFingerprint` that is not 64 hex
 *   digits: usage errors, not problems of an export.
 * @example
 * const verdict = await verifyAuditExport('q4', { expectFingerprint })
 * if (!verdict.ok) console.error(verdict.problem.file, verdict.problem.line, verdict.problem.code)
 */
export async function verifyAuditExport(
  dir: string,
  options: VerifyExportOptions = {},
): Promise<ExportVerdict> {
  const expected = expectedFingerprint(options.expectFingerprint)
  await checkFolder(dir)

  const checked: ExportChecked = { entries: 0, checkpoints: 0, consistency_steps: 0, files: 0 }
  try {
    const manifest = await verify(dir, expected, checked, options.onProgress)
    return {
      ok: true,
      checked,
      key: {
        fingerprint: manifest.key.fingerprint,
        signer_kind: manifest.key.signer_kind,
        key_id: manifest.key.key_id,
        algorithm: manifest.key.algorithm,
      },
      export_id: manifest.export_id,
      range: manifest.range,
      anchor: manifest.anchor,
      base: manifest.base,
    }
  } catch (error) {
    if (error instanceof Stop) return { ok: false, problem: error.problem, checked }
    throw error
  }
}

async function verify(
  dir: string,
  expectFingerprint: string | undefined,
  checked: ExportChecked,
  onProgress: VerifyExportOptions['onProgress'],
): Promise<ExportManifest> {
  const path = (name: string) => join(dir, name)

  for (const name of Object.values(EXPORT_FILES)) {
    const info = await stat(path(name)).catch(() => undefined)
    if (!info?.isFile()) {
      fail('PAL_EXPORT_FILE_MISSING', name, `expected the file ${name}, found none`)
    }
  }

  const pemBytes = await readSmall(path(EXPORT_FILES.publicKey), EXPORT_FILES.publicKey)
  const key = readKey(pemBytes)

  if (expectFingerprint !== undefined && key.fingerprint !== expectFingerprint) {
    fail(
      'PAL_EXPORT_KEY_UNTRUSTED',
      EXPORT_FILES.publicKey,
      `expected the key with fingerprint ${expectFingerprint}, got ${key.fingerprint}`,
    )
  }

  const manifestBytes = await readSmall(path(EXPORT_FILES.manifest), EXPORT_FILES.manifest)
  const signatureBytes = await readSmall(
    path(EXPORT_FILES.manifestSignature),
    EXPORT_FILES.manifestSignature,
  )
  checkManifestSignature(manifestBytes, signatureBytes, key)

  const manifest = readManifest(manifestBytes)

  if (manifest.key.fingerprint !== key.fingerprint || manifest.key.algorithm !== key.algorithm) {
    fail(
      'PAL_EXPORT_KEY_MISMATCH',
      EXPORT_FILES.publicKey,
      `the manifest names the ${manifest.key.algorithm} key ${manifest.key.fingerprint}, ` +
        `public-key.pem holds the ${key.algorithm} key ${key.fingerprint}`,
    )
  }

  const checkpointsFile = new LineReader(path(EXPORT_FILES.checkpoints), MAX_LINE_BYTES)
  const chain = await readCheckpoints(checkpointsFile, manifest, key.pem, checked)

  const consistencyFile = new LineReader(path(EXPORT_FILES.consistencyProofs), MAX_LINE_BYTES)
  await checkConsistency(consistencyFile, chain, checked)

  const entriesFile = new LineReader(path(EXPORT_FILES.entries), MAX_LINE_BYTES)
  const inclusionFile = new LineReader(path(EXPORT_FILES.inclusionProofs), MAX_LINE_BYTES)
  await checkEntries(entriesFile, inclusionFile, manifest, checked, onProgress)

  const found = new Map<string, { bytes: number; sha256: string; lines?: number }>([
    [EXPORT_FILES.publicKey, { bytes: pemBytes.length, sha256: sha256Hex(pemBytes) }],
  ])
  const read = [
    [EXPORT_FILES.entries, entriesFile],
    [EXPORT_FILES.checkpoints, checkpointsFile],
    [EXPORT_FILES.inclusionProofs, inclusionFile],
    [EXPORT_FILES.consistencyProofs, consistencyFile],
  ] as const
  for (const [name, file] of read) {
    found.set(name, { bytes: file.bytes, sha256: file.sha256(), lines: file.lfLines })
  }
  for (const digest of manifest.files) {
    const got = found.get(digest.name)!
    const lines = digest.lines === undefined ? '' : ` in ${digest.lines} lines`
    const gotLines = digest.lines === undefined ? '' : ` in ${got.lines} lines`
    if (
      got.bytes !== digest.bytes ||
      got.sha256 !== digest.sha256 ||
      (digest.lines !== undefined && got.lines !== digest.lines)
    ) {
      fail(
        'PAL_EXPORT_FILE_DIGEST_MISMATCH',
        digest.name,
        `expected ${digest.bytes} bytes${lines} with SHA-256 ${digest.sha256}, ` +
          `got ${got.bytes} bytes${gotLines} with SHA-256 ${got.sha256}`,
      )
    }
    checked.files++
  }
  return manifest
}

interface ExportKey {
  pem: string
  object: KeyObject
  fingerprint: string
  algorithm: SignatureAlgorithm
}

function readKey(bytes: Buffer): ExportKey {
  const pem = bytes.toString('utf8')
  let object: KeyObject
  try {
    object = createPublicKey(pem)
  } catch {
    fail('PAL_EXPORT_KEY_INVALID', EXPORT_FILES.publicKey, 'expected a public key in PEM (SPKI)')
  }

  const algorithm = algorithmOf(object)
  if (algorithm === undefined) {
    const type = object.asymmetricKeyType ?? 'unknown'
    const curve = object.asymmetricKeyDetails?.namedCurve
    fail(
      'PAL_EXPORT_KEY_INVALID',
      EXPORT_FILES.publicKey,
      `expected an ECDSA P-256 or Ed25519 public key, got ${type}${curve ? ` ${curve}` : ''}`,
    )
  }
  return { pem, object, fingerprint: spkiFingerprint(object), algorithm }
}

function checkManifestSignature(manifest: Buffer, signatureFile: Buffer, key: ExportKey): void {
  const text = signatureFile.toString('latin1')
  const match = /^([A-Za-z0-9+/]+={0,2})\n$/.exec(text)
  const signature = match ? Buffer.from(match[1]!, 'base64') : undefined
  // Both algorithms sign in 64 bytes: Ed25519, and P-256 as raw r‖s (IEEE P1363).
  if (signature?.length !== 64 || signature.toString('base64') !== match![1]) {
    fail(
      'PAL_EXPORT_MANIFEST_SIGNATURE_INVALID',
      EXPORT_FILES.manifestSignature,
      `expected a 64-byte signature in base64 and one LF, got ${describeBytes(signatureFile)}`,
    )
  }

  if (verifySignature(key.object, key.algorithm, manifestSignedBytes(manifest), signature)) return

  // The manifest is not trusted yet, but what it claims tells a replaced key from an edit.
  let named: unknown
  try {
    named = (JSON.parse(manifest.toString('utf8')) as ExportManifest).key?.fingerprint
  } catch {
    named = undefined
  }
  if (typeof named === 'string' && named !== key.fingerprint) {
    fail(
      'PAL_EXPORT_KEY_MISMATCH',
      EXPORT_FILES.publicKey,
      `manifest.sig does not verify with public-key.pem (fingerprint ${key.fingerprint}), ` +
        `and the manifest names another key (${named}): the key file was replaced`,
    )
  }
  fail(
    'PAL_EXPORT_MANIFEST_SIGNATURE_INVALID',
    EXPORT_FILES.manifest,
    `manifest.sig does not sign these bytes with the key in public-key.pem ` +
      `(fingerprint ${key.fingerprint}): the manifest or its signature was changed`,
  )
}

/** The signed manifest, checked field by field against the format. */
function readManifest(bytes: Buffer): ExportManifest {
  const file = EXPORT_FILES.manifest
  const invalid = (field: string, expected: string, got: unknown): never =>
    fail(
      'PAL_EXPORT_MANIFEST_INVALID',
      file,
      `${field}: expected ${expected}, got ${JSON.stringify(got) ?? 'nothing'}`,
    )
  let m: ExportManifest
  try {
    m = JSON.parse(bytes.toString('utf8')) as ExportManifest
  } catch (error) {
    return fail('PAL_EXPORT_MANIFEST_INVALID', file, `expected JSON: ${(error as Error).message}`)
  }
  const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v)

  if (!isObject(m)) invalid('(root)', 'an object', m)

  if (m.format !== EXPORT_FORMAT) invalid('format', EXPORT_FORMAT, m.format)

  if (typeof m.export_id !== 'string') invalid('export_id', 'a string', m.export_id)

  if (typeof m.created !== 'string') invalid('created', 'a string', m.created)

  if (!isObject(m.requested)) invalid('requested', 'an object', m.requested)

  if (!isObject(m.range)) invalid('range', 'an object', m.range)
  const { from_index: from, to_index: to } = m.range
  if (!isCount(from)) invalid('range.from_index', 'an integer from 0', from)
  if (!isCount(to) || to < from) invalid('range.to_index', `an integer from ${from}`, to)

  if (m.entry_count !== to - from) invalid('entry_count', `${to - from}`, m.entry_count)

  const head = (field: 'anchor' | 'base') => {
    const value = m[field]
    if (!isObject(value)) return invalid(field, 'an object', value)
    if (!isCount(value.tree_size) || value.tree_size === 0) {
      invalid(`${field}.tree_size`, 'a positive integer', value.tree_size)
    }
    if (typeof value.root_hash !== 'string' || !hex64.test(value.root_hash)) {
      invalid(`${field}.root_hash`, '64 lower-case hex digits', value.root_hash)
    }
    return value
  }
  const anchor = head('anchor')
  if (anchor.tree_size < to) invalid('anchor.tree_size', `at least ${to}`, anchor.tree_size)
  if (m.base !== null) {
    const base = head('base')
    if (base.tree_size > from) invalid('base.tree_size', `at most ${from}`, base.tree_size)
  }

  if (!isObject(m.key)) invalid('key', 'an object', m.key)
  if (typeof m.key.key_id !== 'string') invalid('key.key_id', 'a string', m.key.key_id)
  if (typeof m.key.fingerprint !== 'string')
    invalid('key.fingerprint', 'a string', m.key.fingerprint)
  if (m.key.signer_kind !== 'hsm' && m.key.signer_kind !== 'software') {
    invalid('key.signer_kind', 'hsm or software', m.key.signer_kind)
  }

  if (!Array.isArray(m.files) || m.files.length !== DIGESTED_FILES.length) {
    invalid('files', `${DIGESTED_FILES.length} digests`, m.files)
  }
  DIGESTED_FILES.forEach((name, i) => {
    const digest = m.files[i]
    if (!isObject(digest) || digest.name !== name) invalid(`files[${i}].name`, name, digest?.name)
    if (!isCount(digest.bytes)) invalid(`files[${i}].bytes`, 'a byte count', digest.bytes)
    if (typeof digest.sha256 !== 'string' || !hex64.test(digest.sha256)) {
      invalid(`files[${i}].sha256`, '64 lower-case hex digits', digest.sha256)
    }
    const jsonl = name.endsWith('.jsonl')
    if (jsonl ? !isCount(digest.lines) : digest.lines !== undefined) {
      invalid(`files[${i}].lines`, jsonl ? 'a line count' : 'nothing', digest.lines)
    }
  })
  return m
}

interface ChainLink {
  tree_size: number
  root: Buffer
  line: number
}

/** Reads and checks every checkpoint: signature, order, base and anchor. */
async function readCheckpoints(
  reader: LineReader,
  manifest: ExportManifest,
  pem: string,
  checked: ExportChecked,
): Promise<ChainLink[]> {
  const file = EXPORT_FILES.checkpoints
  const { from_index: from, to_index: to } = manifest.range
  const { anchor, base } = manifest
  const chain: ChainLink[] = []

  for await (const line of reader.lines()) {
    const value = parseLine(file, line) as { checkpoint?: Checkpoint; signature?: unknown }
    const where = { line: line.number }
    if (
      typeof value !== 'object' ||
      value === null ||
      typeof value.checkpoint !== 'object' ||
      value.checkpoint === null ||
      typeof value.signature !== 'string'
    ) {
      fail('PAL_EXPORT_CHECKPOINT_INVALID', file, 'expected {checkpoint, signature}', where)
    }
    const { checkpoint, signature } = value as { checkpoint: Checkpoint; signature: string }

    const verdict = verifyCheckpoint(checkpoint, signature, pem)
    if (!verdict.valid) fail('PAL_EXPORT_CHECKPOINT_INVALID', file, verdict.reason, where)

    if (checkpoint.signer_kind !== manifest.key.signer_kind) {
      fail(
        'PAL_EXPORT_CHECKPOINT_INVALID',
        file,
        `the checkpoint says signer_kind ${checkpoint.signer_kind}, ` +
          `the manifest ${manifest.key.signer_kind}`,
        where,
      )
    }

    const size = checkpoint.tree_size
    const previous = chain[chain.length - 1]
    if (size === 0 || (previous !== undefined && size <= previous.tree_size)) {
      fail(
        'PAL_EXPORT_CHECKPOINT_ORDER',
        file,
        `expected a tree size above ${previous?.tree_size ?? 0}, got ${size}`,
        where,
      )
    }

    if (chain.length === 0) {
      if (base !== null && (size !== base.tree_size || checkpoint.root_hash !== base.root_hash)) {
        fail(
          'PAL_EXPORT_BASE_MISMATCH',
          file,
          `expected the base checkpoint (size ${base.tree_size}, root ${base.root_hash}) ` +
            `first, got size ${size} with root ${checkpoint.root_hash}`,
          where,
        )
      }
      if (base === null && size <= from) {
        fail(
          'PAL_EXPORT_BASE_MISMATCH',
          file,
          `checkpoint ${size} is at or below from_index ${from}, so it is a base, ` +
            'but the manifest names none',
          where,
        )
      }
    } else if (size <= from) {
      fail(
        'PAL_EXPORT_BASE_MISMATCH',
        file,
        `checkpoint ${size} is at or below from_index ${from}: the base must be the newest ` +
          `such, and it is not the one the manifest names (${base?.tree_size ?? 'none'})`,
        where,
      )
    }

    if (size > anchor.tree_size || (size >= to && size < anchor.tree_size)) {
      fail(
        'PAL_EXPORT_ANCHOR_MISMATCH',
        file,
        `expected the anchor (size ${anchor.tree_size}) to be the first checkpoint of size ` +
          `${to} or more, and the last, got checkpoint ${size}`,
        where,
      )
    }

    if (size === anchor.tree_size && checkpoint.root_hash !== anchor.root_hash) {
      fail(
        'PAL_EXPORT_ANCHOR_MISMATCH',
        file,
        `expected the anchor's root ${anchor.root_hash}, got ${checkpoint.root_hash}`,
        where,
      )
    }

    chain.push({
      tree_size: size,
      root: Buffer.from(checkpoint.root_hash, 'hex'),
      line: line.number,
    })
    checked.checkpoints++
  }

  const last = chain[chain.length - 1]
  if (last?.tree_size !== anchor.tree_size) {
    fail(
      'PAL_EXPORT_LINE_MISSING',
      file,
      `expected the anchor checkpoint (size ${anchor.tree_size}), the file ends` +
        (last ? ` after checkpoint ${last.tree_size}` : ''),
      { line: chain.length + 1 },
    )
  }
  return chain
}

/** Line k proves checkpoint k consistent with checkpoint k + 1. */
async function checkConsistency(
  reader: LineReader,
  chain: readonly ChainLink[],
  checked: ExportChecked,
): Promise<void> {
  const file = EXPORT_FILES.consistencyProofs
  const lines = reader.lines()
  try {
    await checkSteps(lines, chain, checked)
    await noMoreLines(lines, file)
  } finally {
    await lines.return()
  }
}

async function checkSteps(
  lines: AsyncGenerator<FileLine, void, undefined>,
  chain: readonly ChainLink[],
  checked: ExportChecked,
): Promise<void> {
  const file = EXPORT_FILES.consistencyProofs
  for (let k = 1; k < chain.length; k++) {
    const older = chain[k - 1]!
    const newer = chain[k]!
    const next = await lines.next()
    if (next.done) {
      fail(
        'PAL_EXPORT_LINE_MISSING',
        file,
        `expected the consistency proof from ${older.tree_size} to ${newer.tree_size}, ` +
          'the file ends',
        { line: k },
      )
    }
    const where = { line: k }
    const value = parseLine(file, next.value) as Record<string, unknown>

    if (value?.from !== older.tree_size || value?.to !== newer.tree_size) {
      fail(
        'PAL_EXPORT_CONSISTENCY_INVALID',
        file,
        `expected the proof from ${older.tree_size} to ${newer.tree_size}, ` +
          `got one from ${JSON.stringify(value?.from)} to ${JSON.stringify(value?.to)}`,
        where,
      )
    }

    const proof = hashes(value.path)
    if (proof === undefined) {
      fail('PAL_EXPORT_CONSISTENCY_INVALID', file, 'path: expected 64-hex-digit hashes', where)
    }

    try {
      verifyConsistency({
        size1: older.tree_size,
        size2: newer.tree_size,
        root1: older.root,
        root2: newer.root,
        proof,
      })
    } catch (error) {
      if (!(error instanceof MerkleError)) throw error
      fail('PAL_EXPORT_CONSISTENCY_INVALID', file, error.message, where)
    }
    checked.consistency_steps++
  }
}

/** Each entry with its inclusion proof, line by line in step. */
async function checkEntries(
  entriesReader: LineReader,
  proofsReader: LineReader,
  manifest: ExportManifest,
  checked: ExportChecked,
  onProgress: VerifyExportOptions['onProgress'],
): Promise<void> {
  const entriesFile = EXPORT_FILES.entries
  const proofsFile = EXPORT_FILES.inclusionProofs
  const { from_index: from } = manifest.range
  const total = manifest.entry_count
  const anchorSize = manifest.anchor.tree_size
  const inclusion = new InclusionChecker(anchorSize, Buffer.from(manifest.anchor.root_hash, 'hex'))
  const entries = entriesReader.lines()
  const proofs = proofsReader.lines()

  try {
    onProgress?.(0, total)
    for (let k = 0; k < total; k++) {
      const index = from + k
      const where = { line: k + 1, index }

      const entry = await entries.next()
      if (entry.done) {
        fail(
          'PAL_EXPORT_LINE_MISSING',
          entriesFile,
          `expected entry ${index}, the file ends`,
          where,
        )
      }
      checkTerminated(entriesFile, entry.value, index)

      let text: string
      try {
        text = utf8.decode(entry.value.bytes)
      } catch {
        fail('PAL_EXPORT_ENTRY_INVALID', entriesFile, 'expected UTF-8 text', where)
      }

      let parsed: unknown
      try {
        parsed = JSON.parse(text)
      } catch (error) {
        const why = (error as Error).message
        fail('PAL_EXPORT_ENTRY_INVALID', entriesFile, `expected JSON: ${why}`, where)
      }

      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        fail('PAL_EXPORT_ENTRY_INVALID', entriesFile, 'expected a JSON object', where)
      }

      if (canonicalJson(parsed) !== text) {
        fail(
          'PAL_EXPORT_ENTRY_INVALID',
          entriesFile,
          'expected canonical JSON (keys sorted, no spaces), as the log hashes entries',
          where,
        )
      }

      const field = (parsed as { index?: unknown }).index
      if (field !== index) {
        fail(
          'PAL_EXPORT_ENTRY_OUT_OF_PLACE',
          entriesFile,
          `expected entry ${index} on this line, got one whose index is ${JSON.stringify(field)}`,
          where,
        )
      }

      const proofLine = await proofs.next()
      if (proofLine.done) {
        fail(
          'PAL_EXPORT_LINE_MISSING',
          proofsFile,
          `expected the inclusion proof of entry ${index}, the file ends`,
          where,
        )
      }
      const claim = parseLine(proofsFile, proofLine.value, index) as Record<string, unknown>

      if (claim?.index !== index || claim?.tree_size !== anchorSize) {
        fail(
          'PAL_EXPORT_PROOF_INVALID',
          proofsFile,
          `expected the proof of entry ${index} in tree ${anchorSize}, got one of entry ` +
            `${JSON.stringify(claim?.index)} in tree ${JSON.stringify(claim?.tree_size)}`,
          where,
        )
      }

      const proof = hashes(claim.path)
      if (proof === undefined) {
        fail('PAL_EXPORT_PROOF_INVALID', proofsFile, 'path: expected 64-hex-digit hashes', where)
      }

      try {
        inclusion.check(index, leafHash(entry.value.bytes), claim.path as string[], proof)
      } catch (error) {
        if (!(error instanceof MerkleError)) throw error
        if (error.code !== 'PAL_PROOF_ROOT_MISMATCH') {
          fail('PAL_EXPORT_PROOF_INVALID', proofsFile, error.message, where)
        }
        fail(
          'PAL_EXPORT_ENTRY_NOT_INCLUDED',
          entriesFile,
          `entry ${index} and its inclusion proof (inclusion-proofs.jsonl line ${k + 1}) do ` +
            `not lead to the anchor's root ${manifest.anchor.root_hash}: the entry or its ` +
            'proof was changed',
          where,
        )
      }

      checked.entries++
      if (checked.entries % PROGRESS_EVERY === 0) onProgress?.(checked.entries, total)
    }
    onProgress?.(checked.entries, total)

    await noMoreLines(entries, entriesFile, from)
    await noMoreLines(proofs, proofsFile, from)
  } finally {
    await entries.return()
    await proofs.return()
  }
}

function checkTerminated(file: string, line: FileLine, index?: number): void {
  const where = { line: line.number, ...(index === undefined ? {} : { index }) }
  if (line.tooLong) {
    fail('PAL_EXPORT_LINE_INVALID', file, `expected at most ${MAX_LINE_BYTES} bytes`, where)
  }
  if (!line.terminated) {
    fail(
      'PAL_EXPORT_LINE_INVALID',
      file,
      `expected the line to end with LF, the file ends after ${line.bytes.length} bytes of it ` +
        '(cut short?)',
      where,
    )
  }
}

/** One line's JSON value, after the checks every line gets. */
function parseLine(file: string, line: FileLine, index?: number): unknown {
  checkTerminated(file, line, index)
  const where = { line: line.number, ...(index === undefined ? {} : { index }) }
  try {
    return JSON.parse(utf8.decode(line.bytes))
  } catch (error) {
    return fail(
      'PAL_EXPORT_LINE_INVALID',
      file,
      `expected JSON: ${(error as Error).message}`,
      where,
    )
  }
}

/** Reads on to the end of a file that should have no more lines, so its digest is whole. */
async function noMoreLines(
  lines: AsyncGenerator<FileLine, void, undefined>,
  file: string,
  from?: number,
): Promise<void> {
  const next = await lines.next()
  if (next.done) return
  const { number } = next.value
  const index = from === undefined ? {} : { index: from + number - 1 }
  fail('PAL_EXPORT_LINE_EXTRA', file, 'expected the file to end before this line', {
    line: number,
    ...index,
  })
}

/** A proof's path as bytes, or undefined unless it is an array of 64-hex-digit strings. */
function hashes(path: unknown): Uint8Array[] | undefined {
  if (!Array.isArray(path)) return undefined
  const out: Uint8Array[] = []
  for (const item of path) {
    if (typeof item !== 'string' || !hex64.test(item)) return undefined
    out.push(Buffer.from(item, 'hex'))
  }
  return out
}

async function readSmall(path: string, name: string): Promise<Buffer> {
  const handle = await open(path, 'r')
  try {
    const { size } = await handle.stat()
    if (size > MAX_SMALL_FILE_BYTES) {
      fail(
        name === EXPORT_FILES.publicKey
          ? 'PAL_EXPORT_KEY_INVALID'
          : name === EXPORT_FILES.manifest
            ? 'PAL_EXPORT_MANIFEST_INVALID'
            : 'PAL_EXPORT_MANIFEST_SIGNATURE_INVALID',
        name,
        `expected at most ${MAX_SMALL_FILE_BYTES} bytes, got ${size}`,
      )
    }
    return await handle.readFile()
  } finally {
    await handle.close()
  }
}

async function checkFolder(dir: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined)
  if (info?.isDirectory()) return
  throw new PalisadeError(
    'PAL_EXPORT_DIR_MISSING',
    `audit export ${dir}: expected a folder, found ${info ? 'a file' : 'nothing'}`,
    { status: 400, context: { dir } },
  )
}

function expectedFingerprint(given: string | undefined): string | undefined {
  if (given === undefined) return undefined
  const normalised = given.replace(/[:\s]/g, '').toLowerCase()
  if (hex64.test(normalised)) return normalised
  throw new PalisadeError(
    'PAL_EXPORT_FINGERPRINT_INVALID',
    `fingerprint: expected 64 hex digits (SHA-256 of the key's SPKI DER), got ` +
      `${JSON.stringify(given)}`,
    { status: 400 },
  )
}

function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex')
}

function describeBytes(bytes: Buffer): string {
  const shown = bytes.subarray(0, 20).toString('latin1')
  return `${bytes.length} bytes${bytes.length > 0 ? ` starting ${JSON.stringify(shown)}` : ''}`
}
