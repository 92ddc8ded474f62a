import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { repoRoot } from '../../helpers/test-engine.ts'

const DEFAULT_SET = join(repoRoot, 'auth', 'zero-trust', 'default-policies.cedar')
const EXAMPLES = join(repoRoot, 'examples', 'policies', 'default.cases.yml')

/** `palisade policy test` as a person runs it: its output and exit code. */
function policyTest(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'bin', 'palisade.js'), 'policy', 'test', ...args],
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    )
  })
}

function scratch(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-policy-'))
  writeFileSync(join(dir, name), text)
  return join(dir, name)
}

// Each case starts the CLI in a fresh Node process (TypeScript compiled on load): seconds each.
describe('palisade policy test', { timeout: 30_000 }, () => {
  it('passes every example shipped for the built-in policy set and exits 0', async () => {
    const { code, stdout } = await policyTest(DEFAULT_SET, EXAMPLES)
    expect(stdout).toContain('6 cases: 6 passed, 0 failed')
    expect(stdout).toContain('ok   a brute force against the user asks for a fresh second factor')
    expect(code).toBe(0)
  })

  it('names a case whose answer differs, says what came, and exits 1', async () => {
    const strict = scratch(
      'strict.cedar',
      '@id("read-only") permit (principal, action == Palisade::Action::"read", resource);\n',
    )
    const { code, stdout } = await policyTest(strict, EXAMPLES, '--json')
    const report = JSON.parse(stdout)
    const failed = report.cases.filter((c: any) => !c.pass).map((c: any) => c.name)
    expect(failed).toContain('a brute force against the user asks for a fresh second factor')
    expect(report.cases[1].reason).toBe(
      'expected step_up, got allow (permitted by policy read-only)',
    )
    expect(code).toBe(1)
  })

  it('refuses a policy set that fails validation with the reason, and exits 2', async () => {
    const broken = scratch(
      'broken.cedar',
      'permit (principal, action, resource) when { context.risk.nope > 1 };',
    )
    const { code, stderr } = await policyTest(broken, EXAMPLES)
    expect(stderr).toMatch(/^palisade: the policy set fails validation against the schema/)
    expect(code).toBe(2)
  })

  it('refuses a cases file without an expected answer, naming the path, and exits 2', async () => {
    const cases = scratch('cases.yml', 'cases:\n  - name: no answer\n    request: {}\n')
    const { code, stderr } = await policyTest(DEFAULT_SET, cases)
    expect(stderr).toContain('cases.0.expect')
    expect(code).toBe(2)
  })
  it('refuses a policy set or cases file that cannot be read with its path, and exits 2', async () => {
    const missing = join(tmpdir(), 'palisade-no-such-dir', 'nothing.cedar')
    for (const args of [
      [missing, EXAMPLES],
      [DEFAULT_SET, missing],
    ]) {
      const { code, stderr } = await policyTest(...args)
      expect(stderr).toMatch(
        /^palisade: .*nothing\.cedar: expected .*, got a file that cannot be read/,
      )
      expect(code).toBe(2)
    }
  })
})
