import { cpSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { signCheckpoint } from '../../../audit/checkpoint.ts'
import { EXPORT_FILES, manifestSignedBytes } from '../../../audit/export/export-format.ts'
import { verifyAuditExport } from '../../../audit/export/verify-export.ts'
import type { ExportProblem } from '../../../audit/export/verify-export.ts'
import { writeAuditExport } from '../../../audit/export/write-export.ts'
import type { SoftwareSigner } from '../../../audit/signers/software-signer.ts'
import { PalisadeError } from '../../../platform/errors.ts'
import { canonicalJson } from '../../../platform/event-id.ts'
import {
  memoryLog,
  memorySource,
  readLines,
  signAt,
  tempFolder,
  testSigner,
  writeLines,
} from './export-fixture.ts'

const log = memoryLog(300)
const signer = testSigner()
const intruder = testSigner('intruder')
const root = tempFolder()
/** Entries [60, 200): base checkpoint 50, anchor 256, checkpoints 50, 100, 170, 256. */
const good = join(root.dir, 'good')
let copies = 0

beforeAll(async () => {
  const checkpoints = await signAt(log, signer, [10, 50, 100, 170, 256, 300])
  await writeAuditExport(good, memorySource(log, signer, checkpoints), {
    exportId: 'exp-good',
    fromIndex: 60,
    toIndex: 200,
    requested: { from: '60', to: '200' },
  })
})

afterAll(() => root.remove())

/** A fresh copy of the good export, to tamper with. */
function copy(): string {
  const dir = join(root.dir, `copy-${copies++}`)
  cpSync(good, dir, { recursive: true })
  return dir
}

function file(dir: string, name: string): string {
  return join(dir, name)
}

async function problemOf(dir: string, expectFingerprint?: string): Promise<ExportProblem> {
  const verdict = await verifyAuditExport(dir, { expectFingerprint })
  if (verdict.ok) throw new Error('expected the export to fail verification')
  return verdict.problem
}

/** Replaces manifest.json and signs it again with `by`, as someone holding that key could. */
async function resignManifest(
  dir: string,
  by: SoftwareSigner,
  edit: (manifest: any) => void,
): Promise<void> {
  const manifest = JSON.parse(readFileSync(file(dir, EXPORT_FILES.manifest), 'utf8'))
  edit(manifest)
  const bytes = Buffer.from(`${canonicalJson(manifest)}\n`)
  writeFileSync(file(dir, EXPORT_FILES.manifest), bytes)
  const signature = Buffer.from(await by.sign(manifestSignedBytes(bytes))).toString('base64')
  writeFileSync(file(dir, EXPORT_FILES.manifestSignature), `${signature}\n`)
}

describe('verifyAuditExport on a good export', () => {
  it('checks everything and says which key signed it', async () => {
    const progress: number[] = []
    const verdict = await verifyAuditExport(good, {
      expectFingerprint: signer.fingerprint(),
      onProgress: (done) => progress.push(done),
    })
    expect(verdict).toMatchObject({
      ok: true,
      checked: { entries: 140, checkpoints: 4, consistency_steps: 3, files: 5 },
      key: { fingerprint: signer.fingerprint(), signer_kind: 'software', key_id: 'software:test' },
      export_id: 'exp-good',
      range: { from_index: 60, to_index: 200 },
      anchor: { tree_size: 256 },
      base: { tree_size: 50 },
    })
    expect(progress[progress.length - 1]).toBe(140)
  })

  it('takes the fingerprint in upper case with colons, as key tools print it', async () => {
    const colons = signer.fingerprint().toUpperCase().match(/../g)!.join(':')
    expect(await verifyAuditExport(good, { expectFingerprint: colons })).toMatchObject({ ok: true })
  })

  it.each([
    ['from the start of the log, with no base', 0, 120, [40, 130], 0, 2],
    ['of an empty range', 100, 100, [50, 100, 170], 1, 1],
    ['of an empty range at the start', 0, 0, [5], 0, 1],
    ['of one entry that is the anchor', 99, 100, [100], 0, 1],
    ['ending exactly at a checkpoint, base the same', 50, 100, [50, 100], 1, 2],
  ])('verifies an export %s', async (_, from, to, sizes, withBase, checkpointCount) => {
    for (const key of [signer, testSigner('p256', 'ecdsa-p256-sha256')]) {
      const made = tempFolder()
      try {
        const dir = join(made.dir, 'x')
        const checkpoints = await signAt(log, key, sizes)
        await writeAuditExport(dir, memorySource(log, key, checkpoints), {
          exportId: 'e',
          fromIndex: from,
          toIndex: to,
          requested: {},
        })
        const verdict = await verifyAuditExport(dir, { expectFingerprint: key.fingerprint() })
        expect(verdict).toMatchObject({
          ok: true,
          checked: {
            entries: to - from,
            checkpoints: checkpointCount,
            consistency_steps: checkpointCount - 1,
          },
        })
        if (verdict.ok) expect(verdict.base === null ? 0 : 1).toBe(withBase)
      } finally {
        made.remove()
      }
    }
  })

  it('refuses a folder that does not exist, and a fingerprint that is not one', async () => {
    const missing = await verifyAuditExport(join(root.dir, 'nope')).catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(PalisadeError)
    expect(missing).toMatchObject({ code: 'PAL_EXPORT_DIR_MISSING', status: 400 })

    const bad = await verifyAuditExport(good, { expectFingerprint: 'abc' }).catch((e) => e)
    expect(bad).toMatchObject({ code: 'PAL_EXPORT_FINGERPRINT_INVALID', status: 400 })
  })
})

describe('verifyAuditExport on a tampered export names the first problem and where it is', () => {
  it('an entry with one byte changed, as that entry', async () => {
    const dir = copy()
    const lines = readLines(file(dir, EXPORT_FILES.entries))
    lines[17] = lines[17]!.replace('"token.', '"tokeN.')
    writeLines(file(dir, EXPORT_FILES.entries), lines)
    expect(await problemOf(dir)).toMatchObject({
      code: 'PAL_EXPORT_ENTRY_NOT_INCLUDED',
      file: EXPORT_FILES.entries,
      line: 18,
      index: 77,
    })
  })

  it('an entry line deleted, at the line where the next entry moved up', async () => {
    const dir = copy()
    const lines = readLines(file(dir, EXPORT_FILES.entries))
    lines.splice(17, 1)
    writeLines(file(dir, EXPORT_FILES.entries), lines)
    const problem = await problemOf(dir)
    expect(problem).toMatchObject({
      code: 'PAL_EXPORT_ENTRY_OUT_OF_PLACE',
      file: EXPORT_FILES.entries,
      line: 18,
      index: 77,
    })
    expect(problem.message).toBe('expected entry 77 on this line, got one whose index is 78')
  })

  it('two entry lines swapped, at the first of them', async () => {
    const dir = copy()
    const lines = readLines(file(dir, EXPORT_FILES.entries))
    ;[lines[17], lines[18]] = [lines[18]!, lines[17]!]
    writeLines(file(dir, EXPORT_FILES.entries), lines)
    expect(await problemOf(dir)).toMatchObject({
      code: 'PAL_EXPORT_ENTRY_OUT_OF_PLACE',
      file: EXPORT_FILES.entries,
      line: 18,
      index: 77,
    })
  })

  it('a copy of an entry inserted after it, at the copy', async () => {
    const dir = copy()
    const lines = readLines(file(dir, EXPORT_FILES.entries))
    lines.splice(18, 0, lines[17]!)
    writeLines(file(dir, EXPORT_FILES.entries), lines)
    expect(await problemOf(dir)).toMatchObject({
      code: 'PAL_EXPORT_ENTRY_OUT_OF_PLACE',
      file: EXPORT_FILES.entries,
      line: 19,
      index: 78,
    })
  })

  it('a forged entry inserted with the index of its line, at the forgery', async () => {
    const dir = copy()
    const lines = readLines(file(dir, EXPORT_FILES.entries))
    const forged = { ...JSON.parse(lines[18]!), action: 'token.create', outcome: 'success' }
    lines.splice(18, 0, canonicalJson({ ...forged, details: { n: 78, note: 'forged' } }))
    writeLines(file(dir, EXPORT_FILES.entries), lines)
    expect(await problemOf(dir)).toMatchObject({
      code: 'PAL_EXPORT_ENTRY_NOT_INCLUDED',
      file: EXPORT_FILES.entries,
      line: 19,
      index: 78,
    })
  })

  it('an entry rewritten as JSON that is not canonical', async () => {
    const dir = copy()
    const lines = readLines(file(dir, EXPORT_FILES.entries))
    lines[0] = JSON.stringify(JSON.parse(lines[0]!), null, 1).replace(/\n/g, '')
    writeLines(file(dir, EXPORT_FILES.entries), lines)
    expect(await problemOf(dir)).toMatchObject({
      code: 'PAL_EXPORT_ENTRY_INVALID',
      file: EXPORT_FILES.entries,
      line: 1,
      index: 60,
    })
  })

  it('an entry line added at the end', async () => {
    const dir = copy()
    const lines = readLines(file(dir, EXPORT_FILES.entries))
    writeLines(file(dir, EXPORT_FILES.entries), [...lines, log.texts[200]!])
    expect(await problemOf(dir)).toMatchObject({
      code: 'PAL_EXPORT_LINE_EXTRA',
      file: EXPORT_FILES.entries,
      line: 141,
      index: 200,
    })
  })

  it('a checkpoint with another root, signed by another key', async () => {
    const dir = copy()
    const lines = readLines(file(dir, EXPORT_FILES.checkpoints))
    const forged = await signCheckpoint(intruder, {
      treeSize: 100,
      root: new Uint8Array(32).fill(7),
      time: new Date('2026-12-03T21:00:00.000Z'),
    })
    lines[1] = canonicalJson(forged)
    writeLines(file(dir, EXPORT_FILES.checkpoints), lines)
    const problem = await problemOf(dir)
    expect(problem).toMatchObject({
      code: 'PAL_EXPORT_CHECKPOINT_INVALID',
      file: EXPORT_FILES.checkpoints,
      line: 2,
    })
    expect(problem.message).toBe(
      `expected the key with fingerprint ${intruder.fingerprint()}, got ${signer.fingerprint()}`,
    )
  })

  it('a checkpoint of the same key with its size altered', async () => {
    const dir = copy()
    const lines = readLines(file(dir, EXPORT_FILES.checkpoints))
    const signed = JSON.parse(lines[1]!)
    signed.checkpoint.tree_size = 101
    lines[1] = canonicalJson(signed)
    writeLines(file(dir, EXPORT_FILES.checkpoints), lines)
    expect(await problemOf(dir)).toMatchObject({
      code: 'PAL_EXPORT_CHECKPOINT_INVALID',
      file: EXPORT_FILES.checkpoints,
      line: 2,
      message: 'the signature does not cover checkpoint 101',
    })
  })

  it('a checkpoint left out, at the consistency step that no longer fits', async () => {
    const dir = copy()
    const lines = readLines(file(dir, EXPORT_FILES.checkpoints))
    lines.splice(1, 1)
    writeLines(file(dir, EXPORT_FILES.checkpoints), lines)
    expect(await problemOf(dir)).toMatchObject({
      code: 'PAL_EXPORT_CONSISTENCY_INVALID',
      file: EXPORT_FILES.consistencyProofs,
      line: 1,
      message: 'expected the proof from 50 to 170, got one from 50 to 100',
    })
  })

  it('a consistency proof with one hash changed', async () => {
    const dir = copy()
    const lines = readLines(file(dir, EXPORT_FILES.consistencyProofs))
    const step = JSON.parse(lines[1]!)
    step.path[0] = step.path[0].replace(/^./, (c: string) => (c === '0' ? '1' : '0'))
    lines[1] = canonicalJson(step)
    writeLines(file(dir, EXPORT_FILES.consistencyProofs), lines)
    expect(await problemOf(dir)).toMatchObject({
      code: 'PAL_EXPORT_CONSISTENCY_INVALID',
      file: EXPORT_FILES.consistencyProofs,
      line: 2,
    })
  })

  it('two inclusion proofs swapped, at the first of them', async () => {
    const dir = copy()
    const lines = readLines(file(dir, EXPORT_FILES.inclusionProofs))
    ;[lines[5], lines[6]] = [lines[6]!, lines[5]!]
    writeLines(file(dir, EXPORT_FILES.inclusionProofs), lines)
    expect(await problemOf(dir)).toMatchObject({
      code: 'PAL_EXPORT_PROOF_INVALID',
      file: EXPORT_FILES.inclusionProofs,
      line: 6,
      index: 65,
    })
  })

  it('a proof line rewritten with spaces, same JSON, by its digest', async () => {
    const dir = copy()
    const lines = readLines(file(dir, EXPORT_FILES.inclusionProofs))
    lines[3] = JSON.stringify(JSON.parse(lines[3]!), null, 1).replace(/\n/g, '')
    writeLines(file(dir, EXPORT_FILES.inclusionProofs), lines)
    const problem = await problemOf(dir)
    expect(problem).toMatchObject({
      code: 'PAL_EXPORT_FILE_DIGEST_MISMATCH',
      file: EXPORT_FILES.inclusionProofs,
    })
    expect(problem.message).toMatch(/^expected \d+ bytes in 140 lines with SHA-256 [0-9a-f]{64}/)
  })

  it.each([
    [EXPORT_FILES.entries, 'mid-line', 'PAL_EXPORT_LINE_INVALID', 140, 199],
    [EXPORT_FILES.entries, 'at a line boundary', 'PAL_EXPORT_LINE_MISSING', 140, 199],
    [EXPORT_FILES.inclusionProofs, 'mid-line', 'PAL_EXPORT_LINE_INVALID', 140, 199],
    [EXPORT_FILES.inclusionProofs, 'at a line boundary', 'PAL_EXPORT_LINE_MISSING', 140, 199],
    [EXPORT_FILES.checkpoints, 'mid-line', 'PAL_EXPORT_LINE_INVALID', 4, undefined],
    [EXPORT_FILES.checkpoints, 'at a line boundary', 'PAL_EXPORT_LINE_MISSING', 4, undefined],
    [EXPORT_FILES.consistencyProofs, 'mid-line', 'PAL_EXPORT_LINE_INVALID', 3, undefined],
    [EXPORT_FILES.consistencyProofs, 'at a line boundary', 'PAL_EXPORT_LINE_MISSING', 3, undefined],
    [EXPORT_FILES.publicKey, 'mid-line', 'PAL_EXPORT_KEY_INVALID', undefined, undefined],
    [EXPORT_FILES.publicKey, 'at a line boundary', 'PAL_EXPORT_KEY_INVALID', undefined, undefined],
    [
      EXPORT_FILES.manifest,
      'mid-line',
      'PAL_EXPORT_MANIFEST_SIGNATURE_INVALID',
      undefined,
      undefined,
    ],
    [
      EXPORT_FILES.manifestSignature,
      'mid-line',
      'PAL_EXPORT_MANIFEST_SIGNATURE_INVALID',
      undefined,
      undefined,
    ],
  ])('%s cut %s', async (name, where, code, line, index) => {
    const dir = copy()
    const path = file(dir, name)
    const text = readFileSync(path, 'utf8')
    const lastLine = text.lastIndexOf('\n', text.length - 2) + 1
    // Mid-line: halfway through the last line; at a boundary: the last line dropped whole.
    const cut = where === 'mid-line' ? Math.floor((lastLine + text.length) / 2) : lastLine
    truncateSync(path, Buffer.byteLength(text.slice(0, cut)))
    const problem = await problemOf(dir)
    expect(problem).toMatchObject({ code, file: name })
    expect(problem.line).toBe(line)
    expect(problem.index).toBe(index)
  })

  it('an edited manifest, by its signature', async () => {
    const dir = copy()
    const path = file(dir, EXPORT_FILES.manifest)
    writeFileSync(
      path,
      readFileSync(path, 'utf8').replace('"entry_count":140', '"entry_count":139'),
    )
    expect(await problemOf(dir)).toMatchObject({
      code: 'PAL_EXPORT_MANIFEST_SIGNATURE_INVALID',
      file: EXPORT_FILES.manifest,
    })
  })

  it('another public key, against the fingerprint given', async () => {
    const dir = copy()
    writeFileSync(file(dir, EXPORT_FILES.publicKey), intruder.publicKeyPem())
    const problem = await problemOf(dir, signer.fingerprint())
    expect(problem).toMatchObject({ code: 'PAL_EXPORT_KEY_UNTRUSTED', file: 'public-key.pem' })
    expect(problem.message).toBe(
      `expected the key with fingerprint ${signer.fingerprint()}, got ${intruder.fingerprint()}`,
    )
  })

  it('another public key without a fingerprint, by the manifest signature', async () => {
    const dir = copy()
    writeFileSync(file(dir, EXPORT_FILES.publicKey), intruder.publicKeyPem())
    const problem = await problemOf(dir)
    expect(problem).toMatchObject({ code: 'PAL_EXPORT_KEY_MISMATCH', file: 'public-key.pem' })
    expect(problem.message).toMatch(/^manifest.sig does not verify with public-key.pem/)
  })

  it('another key and a manifest re-signed with it, by the checkpoint signatures', async () => {
    const dir = copy()
    writeFileSync(file(dir, EXPORT_FILES.publicKey), intruder.publicKeyPem())
    await resignManifest(dir, intruder, (manifest) => {
      manifest.key.fingerprint = intruder.fingerprint()
    })
    expect(await problemOf(dir)).toMatchObject({
      code: 'PAL_EXPORT_CHECKPOINT_INVALID',
      file: EXPORT_FILES.checkpoints,
      line: 1,
    })
    // With the fingerprint learnt out of band, the replaced key itself is the problem.
    expect(await problemOf(dir, signer.fingerprint())).toMatchObject({
      code: 'PAL_EXPORT_KEY_UNTRUSTED',
    })
  })

  it('a signed manifest that breaks the format, naming the field', async () => {
    const dir = copy()
    await resignManifest(dir, signer, (manifest) => {
      manifest.anchor.tree_size = 150
    })
    expect(await problemOf(dir)).toMatchObject({
      code: 'PAL_EXPORT_MANIFEST_INVALID',
      file: EXPORT_FILES.manifest,
      message: 'anchor.tree_size: expected at least 200, got 150',
    })
  })

  it.each(Object.values(EXPORT_FILES))('a missing %s', async (name) => {
    const dir = copy()
    rmSync(file(dir, name))
    expect(await problemOf(dir)).toMatchObject({ code: 'PAL_EXPORT_FILE_MISSING', file: name })
  })

  it('a file the manifest lists with other lines', async () => {
    const dir = copy()
    const path = file(dir, EXPORT_FILES.publicKey)
    writeFileSync(path, `${readFileSync(path, 'utf8')}\n`)
    expect(statSync(path).size).toBeGreaterThan(0)
    expect(await problemOf(dir)).toMatchObject({
      code: 'PAL_EXPORT_FILE_DIGEST_MISMATCH',
      file: EXPORT_FILES.publicKey,
    })
  })
})
