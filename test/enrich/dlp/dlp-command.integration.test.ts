import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

import { describe, expect, it } from 'vitest'

import { corpora, repoRoot } from '../../helpers/test-engine.ts'

const dir = mkdtempSync(join(tmpdir(), 'palisade-dlp-cli-'))

/** Runs the CLI as a user does; `dlp` commands are offline, so no instance is started. */
async function palisade(args: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [join(repoRoot, 'bin', 'palisade.js'), ...args],
      { cwd: dir },
    )
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

describe('palisade dlp', () => {
  it('eval meets the precision and recall targets on the Presidio synthetic corpus', async () => {
    const file = join(corpora, 'dlp', 'presidio_synth_dev.json')
    const { code, stdout } = await palisade(['dlp', 'eval', file, '--json'])
    expect(code).toBe(0)
    const { entities } = JSON.parse(stdout) as {
      entities: Record<string, { covered: boolean; precision: number; recall: number }>
    }
    for (const type of ['CREDIT_CARD', 'IBAN_CODE', 'US_SSN', 'EMAIL_ADDRESS', 'IP_ADDRESS']) {
      expect(entities[type]!.precision, type).toBeGreaterThanOrEqual(0.95)
      expect(entities[type]!.recall, type).toBeGreaterThanOrEqual(0.95)
    }
    expect(entities.PHONE_NUMBER!.precision).toBeGreaterThanOrEqual(0.85)
    expect(entities.PHONE_NUMBER!.recall).toBeGreaterThanOrEqual(0.85)
    expect(entities.PERSON).toMatchObject({ covered: false, precision: null, support: 591 })
  })

  it('eval prints a table per type and lists the types it does not cover', async () => {
    const file = join(dir, 'small.json')
    const text = 'card 4111 1111 1111 1111 and ssn 536-22-5819, said Ann'
    const spans = [
      { entity_type: 'CREDIT_CARD', start_position: 5, end_position: 24 },
      { entity_type: 'PERSON', start_position: 51, end_position: 54 },
    ]
    writeFileSync(file, JSON.stringify([{ full_text: text, spans }]))
    const { code, stdout } = await palisade(['dlp', 'eval', file])
    expect(code).toBe(0)
    expect(stdout).toMatch(/CREDIT_CARD\s+1\.000\s+1\.000\s+1\.000\s+1\s+1/)
    // The SSN is found but not labelled: a false positive.
    expect(stdout).toMatch(/US_SSN\s+0\.000\s+-\s+-\s+0\s+1/)
    expect(stdout).toContain('not covered: PERSON (1)')
  })

  it('eval refuses a span outside its text with the record and field that hold it', async () => {
    const file = join(dir, 'bad.json')
    const spans = [{ entity_type: 'CREDIT_CARD', start_position: 2, end_position: 40 }]
    writeFileSync(
      file,
      JSON.stringify([
        { full_text: 'ok', spans: [] },
        { full_text: 'short', spans },
      ]),
    )
    const { code, stderr } = await palisade(['dlp', 'eval', file])
    expect(code).toBe(2)
    expect(stderr).toContain(`${file} at 1.spans.0: expected 0 <= start_position`)
    expect(stderr).toContain('got 2..40')
    const json = await palisade(['dlp', 'eval', file, '--json'])
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'PAL_DLP_EVAL_INPUT' } })
  })

  it('scan prints where each finding is and never the value', async () => {
    const file = join(dir, 'events.ndjson')
    writeFileSync(
      file,
      `${JSON.stringify({ message: 'login', user: { note: 'ssn 536-22-5819' } })}\n` +
        'plain line with postgres://app:S3cr3t!x@db:5432/app\n',
    )
    const { code, stdout } = await palisade(['dlp', 'scan', file])
    expect(code).toBe(0)
    expect(stdout).toContain(`${file}:1  US_SSN`)
    expect(stdout).toContain('user.note[4..15)')
    expect(stdout).toContain(`${file}:2  URL_PASSWORD`)
    expect(stdout).toContain('2 findings')
    expect(stdout).not.toContain('536-22-5819')
    expect(stdout).not.toContain('S3cr3t')
    const json = await palisade(['dlp', 'scan', file, '--json'])
    expect(
      json.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown),
    ).toMatchObject([
      { line: 1, type: 'US_SSN', path: 'user.note', start: 4, end: 15 },
      { line: 2, type: 'URL_PASSWORD' },
    ])
  })
  it('scan and eval refuse a file that cannot be read, naming it, and exit 2', async () => {
    for (const [command, file] of [
      ['scan', dir],
      ['eval', dir],
      ['scan', join(dir, 'missing.log')],
      ['eval', join(dir, 'missing.json')],
    ] as const) {
      const { code, stderr } = await palisade(['dlp', command, file])
      expect(stderr).toContain(`palisade: ${file}: expected a readable file`)
      expect(code).toBe(2)
    }
  })
})
