import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
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

  it('checks the built-in rules offline and reports them all compiled', async () => {
    const res = await palisade(['rules', 'check', join(repoRoot, 'rules', 'builtin'), '--json'])
    expect(res.code).toBe(0)
    const report = JSON.parse(res.stdout)
    expect(Object.keys(report).sort()).toEqual(
      ['compiled', 'files', 'missing_placeholders', 'rejected', 'total', 'unrouted'].sort(),
    )
    expect(report.rejected).toEqual([])
    expect(report.compiled).toBeGreaterThanOrEqual(6)
    expect(report.compiled).toBe(report.total)
  })

  it('checks rules with a user mapping file, and names the line of a bad one', async () => {
    const rules = join(dir, 'crm-rules')
    mkdirSync(rules, { recursive: true })
    writeFileSync(
      join(rules, 'crm.yml'),
      'title: crm\nid: 66666666-6666-4666-8666-666666666666\nlogsource: {product: acme}\n' +
        "detection:\n  s: {User|expand: '%Admins%'}\n  condition: s\n",
    )
    const mapping = join(dir, 'acme.yml')
    writeFileSync(
      mapping,
      'routes:\n  - logsource: {product: acme}\n    events: [{datasets: crm}]\n',
    )
    const plain = JSON.parse((await palisade(['rules', 'check', rules, '--json'])).stdout)
    expect(plain.unrouted).toHaveLength(1)
    expect(plain.missing_placeholders[0].placeholders).toEqual(['Admins'])

    const mapped = await palisade(['rules', 'check', rules, '--mapping', mapping])
    expect(mapped.code).toBe(0)
    expect(mapped.stdout).toMatch(/matches nothing .*crm\.yml:1 .*%Admins% has no value/)
    expect(mapped.stdout).toMatch(/1 rules in 1 files: 1 compiled .* 1 match nothing .* 0 unrouted/)

    writeFileSync(
      mapping,
      'routes:\n  - logsource: {product: acme}\n    events: [{dataset: crm}]\n',
    )
    const bad = await palisade(['rules', 'check', rules, '--mapping', mapping])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/acme\.yml:3 routes\[0\]\.events\[0\]: unknown key dataset/)
  })

  it('names a malformed info.yml with its line and exits 2, as JSON under --json', async () => {
    const data = join(dir, 'bad-regression', 'rules', 'x')
    mkdirSync(data, { recursive: true })
    writeFileSync(join(data, 'info.yml'), 'rule_metadata: []\nrule_metadata: []\n')
    const ruleDir = join(dir, 'regress-rules')
    mkdirSync(ruleDir, { recursive: true })
    writeFileSync(
      join(ruleDir, 'r.yml'),
      'title: r\nlogsource: {product: windows}\ndetection:\n  s: {a: b}\n  condition: s\n',
    )
    const args = ['rules', 'regress', join(dir, 'bad-regression'), '--rules', ruleDir]
    const text = await palisade(args)
    expect(text.code).toBe(2)
    expect(text.stderr).toMatch(
      /^palisade: bad-regression\/rules\/x\/info\.yml:2: invalid YAML: Map keys must be unique/,
    )
    const json = await palisade([...args, '--json'])
    expect(json.code).toBe(2)
    expect(JSON.parse(json.stdout)).toEqual({
      error: {
        code: 'PAL_REGRESS_INFO_INVALID',
        message: expect.stringMatching(/^bad-regression\/rules\/x\/info\.yml:2: invalid YAML/),
        file: 'bad-regression/rules/x/info.yml',
        line: 2,
      },
    })
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
