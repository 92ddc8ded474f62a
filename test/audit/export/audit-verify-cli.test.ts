import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { EXPORT_FILES } from '../../../audit/export/export-format.ts'
import { writeAuditExport } from '../../../audit/export/write-export.ts'
import {
  memoryLog,
  memorySource,
  readLines,
  signAt,
  tempFolder,
  testSigner,
  writeLines,
} from './export-fixture.ts'

const repoRoot = join(import.meta.dirname, '..', '..', '..')
const signer = testSigner()
const root = tempFolder()
const good = join(root.dir, 'good')
const tampered = join(root.dir, 'tampered')

/** Runs `palisade ARGS` as a user would, in its own process; resolves with what it said. */
async function palisade(...args: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [join(repoRoot, 'bin', 'palisade.js'), ...args],
      { cwd: root.dir },
    )
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string }
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr }
  }
}

beforeAll(async () => {
  const log = memoryLog(120)
  const checkpoints = await signAt(log, signer, [20, 64, 120])
  for (const dir of [good, tampered]) {
    await writeAuditExport(dir, memorySource(log, signer, checkpoints), {
      exportId: 'cli',
      fromIndex: 30,
      toIndex: 100,
      requested: {},
    })
  }
  const entries = join(tampered, EXPORT_FILES.entries)
  const lines = readLines(entries)
  lines[17] = lines[17]!.replace('"success"', '"denied"')
  writeLines(entries, lines)
})

afterAll(() => root.remove())

describe('palisade audit verify', () => {
  it('exits 0 on a good export with a summary, warning about a software key', async () => {
    const { code, stdout, stderr } = await palisade(
      'audit',
      'verify',
      good,
      '--fingerprint',
      signer.fingerprint(),
    )
    expect(code).toBe(0)
    expect(stdout).toContain(
      `audit export ${good} is valid: 70 entries [30, 100), 3 checkpoints up to tree size ` +
        '120, 2 consistency steps, 5 file digests; ' +
        `key ${signer.fingerprint()} (software, software:test)`,
    )
    expect(stderr).toContain('signed by a software (development) key')
    expect(stderr).not.toContain('no --fingerprint given')
  }, 30_000)

  it('warns when no fingerprint was given, and prints the verdict as JSON', async () => {
    const { code, stdout, stderr } = await palisade('audit', 'verify', good, '--json')
    expect(code).toBe(0)
    expect(JSON.parse(stdout)).toMatchObject({
      ok: true,
      checked: { entries: 70, checkpoints: 3, consistency_steps: 2, files: 5 },
      key: { fingerprint: signer.fingerprint(), signer_kind: 'software' },
    })
    expect(stderr).toContain("no --fingerprint given, so trust rests on the export's own key")
  }, 30_000)

  it('exits 1 on a tampered export, naming the entry, its line and the problem', async () => {
    const { code, stdout, stderr } = await palisade('audit', 'verify', tampered)
    expect(code).toBe(1)
    expect(stdout).toBe('')
    expect(stderr).toMatch(
      new RegExp(
        `^palisade: audit export ${tampered} is not valid: entries.jsonl line 18 \\(entry 47\\): ` +
          'entry 47 and its inclusion proof .* \\(PAL_EXPORT_ENTRY_NOT_INCLUDED\\)\\n$',
      ),
    )
  }, 30_000)

  it('exits 1 on a key other than the one whose fingerprint was given', async () => {
    const other = join(root.dir, 'other-key')
    const log = memoryLog(10)
    const source = memorySource(log, signer, await signAt(log, signer, [10]))
    await writeAuditExport(other, source, {
      exportId: 'k',
      fromIndex: 0,
      toIndex: 10,
      requested: {},
    })
    writeFileSync(join(other, EXPORT_FILES.publicKey), testSigner('other').publicKeyPem())
    const { code, stderr } = await palisade(
      'audit',
      'verify',
      other,
      '--fingerprint',
      signer.fingerprint(),
    )
    expect(code).toBe(1)
    expect(stderr).toContain('public-key.pem: expected the key with fingerprint')
    expect(stderr).toContain('(PAL_EXPORT_KEY_UNTRUSTED)')
  }, 30_000)

  it('exits 2 for a folder that does not exist', async () => {
    const { code, stderr } = await palisade('audit', 'verify', join(root.dir, 'nowhere'))
    expect(code).toBe(2)
    expect(stderr).toBe(
      `palisade: audit export ${join(root.dir, 'nowhere')}: expected a folder, found nothing\n`,
    )
  }, 30_000)
})
