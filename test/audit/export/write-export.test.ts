import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { afterEach, describe, expect, it } from 'vitest'

import { verifyCheckpoint } from '../../../audit/checkpoint.ts'
import { EXPORT_FILES, manifestSignedBytes } from '../../../audit/export/export-format.ts'
import { writeAuditExport } from '../../../audit/export/write-export.ts'
import type { ExportRequest } from '../../../audit/export/write-export.ts'
import {
  inclusionProof,
  leafHash,
  verifyConsistency,
  verifyInclusion,
} from '../../../audit/merkle/index.ts'
import { verifySignature } from '../../../audit/signers/verify-signature.ts'
import { PalisadeError } from '../../../platform/errors.ts'
import { canonicalJson } from '../../../platform/event-id.ts'
import {
  memoryLog,
  memorySource,
  readLines,
  signAt,
  tempFolder,
  testSigner,
} from './export-fixture.ts'

const log = memoryLog(300)
const signer = testSigner()
const folders: { remove: () => void }[] = []

function folder(): string {
  const made = tempFolder()
  folders.push(made)
  return made.dir
}

afterEach(() => folders.splice(0).forEach((f) => f.remove()))

function request(fromIndex: number, toIndex: number, extra: Partial<ExportRequest> = {}) {
  return {
    exportId: 'exp-1',
    fromIndex,
    toIndex,
    requested: { from: String(fromIndex), to: String(toIndex) },
    now: () => new Date('2026-12-03T22:00:00.000Z'),
    ...extra,
  }
}

async function errorOf(promise: Promise<unknown>): Promise<PalisadeError> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(PalisadeError)
    return error as PalisadeError
  }
  throw new Error('expected the promise to fail')
}

describe('writeAuditExport', () => {
  it('writes the entries, their proofs, the checkpoints and a signed manifest', async () => {
    const checkpoints = await signAt(log, signer, [10, 50, 100, 170, 256, 300])
    const dir = join(folder(), 'export')
    const progress: [number, number][] = []
    const manifest = await writeAuditExport(
      dir,
      memorySource(log, signer, checkpoints),
      request(60, 200, { onProgress: (done, total) => progress.push([done, total]) }),
    )

    expect(readdirSync(dir).sort()).toEqual(Object.values(EXPORT_FILES).sort())
    expect(manifest.range).toEqual({ from_index: 60, to_index: 200 })
    expect(manifest.entry_count).toBe(140)
    expect(manifest.base).toEqual({
      tree_size: 50,
      root_hash: checkpoints[1]!.checkpoint.root_hash,
    })
    expect(manifest.anchor).toEqual({
      tree_size: 256,
      root_hash: checkpoints[4]!.checkpoint.root_hash,
    })
    expect(manifest.key.signer_kind).toBe('software')
    expect(progress[progress.length - 1]).toEqual([140, 140])

    const entries = readLines(join(dir, EXPORT_FILES.entries))
    expect(entries).toEqual(log.texts.slice(60, 200))

    const anchorRoot = Buffer.from(manifest.anchor.root_hash, 'hex')
    readLines(join(dir, EXPORT_FILES.inclusionProofs)).forEach((text, k) => {
      const line = JSON.parse(text)
      expect(canonicalJson(line)).toBe(text)
      expect(line.index).toBe(60 + k)
      expect(line.tree_size).toBe(256)
      const proof = line.path.map((h: string) => Buffer.from(h, 'hex'))
      expect(proof).toEqual(inclusionProof(60 + k, log.leaves.slice(0, 256)).map(Buffer.from))
      const leaf = leafHash(Buffer.from(entries[k]!, 'utf8'))
      verifyInclusion({ leafIndex: 60 + k, treeSize: 256, leafHash: leaf, proof, root: anchorRoot })
    })

    const chain = readLines(join(dir, EXPORT_FILES.checkpoints)).map((l) => JSON.parse(l))
    expect(chain.map((c) => c.checkpoint.tree_size)).toEqual([50, 100, 170, 256])
    const pem = readFileSync(join(dir, EXPORT_FILES.publicKey), 'utf8')
    for (const c of chain) expect(verifyCheckpoint(c.checkpoint, c.signature, pem).valid).toBe(true)

    const steps = readLines(join(dir, EXPORT_FILES.consistencyProofs)).map((l) => JSON.parse(l))
    expect(steps.map((s) => [s.from, s.to])).toEqual([
      [50, 100],
      [100, 170],
      [170, 256],
    ])
    steps.forEach((step, i) => {
      verifyConsistency({
        size1: step.from,
        size2: step.to,
        root1: Buffer.from(chain[i].checkpoint.root_hash, 'hex'),
        root2: Buffer.from(chain[i + 1].checkpoint.root_hash, 'hex'),
        proof: step.path.map((h: string) => Buffer.from(h, 'hex')),
      })
    })

    const manifestBytes = readFileSync(join(dir, EXPORT_FILES.manifest))
    expect(JSON.parse(manifestBytes.toString())).toEqual(manifest)
    const signature = Buffer.from(
      readFileSync(join(dir, EXPORT_FILES.manifestSignature), 'utf8').trim(),
      'base64',
    )
    expect(verifySignature(pem, 'ed25519', manifestSignedBytes(manifestBytes), signature)).toBe(
      true,
    )
  })

  it("starts at the log's first checkpoint when none is at or below fromIndex", async () => {
    const checkpoints = await signAt(log, signer, [40, 80])
    const dir = join(folder(), 'export')
    const manifest = await writeAuditExport(
      dir,
      memorySource(log, signer, checkpoints),
      request(0, 80),
    )
    expect(manifest.base).toBeNull()
    expect(manifest.anchor.tree_size).toBe(80)
    expect(readLines(join(dir, EXPORT_FILES.checkpoints))).toHaveLength(2)
    expect(readLines(join(dir, EXPORT_FILES.consistencyProofs))).toHaveLength(1)
  })

  it('writes an empty range as no entries, anchored like any other', async () => {
    const checkpoints = await signAt(log, signer, [40, 80])
    const dir = join(folder(), 'export')
    const manifest = await writeAuditExport(
      dir,
      memorySource(log, signer, checkpoints),
      request(40, 40),
    )
    expect(manifest.entry_count).toBe(0)
    expect(manifest.base?.tree_size).toBe(40)
    expect(manifest.anchor.tree_size).toBe(40)
    expect(readFileSync(join(dir, EXPORT_FILES.entries), 'utf8')).toBe('')
    expect(manifest.files.find((f) => f.name === EXPORT_FILES.entries)).toMatchObject({
      bytes: 0,
      lines: 0,
      sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    })
  })

  it('refuses a range no signed checkpoint covers yet, saying which size it needs', async () => {
    const checkpoints = await signAt(log, signer, [40, 80])
    const error = await errorOf(
      writeAuditExport(join(folder(), 'x'), memorySource(log, signer, checkpoints), request(0, 81)),
    )
    expect(error.code).toBe('PAL_EXPORT_UNANCHORED')
    expect(error.status).toBe(409)
    expect(error.message).toContain(
      'needs one of tree size 81 or more (entries before index 81), ' +
        'and the newest signed one has size 80',
    )
  })

  it('refuses a folder that holds anything, and takes an empty one', async () => {
    const checkpoints = await signAt(log, signer, [80])
    const source = memorySource(log, signer, checkpoints)
    const full = folder()
    writeFileSync(join(full, 'notes.txt'), 'mine')
    const error = await errorOf(writeAuditExport(full, source, request(0, 80)))
    expect(error.code).toBe('PAL_EXPORT_DIR_NOT_EMPTY')
    expect(error.message).toContain('found a folder holding 1 entries (notes.txt)')
    expect(readdirSync(full)).toEqual(['notes.txt'])

    const empty = join(folder(), 'empty')
    mkdirSync(empty)
    await writeAuditExport(empty, source, request(0, 80))
    expect(readdirSync(empty)).toContain(EXPORT_FILES.manifest)
  })

  it('leaves nothing behind when the store disagrees with itself', async () => {
    const checkpoints = await signAt(log, signer, [80])
    const source = memorySource(log, signer, checkpoints)
    const lying = {
      ...source,
      readEntries: async (start: number, end: number) => {
        const rows = await source.readEntries(start, end)
        return rows.map((row) =>
          row.index === 33 ? { ...row, text: row.text.replace('tok', 'tak') } : row,
        )
      },
    }
    const parent = folder()
    const error = await errorOf(writeAuditExport(join(parent, 'x'), lying, request(0, 80)))
    expect(error.code).toBe('PAL_EXPORT_SOURCE_INCONSISTENT')
    expect(error.message).toMatch(
      /entry 33's text hashes to leaf [0-9a-f]{64}, but the stored leaf hash is/,
    )
    expect(readdirSync(parent)).toEqual([])
  })

  it('refuses a checkpoint whose root the stored leaves do not give', async () => {
    const other = memoryLog(300)
    other.leaves[5] = leafHash(Buffer.from('forged'))
    const checkpoints = await signAt(log, signer, [40, 80])
    const error = await errorOf(
      writeAuditExport(
        join(folder(), 'x'),
        memorySource({ ...log, leaves: other.leaves }, signer, checkpoints),
        request(50, 60),
      ),
    )
    expect(error.code).toBe('PAL_EXPORT_SOURCE_INCONSISTENT')
    expect(error.message).toMatch(/signed checkpoint 40 has root/)
  })

  it('refuses checkpoints signed by another key than the one that signs the manifest', async () => {
    const checkpoints = await signAt(log, testSigner('old'), [40, 80])
    const error = await errorOf(
      writeAuditExport(join(folder(), 'x'), memorySource(log, signer, checkpoints), request(0, 80)),
    )
    expect(error.code).toBe('PAL_EXPORT_CHECKPOINT_UNVERIFIABLE')
    expect(error.message).toMatch(
      /checkpoint 40 does not verify with the export's key software:test/,
    )
  })

  it('refuses a range that is not 0 <= fromIndex <= toIndex', async () => {
    const source = memorySource(log, signer, await signAt(log, signer, [80]))
    const error = await errorOf(writeAuditExport(join(folder(), 'x'), source, request(10, 9)))
    expect(error.code).toBe('PAL_EXPORT_REQUEST_INVALID')
    expect(error.message).toBe(
      'export request toIndex: expected an integer from fromIndex (10) up, got 9',
    )
    expect(existsSync(join(folder(), 'x'))).toBe(false)
  })

  it('writes into a hidden sibling, so the folder appears only once complete', async () => {
    const checkpoints = await signAt(log, signer, [80])
    const parent = folder()
    const seen: string[][] = []
    await writeAuditExport(
      join(parent, 'q4'),
      memorySource(log, signer, checkpoints),
      request(0, 80, { onProgress: () => seen.push(readdirSync(parent)) }),
    )
    expect(seen.length).toBeGreaterThan(0)
    for (const names of seen) {
      expect(names).toHaveLength(1)
      expect(names[0]).toMatch(/^\.q4\.partial-/)
    }
    expect(readdirSync(parent)).toEqual(['q4'])
  })

  it('reads entries and leaves in bounded batches, each entry once', async () => {
    const big = memoryLog(5000)
    const checkpoints = await signAt(big, signer, [4000, 5000])
    const source = memorySource(big, signer, checkpoints)
    const entryReads: [number, number][] = []
    const leafReads: [number, number][] = []
    const counted = {
      ...source,
      readEntries: (start: number, end: number) => {
        entryReads.push([start, end])
        return source.readEntries(start, end)
      },
      leaves: {
        leafHashes: (start: number, end: number) => {
          leafReads.push([start, end])
          return source.leaves.leafHashes(start, end)
        },
      },
    }
    const dir = join(folder(), 'x')
    await writeAuditExport(dir, counted, request(100, 4900))
    expect(entryReads).toEqual([
      [100, 4196],
      [4196, 4900],
    ])
    expect(Math.max(...leafReads.map(([start, end]) => end - start))).toBeLessThanOrEqual(65_536)
    expect(readLines(join(dir, EXPORT_FILES.entries))).toEqual(big.texts.slice(100, 4900))
  })
})
