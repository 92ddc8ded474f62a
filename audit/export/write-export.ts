import { mkdir, mkdtemp, open, readdir, rename, rm } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'

import { PalisadeError } from '../../platform/errors.ts'
import { canonicalJson } from '../../platform/event-id.ts'
import { verifyCheckpoint } from '../checkpoint.ts'
import type { SignedCheckpoint } from '../checkpoint.ts'
import { HASH_SIZE, leafHash, ProofBuilder, verifyConsistency } from '../merkle/index.ts'
import type { LeafHashSource } from '../merkle/index.ts'
import type { CheckpointSigner } from '../signers/checkpoint-signer.ts'
import { ExportFile } from './export-file.ts'
import {
  DIGESTED_FILES,
  EXPORT_FILES,
  EXPORT_FORMAT,
  manifestSignedBytes,
} from './export-format.ts'
import type { ConsistencyProofLine, ExportManifest, InclusionProofLine } from './export-format.ts'
import { RangeProofs } from './range-proofs.ts'

/** Where an export's contents come from: the log's store and its checkpoint key. */
export interface ExportSource {
  /**
   * Entry texts exactly as the log hashed them (AuditRow.entry), in index order, for
   * start ≤ index < end; the writer reads in batches.
   */
  readEntries(start: number, end: number): Promise<{ index: number; text: string }[]>
  /** The log's leaf hashes (MerkleAuditLog.leaves). */
  leaves: LeafHashSource
  /** Every signed checkpoint of the log, by tree size ascending. */
  checkpoints: SignedCheckpoint[]
  /** Signs the manifest: the checkpoint key (one signer, no fallback). */
  signer: CheckpointSigner
}

export interface ExportRequest {
  exportId: string
  fromIndex: number
  /** Exclusive. */
  toIndex: number
  /** What was asked for, as given; copied into the manifest. */
  requested: { from?: string; to?: string }
  now?: () => Date
  /** Entries written so far, of the range's total. */
  onProgress?: (done: number, total: number) => void
}

/** Leaf hashes asked of the source at once (2 MiB). */
const LEAF_BATCH = 65_536
/** Entry texts asked of the source at once. */
const ENTRY_BATCH = 4_096

/**
 * Writes an audit export of entries [fromIndex, toIndex) into `dir`, in the format of
 * `export-format.ts`, and returns its manifest.
 *
 * The folder is written as a hidden sibling (`.NAME.partial-XXXXXX`), every file flushed to
 * disk, and renamed to `dir` only when complete, so a crash never leaves a folder that looks
 * like an export. Everything the export claims is checked against the source while writing
 * (each entry's text against its leaf hash, each checkpoint's root against the leaves, its
 * signature against the signer's key, each consistency proof against the roots), so a store
 * that disagrees with itself fails here rather than in an auditor's hands. Entry texts are
 * streamed; the leaf hashes near the range are held, about 64 bytes per entry exported.
 *
 * @throws {PalisadeError} `PAL_EXPORT_REQUEST_INVALID` (400) for a range that is not
 *   0 ≤ fromIndex ≤ toIndex; `PAL_EXPORT_DIR_NOT_EMPTY` (409) when `dir` exists and is not an
 *   empty folder; `PAL_EXPORT_UNANCHORED` (409) when no signed checkpoint has toIndex entries
 *   yet; `PAL_EXPORT_CHECKPOINT_UNVERIFIABLE` (409) when a checkpoint the export needs was not
 *   signed by `signer`'s key; `PAL_EXPORT_SOURCE_INCONSISTENT` (500) when the store disagrees
 *   with itself. Errors of the source and the signer pass through.
 * @example
 * const manifest = await writeAuditExport('/exports/2026-q4', source, {
 *   exportId, fromIndex: 0, toIndex: log.size(), requested: { to: '2026-12-31T23:59:59Z' },
 * })
 */
export async function writeAuditExport(
  dir: string,
  source: ExportSource,
  request: ExportRequest,
): Promise<ExportManifest> {
  checkRequest(request)

  const chain = selectCheckpoints(source.checkpoints, request.fromIndex, request.toIndex)

  checkSignedBy(chain.checkpoints, source.signer)

  const target = resolve(dir)
  await checkTarget(target)

  await mkdir(dirname(target), { recursive: true })
  const temp = await mkdtemp(join(dirname(target), `.${basename(target)}.partial-`))
  try {
    const manifest = await writeFiles(temp, source, request, chain)
    await syncPath(temp)
    await moveInto(temp, target)
    await syncPath(dirname(target))
    return manifest
  } catch (error) {
    await rm(temp, { recursive: true, force: true })
    throw error
  }
}

/** The checkpoints an export carries, oldest first: base (or the log's first) to anchor. */
interface CheckpointChain {
  checkpoints: SignedCheckpoint[]
  base: SignedCheckpoint | null
  anchor: SignedCheckpoint
}

/**
 * The base is the newest checkpoint at or below fromIndex, the anchor the first at or above
 * toIndex (export-format.ts). Checkpoints of size 0 are left out: RFC 9162 defines no
 * consistency proof from the empty tree, and such a checkpoint proves nothing.
 */
function selectCheckpoints(all: readonly SignedCheckpoint[], from: number, to: number) {
  const bySize: SignedCheckpoint[] = []
  for (const signed of [...all].sort((a, b) => a.checkpoint.tree_size - b.checkpoint.tree_size)) {
    if (signed.checkpoint.tree_size === 0) continue
    const last = bySize[bySize.length - 1]
    if (last?.checkpoint.tree_size !== signed.checkpoint.tree_size) {
      bySize.push(signed)
      continue
    }
    // Two signatures on one size: harmless if they agree, a forked log if they do not.
    if (last.checkpoint.root_hash !== signed.checkpoint.root_hash) {
      throw inconsistent(
        `two signed checkpoints of size ${last.checkpoint.tree_size} have different roots ` +
          `(${last.checkpoint.root_hash} and ${signed.checkpoint.root_hash})`,
      )
    }
  }

  const anchorAt = bySize.findIndex((signed) => signed.checkpoint.tree_size >= to)
  if (anchorAt < 0) {
    const newest = bySize[bySize.length - 1]?.checkpoint.tree_size
    const needed = Math.max(to, 1)
    throw new PalisadeError(
      'PAL_EXPORT_UNANCHORED',
      `no signed checkpoint covers the export yet: it needs one of tree size ${needed} or ` +
        `more (entries before index ${to}), and the newest signed one ` +
        `${newest === undefined ? 'does not exist (none is signed)' : `has size ${newest}`}`,
      { status: 409, context: { needed_size: needed, newest_size: newest ?? null } },
    )
  }

  let baseAt = -1
  for (let i = 0; i <= anchorAt; i++) if (bySize[i]!.checkpoint.tree_size <= from) baseAt = i
  return {
    checkpoints: bySize.slice(Math.max(baseAt, 0), anchorAt + 1),
    base: baseAt >= 0 ? bySize[baseAt]! : null,
    anchor: bySize[anchorAt]!,
  } satisfies CheckpointChain
}

/**
 * Every checkpoint must verify with the one public key the export carries. After a change of
 * checkpoint key the older checkpoints do not, and format v1 has room for one key only.
 */
function checkSignedBy(checkpoints: readonly SignedCheckpoint[], signer: CheckpointSigner): void {
  const pem = signer.publicKeyPem()
  for (const { checkpoint, signature } of checkpoints) {
    const verdict = verifyCheckpoint(checkpoint, signature, pem)
    // One key, one kind: the verifier holds every checkpoint to the manifest's signer_kind.
    const reason = !verdict.valid
      ? verdict.reason
      : checkpoint.signer_kind !== signer.kind
        ? `it says signer_kind ${checkpoint.signer_kind}, the signer is ${signer.kind}`
        : undefined
    if (reason === undefined) continue
    throw new PalisadeError(
      'PAL_EXPORT_CHECKPOINT_UNVERIFIABLE',
      `checkpoint ${checkpoint.tree_size} does not verify with the export's key ` +
        `${signer.keyId} (fingerprint ${signer.fingerprint()}): ${reason}`,
      {
        status: 409,
        context: { tree_size: checkpoint.tree_size, key_fingerprint: checkpoint.key_fingerprint },
      },
    )
  }
}

async function writeFiles(
  temp: string,
  source: ExportSource,
  request: ExportRequest,
  chain: CheckpointChain,
): Promise<ExportManifest> {
  const { fromIndex: from, toIndex: to } = request
  const anchorSize = chain.anchor.checkpoint.tree_size
  const files = new Map<string, ExportFile>()
  const file = async (name: string): Promise<ExportFile> => {
    const created = await ExportFile.create(join(temp, name))
    files.set(name, created)
    return created
  }

  try {
    const builder = new ProofBuilder(source.leaves)
    const proofs = new RangeProofs(from, to, anchorSize, (subtree) =>
      builder.cache.set(subtree.level, subtree.index, subtree.hash),
    )

    const entries = await file(EXPORT_FILES.entries)
    let nextCheckpoint = 0
    for (let start = 0; start < anchorSize; start += LEAF_BATCH) {
      const end = Math.min(anchorSize, start + LEAF_BATCH)
      const leaves = await readLeaves(source.leaves, start, end)

      if (Math.max(start, from) < Math.min(end, to)) {
        await writeEntries(entries, source, request, leaves, start, end)
      }

      for (const leaf of leaves) {
        proofs.append(leaf)
        const due = chain.checkpoints[nextCheckpoint]
        if (due?.checkpoint.tree_size !== proofs.size) continue
        const root = hex(proofs.root())
        if (root !== due.checkpoint.root_hash) {
          throw inconsistent(
            `signed checkpoint ${proofs.size} has root ${due.checkpoint.root_hash}, but the ` +
              `stored leaf hashes give ${root}`,
          )
        }
        nextCheckpoint++
      }
    }
    await entries.close()
    proofs.finish()

    const inclusion = await file(EXPORT_FILES.inclusionProofs)
    for (let index = from; index < to; index++) {
      const path = proofs.inclusionProof(index).map(hex)
      await inclusion.writeLine(inclusionLine({ index, tree_size: anchorSize, path }))
    }
    await inclusion.close()

    const checkpoints = await file(EXPORT_FILES.checkpoints)
    for (const { checkpoint, signature } of chain.checkpoints) {
      // Only the fields of the format: a stored record may carry more (status, covered_by).
      const { tree_size, root_hash, time, key_id, key_fingerprint, algorithm, signer_kind } =
        checkpoint
      const line = {
        checkpoint: { tree_size, root_hash, time, key_id, key_fingerprint, algorithm, signer_kind },
        signature,
      }
      await checkpoints.writeLine(canonicalJson(line))
    }
    await checkpoints.close()

    const consistency = await file(EXPORT_FILES.consistencyProofs)
    for (let i = 1; i < chain.checkpoints.length; i++) {
      const older = chain.checkpoints[i - 1]!.checkpoint
      const newer = chain.checkpoints[i]!.checkpoint
      const proof = await builder.consistencyProof(older.tree_size, newer.tree_size)
      checkConsistency(older, newer, proof)
      const line: ConsistencyProofLine = {
        from: older.tree_size,
        to: newer.tree_size,
        path: proof.map(hex),
      }
      await consistency.writeLine(canonicalJson(line))
    }
    await consistency.close()

    const publicKey = await file(EXPORT_FILES.publicKey)
    await publicKey.write(source.signer.publicKeyPem())
    await publicKey.close()

    const manifest = makeManifest(request, chain, source.signer, (name) =>
      files.get(name)!.digest(name.endsWith('.jsonl')),
    )
    const manifestText = `${canonicalJson(manifest)}\n`
    const signature = await source.signer.sign(manifestSignedBytes(Buffer.from(manifestText)))

    const manifestFile = await file(EXPORT_FILES.manifest)
    await manifestFile.write(manifestText)
    await manifestFile.close()

    const signatureFile = await file(EXPORT_FILES.manifestSignature)
    await signatureFile.writeLine(Buffer.from(signature).toString('base64'))
    await signatureFile.close()
    return manifest
  } catch (error) {
    await Promise.all([...files.values()].map((f) => f.abandon()))
    throw error
  }
}

/**
 * Reads the entries of [start, end) ∩ [from, to), checks each against its leaf, writes them.
 * The leaf hash pins the text to the bytes the log hashed, which the log wrote as canonical
 * JSON with the entry's own index; re-serialising every entry here would double the cost of
 * an export for no more certainty (the verifier does it, trusting nothing).
 */
async function writeEntries(
  out: ExportFile,
  source: ExportSource,
  request: ExportRequest,
  leaves: readonly Uint8Array[],
  start: number,
  end: number,
): Promise<void> {
  const { fromIndex: from, toIndex: to } = request
  const last = Math.min(end, to)
  for (let first = Math.max(start, from); first < last; first += ENTRY_BATCH) {
    const batchEnd = Math.min(last, first + ENTRY_BATCH)
    const rows = await source.readEntries(first, batchEnd)

    if (rows.length !== batchEnd - first) {
      throw inconsistent(
        `expected ${batchEnd - first} entries for indexes [${first}, ${batchEnd}), ` +
          `the store gave ${rows.length}`,
      )
    }

    for (let k = 0; k < rows.length; k++) {
      const index = first + k
      const row = rows[k]!
      if (row.index !== index) {
        throw inconsistent(
          `expected entry ${index}, the store gave entry ${row.index} in its place`,
        )
      }
      const hash = hex(leafHash(Buffer.from(row.text, 'utf8')))
      const stored = hex(leaves[index - start]!)
      if (hash !== stored) {
        throw inconsistent(
          `entry ${index}'s text hashes to leaf ${hash}, but the stored leaf hash is ${stored}`,
        )
      }
      await out.writeLine(row.text)
    }
    request.onProgress?.(batchEnd - from, to - from)
  }
}

async function readLeaves(
  source: LeafHashSource,
  start: number,
  end: number,
): Promise<readonly Uint8Array[]> {
  const leaves = await source.leafHashes(start, end)

  if (leaves.length !== end - start) {
    throw inconsistent(
      `expected ${end - start} leaf hashes for [${start}, ${end}), the store gave ${leaves.length}`,
    )
  }

  const bad = leaves.findIndex((leaf) => !(leaf instanceof Uint8Array) || leaf.length !== HASH_SIZE)
  if (bad >= 0) throw inconsistent(`leaf hash ${start + bad} is not ${HASH_SIZE} bytes`)
  return leaves
}

/** The proof must hold between the two signed roots, or an auditor's check would fail. */
function checkConsistency(
  older: SignedCheckpoint['checkpoint'],
  newer: SignedCheckpoint['checkpoint'],
  proof: Uint8Array[],
): void {
  try {
    verifyConsistency({
      size1: older.tree_size,
      size2: newer.tree_size,
      root1: Buffer.from(older.root_hash, 'hex'),
      root2: Buffer.from(newer.root_hash, 'hex'),
      proof,
    })
  } catch (error) {
    throw inconsistent(
      `the consistency proof from checkpoint ${older.tree_size} to ${newer.tree_size}, built ` +
        `from the stored leaf hashes, does not hold: ${(error as Error).message}`,
    )
  }
}

function makeManifest(
  request: ExportRequest,
  chain: CheckpointChain,
  signer: CheckpointSigner,
  digest: (name: string) => ExportManifest['files'][number],
): ExportManifest {
  const requested: ExportManifest['requested'] = {}
  const { from, to } = request.requested ?? {}
  if (from !== undefined) requested.from = from
  if (to !== undefined) requested.to = to
  const head = (signed: SignedCheckpoint) => ({
    tree_size: signed.checkpoint.tree_size,
    root_hash: signed.checkpoint.root_hash,
  })
  return {
    format: EXPORT_FORMAT,
    export_id: request.exportId,
    created: (request.now ?? (() => new Date()))().toISOString(),
    requested,
    range: { from_index: request.fromIndex, to_index: request.toIndex },
    entry_count: request.toIndex - request.fromIndex,
    anchor: head(chain.anchor),
    base: chain.base === null ? null : head(chain.base),
    key: {
      key_id: signer.keyId,
      fingerprint: signer.fingerprint(),
      algorithm: signer.algorithm,
      signer_kind: signer.kind,
    },
    files: DIGESTED_FILES.map(digest),
  }
}

/** canonicalJson of the line, written out: the keys are in order and every value is plain. */
function inclusionLine({ index, tree_size, path }: InclusionProofLine): string {
  const hashes = path.map((h) => `"${h}"`).join(',')
  return `{"index":${index},"path":[${hashes}],"tree_size":${tree_size}}`
}

function checkRequest(request: ExportRequest): void {
  const { exportId, fromIndex, toIndex, requested } = request

  if (typeof exportId !== 'string' || exportId.length === 0) {
    throw invalidRequest('exportId', 'a non-empty string', exportId)
  }

  if (!Number.isSafeInteger(fromIndex) || fromIndex < 0) {
    throw invalidRequest('fromIndex', 'an integer from 0 to 2^53 - 1', fromIndex)
  }

  if (!Number.isSafeInteger(toIndex) || toIndex < fromIndex) {
    throw invalidRequest('toIndex', `an integer from fromIndex (${fromIndex}) up`, toIndex)
  }

  for (const key of ['from', 'to'] as const) {
    const value = requested?.[key]
    if (value !== undefined && typeof value !== 'string') {
      throw invalidRequest(`requested.${key}`, 'a string or nothing', value)
    }
  }
}

function invalidRequest(field: string, expected: string, got: unknown): PalisadeError {
  return new PalisadeError(
    'PAL_EXPORT_REQUEST_INVALID',
    `export request ${field}: expected ${expected}, got ${JSON.stringify(got) ?? String(got)}`,
    { status: 400, context: { field } },
  )
}

/** The folder must not exist yet, or be empty: an export never mixes with other files. */
async function checkTarget(target: string): Promise<void> {
  let names: string[]
  try {
    names = await readdir(target)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return
    if (code === 'ENOTDIR') throw notEmpty(target, 'a file')
    throw error
  }
  if (names.length > 0) {
    const shown = names.slice(0, 3).join(', ') + (names.length > 3 ? ', …' : '')
    throw notEmpty(target, `a folder holding ${names.length} entries (${shown})`)
  }
}

/** Renames the finished folder into place; `rename` replaces an empty folder, nothing else. */
async function moveInto(temp: string, target: string): Promise<void> {
  try {
    await rename(temp, target)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOTEMPTY' || code === 'EEXIST') throw notEmpty(target, 'a non-empty folder')
    if (code === 'ENOTDIR') throw notEmpty(target, 'a file')
    throw error
  }
}

function notEmpty(target: string, found: string): PalisadeError {
  return new PalisadeError(
    'PAL_EXPORT_DIR_NOT_EMPTY',
    `export folder ${target}: expected a folder that does not exist yet or is empty, ` +
      `found ${found}`,
    { status: 409, context: { dir: target } },
  )
}

/** Flushes a folder's entries (the names of the files just written) to disk. */
async function syncPath(path: string): Promise<void> {
  const handle = await open(path, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

function inconsistent(message: string): PalisadeError {
  return new PalisadeError('PAL_EXPORT_SOURCE_INCONSISTENT', `audit export: ${message}`, {
    status: 500,
  })
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}
