import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

import { describe, expect, it } from 'vitest'

import { corpora, repoRoot } from '../../helpers/test-engine.ts'

const dir = mkdtempSync(join(tmpdir(), 'palisade-cli-'))

/** Runs the CLI the way a user does, with no PALISADE_* variables from this environment. */
async function palisade(args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('PALISADE_')),
  )
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [join(repoRoot, 'bin', 'palisade.js'), ...args],
      { cwd: dir, env: { ...clean, ...env } },
    )
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

describe('the palisade command line', () => {
  it('prints help for every command', async () => {
    const top = await palisade(['--help'])
    expect(top.code).toBe(0)
    for (const command of ['start', 'replay', 'alerts', 'events', 'rules', 'config']) {
      expect(top.stdout).toContain(command)
    }
    const start = await palisade(['start', '--help'])
    expect(start.stdout).toMatch(/--rules <dir>/)
    expect(start.stdout).toMatch(/--data-dir <dir>/)
  })

  it('prints the effective configuration with secrets masked', async () => {
    const res = await palisade(['config', 'check', '--json', '--port', '9100'], {
      PALISADE_TOKEN: 'pal_topsecret',
      PALISADE_SYSLOG_TIMEZONE: 'Asia/Tokyo',
    })
    expect(res.code).toBe(0)
    const config = JSON.parse(res.stdout)
    expect(config.http.port).toBe(9100)
    expect(config.syslog.timeZone).toBe('Asia/Tokyo')
    expect(config.token).toBe('********')
    expect(res.stdout).not.toContain('topsecret')
  })

  it('lists every configuration problem with its path and exits non-zero', async () => {
    const file = join(dir, 'bad.yml')
    writeFileSync(file, 'http:\n  port: 99999\n')
    const res = await palisade(['config', 'check', '--config', file], { PALISADE_PORT: 'abc' })
    expect(res.code).toBe(1)
    expect(res.stderr).toMatch(/http\.port: PALISADE_PORT: expected an integer, got "abc"/)
  })

  it('says when no Palisade is running instead of printing a stack', async () => {
    const res = await palisade(['alerts', '--url', 'http://127.0.0.1:9', '--token', 'x'])
    expect(res.code).toBe(1)
    expect(res.stderr).toMatch(/no Palisade answered at http:\/\/127\.0\.0\.1:9/)
    expect(res.stderr).not.toMatch(/\n\s+at /)
  })

  it('names a replay file it cannot read or whose format it cannot tell', async () => {
    const missing = await palisade([
      'replay',
      join(dir, 'absent.log'),
      '--url',
      'http://127.0.0.1:9',
    ])
    expect(missing.code).not.toBe(0)
    expect(missing.stderr).toMatch(/absent\.log/)
    expect(missing.stderr).not.toMatch(/\n\s+at /)
    const odd = join(dir, 'events.bin')
    writeFileSync(odd, 'x')
    const unknown = await palisade(['replay', odd, '--url', 'http://127.0.0.1:9'])
    expect(unknown.stderr).toMatch(/events\.bin: cannot tell the format.*--format/)
  })

  it('checks the built-in rules offline and reports them all loaded', async () => {
    const res = await palisade(['rules', 'check', join(repoRoot, 'rules', 'builtin'), '--json'])
    expect(res.code).toBe(0)
    const report = JSON.parse(res.stdout)
    expect(report.rejected).toBe(0)
    expect(report.loaded).toBeGreaterThanOrEqual(6)
  })

  it('runs the regression data and prints N/M expected detections', async () => {
    const sigma = join(corpora, 'sigma')
    const res = await palisade([
      'rules',
      'regress',
      join(sigma, 'regression_data'),
      ...['rules', 'rules-emerging-threats', 'rules-threat-hunting', 'rules-placeholder'].flatMap(
        (d) => ['--rules', join(sigma, d)],
      ),
    ])
    const summary = /(\d+)\/(\d+) expected detections/.exec(res.stdout)
    expect(summary).not.toBeNull()
    expect(Number(summary![1]) / Number(summary![2])).toBeGreaterThanOrEqual(0.8)
    expect(res.code).toBe(summary![1] === summary![2] ? 0 : 1)
  })
})
