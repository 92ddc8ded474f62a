import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { promisify } from 'node:util'

import { afterAll, describe, expect, it } from 'vitest'

import { runRuleTests } from '../../../detectors/sigma/run-rule-tests.ts'
import { repoRoot } from '../../helpers/test-engine.ts'

const root = mkdtempSync(join(tmpdir(), 'palisade-rules-test-'))
let folders = 0

afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

/** A fresh folder holding the given files. */
function folder(files: Record<string, string>): string {
  const dir = join(root, `case-${++folders}`)
  mkdirSync(dir)
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}

const ROOT_FAILURE = '0f3c6a9e-1d2b-4c5e-8f70-a1b2c3d4e5f6'
const rootFailure = [
  'title: Root SSH failure',
  `id: ${ROOT_FAILURE}`,
  'name: root_failure',
  'logsource: { product: linux, service: sshd }',
  'detection:',
  '  selection: { event.outcome: failure, user.name: root }',
  '  condition: selection',
  'level: high',
  '',
].join('\n')

const sshEvent = (user: string, outcome = 'failure', second = 0) =>
  JSON.stringify({
    '@timestamp': `2026-03-01T10:00:${String(second).padStart(2, '0')}Z`,
    event: { dataset: 'sshd', category: ['authentication'], action: 'ssh_login', outcome },
    user: { name: user },
    source: { ip: '203.0.113.7' },
  })

const shown = (path: string) => relative(process.cwd(), path)

describe('rules test', () => {
  it('passes cases that fire and cases that must stay quiet, with their lines', () => {
    const dir = folder({
      'root.yml': rootFailure,
      'root.tests.yml': [
        'cases:',
        '  - name: root failing fires',
        `    event: ${sshEvent('root')}`,
        '  - name: alice failing stays quiet',
        '    fires: false',
        `    event: ${sshEvent('alice')}`,
        '',
      ].join('\n'),
    })
    const report = runRuleTests([join(dir, 'root.yml')])
    expect(report).toMatchObject({ passed: 2, failed: 0, untested: [] })
    expect(report.cases.map((c) => [c.line, c.name, c.pass, c.fired])).toEqual([
      [2, 'root failing fires', true, [ROOT_FAILURE]],
      [4, 'alice failing stays quiet', true, []],
    ])
  })

  it('tests the rule beside a tests file given instead of it', () => {
    const dir = folder({
      'root.yml': rootFailure,
      'root.tests.yml': `cases:\n  - name: root failing fires\n    event: ${sshEvent('root')}\n`,
      'root.jsonl': `${sshEvent('root')}\n`,
    })
    const byRule = runRuleTests([join(dir, 'root.yml')])
    expect(runRuleTests([join(dir, 'root.tests.yml')])).toEqual(byRule)
    expect(runRuleTests([join(dir, 'root.jsonl')])).toEqual(byRule)
    expect(byRule).toMatchObject({ passed: 2, failed: 0 })
  })

  it('says to pass the rule when a tests file has no rule beside it', () => {
    const dir = folder({ 'lost.tests.yml': `cases:\n  - event: ${sshEvent('root')}\n` })
    const lost = shown(join(dir, 'lost'))
    expect(() => runRuleTests([join(dir, 'lost.tests.yml')])).toThrow(
      `${lost}.tests.yml: this is a rule's examples, not a rule: pass the rule beside it, ` +
        `expected ${lost}.yml or ${lost}.yaml, and neither exists`,
    )
  })

  it('fails a case whose rule does not fire, or fires when it must not, and says which', () => {
    const dir = folder({
      'root.yml': rootFailure,
      'root.tests.json': JSON.stringify([
        { name: 'success is not a failure', event: JSON.parse(sshEvent('root', 'success')) },
        { name: 'root must not fire', fires: false, event: JSON.parse(sshEvent('root')) },
      ]),
    })
    const report = runRuleTests([join(dir, 'root.yml')])
    expect(report).toMatchObject({ passed: 0, failed: 2 })
    expect(report.cases.map((c) => c.reason)).toEqual([
      `expected ${ROOT_FAILURE} to fire, none did`,
      `expected no alert, but ${ROOT_FAILURE} fired`,
    ])
  })

  it('reads plain events beside a rule as "fires on at least one", JSON array or lines', () => {
    const dir = folder({
      'root.yml': rootFailure,
      'root.json': `[${sshEvent('alice')},\n${sshEvent('root')}]`,
      'root.jsonl': `${sshEvent('alice')}\n${sshEvent('bob')}\n`,
    })
    const report = runRuleTests([dir])
    expect(report.cases.map((c) => [c.file, c.pass])).toEqual([
      [shown(join(dir, 'root.json')), true],
      [shown(join(dir, 'root.jsonl')), false],
    ])
  })

  it('runs an exported Windows event through the EVTX-JSON parser as ingest does', () => {
    const logon = {
      Event: {
        System: {
          Provider: { '#attributes': { Name: 'Microsoft-Windows-Security-Auditing' } },
          EventID: 4625,
          TimeCreated: { '#attributes': { SystemTime: '2026-03-01T10:00:00.000000Z' } },
          EventRecordID: 7,
          Channel: 'Security',
          Computer: 'dc1.corp.example',
        },
        EventData: { TargetUserName: 'administrator', LogonType: 3 },
      },
    }
    const dir = folder({
      'logon.yml': [
        'title: Failed network logon as administrator',
        'id: 5e2f4c1a-3b6d-4e8f-9a0b-1c2d3e4f5a6b',
        'logsource: { product: windows, service: security }',
        'detection:',
        '  selection: { EventID: 4625, TargetUserName: administrator, LogonType: 3 }',
        '  condition: selection',
        '',
      ].join('\n'),
      'logon.tests.yml': `- event: ${JSON.stringify(logon)}\n`,
    })
    const report = runRuleTests([join(dir, 'logon.yml')])
    expect(report.cases).toMatchObject([{ name: 'case 1', pass: true }])
  })

  it('tests a correlation over a case of several events, its windows closed at the end', () => {
    const dir = folder({
      'burst.yml': [
        rootFailure,
        '---',
        'title: Three root failures',
        'id: 6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d',
        'correlation:',
        '  type: event_count',
        '  rules: [root_failure]',
        '  group-by: [source.ip]',
        '  timespan: 5m',
        '  condition: { eq: 3 }',
        '',
      ].join('\n'),
      'burst.tests.yml': [
        'cases:',
        '  - name: three fire',
        `    events: [${[1, 2, 3].map((s) => sshEvent('root', 'failure', s)).join(', ')}]`,
        '  - name: two do not',
        '    fires: false',
        `    events: [${[1, 2].map((s) => sshEvent('root', 'failure', s)).join(', ')}]`,
        '  - name: the rule it counts still matches alone',
        '    rule: root_failure',
        `    event: ${sshEvent('root')}`,
        '',
      ].join('\n'),
    })
    const report = runRuleTests([join(dir, 'burst.yml')])
    expect(report.cases.map((c) => [c.name, c.pass])).toEqual([
      ['three fire', true],
      ['two do not', true],
      ['the rule it counts still matches alone', true],
    ])
  })

  it('refuses a rule that does not compile, naming its file, line and reason', () => {
    const dir = folder({
      'bad.yml': rootFailure.replace('user.name: root', 'user.name|nosuch: root'),
      'bad.json': sshEvent('root'),
    })
    // The line is the rule's, or its field's where the loader knows it.
    const file = shown(join(dir, 'bad.yml')).replace(/[.]/g, '\\.')
    expect(() => runRuleTests([join(dir, 'bad.yml')])).toThrow(
      new RegExp(
        `^a tested rule does not compile:\\n  ${file}:\\d+: detection\\.selection: ` +
          'unknown modifier "nosuch" in "user\\.name\\|nosuch"$',
      ),
    )
  })

  it('refuses a malformed case with its file and line, and a rule file with no examples', () => {
    const dir = folder({
      'root.yml': rootFailure,
      'root.tests.yml': `- event: ${sshEvent('root')}\n- fire: false\n  event: {}\n`,
      'alone.yml': rootFailure,
    })
    const tests = shown(join(dir, 'root.tests.yml'))
    expect(() => runRuleTests([join(dir, 'root.yml')])).toThrow(
      `${tests}:2: case 2: unknown key fire; expected name, description, rule, fires, event, ` +
        'events, format',
    )
    expect(() => runRuleTests([join(dir, 'alone.yml')])).toThrow(
      /alone\.yml: no examples beside it: expected one of .*alone\.tests\.yml/,
    )
  })

  it('refuses an example event that ingest would refuse, saying why', () => {
    const dir = folder({
      'root.yml': rootFailure,
      'root.jsonl': `${sshEvent('root')}\n{"@timestamp": "yesterday"}\n`,
    })
    expect(() => runRuleTests([join(dir, 'root.yml')])).toThrow(
      /root\.jsonl:2: event 2: not a valid ECS event \(at @timestamp\)/,
    )
  })

  it('exits 0 when all pass, 1 when one fails and 2 on a hard error', async () => {
    const dir = folder({
      'root.yml': rootFailure,
      'root.json': sshEvent('root'),
      'quiet.yml': rootFailure.replace(ROOT_FAILURE, '7b8c9d0e-1f2a-4b3c-8d4e-5f6a7b8c9d0e'),
      'quiet.json': sshEvent('alice'),
    })
    const cli = async (...args: string[]) => {
      try {
        const out = await promisify(execFile)(
          process.execPath,
          [join(repoRoot, 'bin', 'palisade.js'), 'rules', 'test', ...args],
          { cwd: dir },
        )
        return { code: 0, ...out }
      } catch (error) {
        return error as { code: number; stdout: string; stderr: string }
      }
    }
    const good = await cli('root.yml')
    expect(good.code).toBe(0)
    expect(good.stdout).toBe('ok   root.json:1 events in root.json\n1 cases: 1 passed, 0 failed\n')

    const bad = await cli('root.yml', 'quiet.yml', '--json')
    expect(bad.code).toBe(1)
    expect(JSON.parse(bad.stdout)).toMatchObject({ passed: 1, failed: 1 })

    const hard = await cli('missing.yml')
    expect(hard.code).toBe(2)
    expect(hard.stderr).toBe('palisade: rule path missing.yml does not exist\n')
  }, 60_000)
})
