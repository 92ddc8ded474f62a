import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { AuditEntry } from '../../audit/audit-log.ts'
import { readAuditRows } from '../../platform/clickhouse/audit-repository.ts'
import { repoRoot, startTestEngine } from '../helpers/test-engine.ts'
import type { TestEngine } from '../helpers/test-engine.ts'

// One data dir and one rule folder for the whole file, so a restart finds what the previous
// engine left. chDB allows one data dir per process: each engine closes before the next.
const root = mkdtempSync(join(tmpdir(), 'palisade-rule-routes-'))
const dataDir = join(root, 'data')
const ruleDir = join(root, 'rules')
mkdirSync(ruleDir)

const FAILURE = '7d7c2a52-5c1e-4d8e-9a57-0b6f1d3e2a11'
const BURST = '1f0b8d43-2e6a-4c3b-8f1d-9c2e7a5b4d22'
const IGNORE = '3a9e5f10-6b2c-4d7e-8a1f-2c4b6d8e0f33'
const ADDED = '9c4d2e1f-7a3b-4c5d-8e6f-1a2b3c4d5e44'

const failureRule = (level: string) =>
  [
    'title: Test SSH failure for a watched user',
    `id: ${FAILURE}`,
    'name: test_watched_failure',
    'status: test',
    'tags: [attack.credential-access, attack.t1110.001, detection.emerging-threats]',
    'logsource: { product: linux, service: sshd }',
    'detection:',
    '  selection:',
    '    event.outcome: failure',
    '    user.name|startswith: watched',
    '  condition: selection',
    `level: ${level}`,
    '---',
    'title: Test burst of watched failures',
    `id: ${BURST}`,
    'correlation:',
    '  type: event_count',
    '  rules: [test_watched_failure]',
    '  group-by: [source.ip]',
    '  timespan: 10m',
    '  condition: { gte: 2 }',
    '  generate: true',
    'level: critical',
    '---',
    'title: Test ignore the watched robot',
    `id: ${IGNORE}`,
    'logsource: { product: linux, service: sshd }',
    'filter:',
    '  rules: [test_watched_failure]',
    '  selection:',
    '    user.name: watched-robot',
    '  condition: not selection',
    '',
  ].join('\n')

writeFileSync(join(ruleDir, 'watched.yml'), failureRule('high'))

let palisade: TestEngine
let sent = 0

/** A fresh failed SSH login (its own id, since its message is new) by `user` from `ip`. */
const failure = (user: string, ip: string) => ({
  '@timestamp': new Date(Date.UTC(2026, 10, 30, 9, 0, sent)).toISOString(),
  event: {
    dataset: 'sshd',
    category: ['authentication'],
    action: 'ssh_login',
    outcome: 'failure',
  },
  user: { name: user },
  source: { ip },
  message: `rule routes test event ${++sent}`,
})

/** Sends the events and returns the ids of the rules that alerted on them. */
async function alertsOn(...events: object[]): Promise<string[]> {
  const res = await palisade.request('POST', '/v1/events', { body: events })
  expect(res.status).toBe(202)
  const ids = res.body.results.map((r: { id: string }) => r.id)
  const alerts = await palisade.request('GET', '/v1/alerts?limit=1000')
  return alerts.body.items
    .filter((a: { event_ids: string[] }) => a.event_ids.some((id) => ids.includes(id)))
    .map((a: { rule: { id: string } }) => a.rule.id)
    .sort()
}

async function auditEntries(action: string): Promise<AuditEntry[]> {
  const { engine } = palisade
  const rows = await readAuditRows(engine.store, 0, engine.audit.size())
  return rows.map((r) => JSON.parse(r.entry) as AuditEntry).filter((e) => e.action === action)
}

const start = () => startTestEngine({ dataDir, rules: [ruleDir], builtinRules: false })

beforeAll(async () => {
  palisade = await start()
})

afterAll(async () => {
  await palisade?.close()
  rmSync(root, { recursive: true, force: true })
})

describe('GET /v1/rules', () => {
  it('lists every loaded rule, correlation and filter with its state and ATT&CK tags', async () => {
    const res = await palisade.request('GET', '/v1/rules')
    expect(res.status).toBe(200)
    expect(res.body.next_cursor).toBeNull()
    expect(res.body.items.map((r: { id: string }) => r.id)).toEqual([FAILURE, BURST, IGNORE])
    const [rule, burst, filter] = res.body.items
    expect(rule).toMatchObject({
      kind: 'detection',
      title: 'Test SSH failure for a watched user',
      name: 'test_watched_failure',
      enabled: true,
      status: 'enabled',
      routed: true,
      inert: null,
      level: 'high',
      sigma_status: 'test',
      logsource: { product: 'linux', service: 'sshd' },
      attack: ['credential-access', 't1110.001'],
      line: 1,
      used_by: [BURST],
    })
    expect(rule.file).toMatch(/watched\.yml$/)
    expect(rule.version).toMatch(/^[0-9a-f]{16}$/)
    expect(burst).toMatchObject({
      kind: 'correlation',
      correlation_type: 'event_count',
      late_events: 0,
      references: [FAILURE],
      routed: null,
      level: 'critical',
    })
    expect(filter).toMatchObject({ kind: 'filter', references: ['test_watched_failure'] })
  })

  it('filters by kind, tag (with sub-techniques), text and state, a page at a time', async () => {
    const ids = async (query: string) =>
      (await palisade.request('GET', `/v1/rules?${query}`)).body.items.map(
        (r: { id: string }) => r.id,
      )
    expect(await ids('kind=correlation')).toEqual([BURST])
    expect(await ids('tag=t1110')).toEqual([FAILURE])
    expect(await ids('tag=attack.T1110.001')).toEqual([FAILURE])
    expect(await ids('tag=t1078')).toEqual([])
    expect(await ids('q=ROBOT')).toEqual([IGNORE])
    expect(await ids('enabled=false')).toEqual([])

    const first = await palisade.request('GET', '/v1/rules?limit=2')
    expect(first.body.items).toHaveLength(2)
    const second = await palisade.request(
      'GET',
      `/v1/rules?limit=2&cursor=${first.body.next_cursor}`,
    )
    expect(second.body.items.map((r: { id: string }) => r.id)).toEqual([IGNORE])
    expect(second.body.next_cursor).toBeNull()
  })

  it('answers one rule by id, 404 for an unknown one and 400 for a bad query', async () => {
    const one = await palisade.request('GET', `/v1/rules/${BURST}`)
    expect(one.status).toBe(200)
    expect(one.body.title).toBe('Test burst of watched failures')

    const unknown = await palisade.request('GET', '/v1/rules/no-such-rule')
    expect(unknown.status).toBe(404)
    expect(unknown.body.error.message).toBe(
      'no loaded rule, correlation or filter with id no-such-rule; see GET /v1/rules',
    )

    const bad = await palisade.request('GET', '/v1/rules?enabled=yes&kind=alert')
    expect(bad.status).toBe(400)
    expect(bad.body.error.message).toContain('querystring.enabled: expected true or false')
    expect(bad.body.error.message).toContain(
      'querystring.kind: expected detection, correlation or filter',
    )
    const cursor = await palisade.request('GET', '/v1/rules?cursor=nonsense')
    expect(cursor.status).toBe(400)
    expect(cursor.body.error.message).toMatch(/cursor: expected a cursor returned by a previous/)
  })

  it('refuses a query key or a reload option it does not know, naming it', async () => {
    const misspelt = await palisade.request('GET', '/v1/rules?knd=filter')
    expect(misspelt.status).toBe(400)
    expect(misspelt.body.error.message).toMatch(/^querystring: .*"knd"/)
    const option = await palisade.request('POST', '/v1/rules/reload', { body: { force: true } })
    expect(option.status).toBe(400)
    expect(option.body.error.message).toMatch(/^body: .*"force"/)
  })
})

describe('PATCH /v1/rules/:id', () => {
  it('turns a rule off so it neither alerts nor feeds its correlation, and on again', async () => {
    expect(await alertsOn(failure('watched-1', '192.0.2.1'))).toEqual([FAILURE])

    const off = await palisade.request('PATCH', `/v1/rules/${FAILURE}`, {
      body: { enabled: false },
    })
    expect(off.status).toBe(200)
    expect(off.body).toMatchObject({ id: FAILURE, enabled: false, status: 'disabled' })
    expect(off.body.changed).toBe(true)
    // The correlation counting it can no longer fire, and says so.
    const burst = await palisade.request('GET', `/v1/rules/${BURST}`)
    expect(burst.body.inert).toBe('every rule it counts is off or unrouted')

    // Two failures from one address would fire the burst, were the rule on.
    const quiet = [failure('watched-2', '192.0.2.2'), failure('watched-3', '192.0.2.2')]
    expect(await alertsOn(...quiet)).toEqual([])

    const on = await palisade.request('PATCH', `/v1/rules/${FAILURE}`, { body: { enabled: true } })
    expect(on.status).toBe(200)
    expect(on.body).toMatchObject({ enabled: true, changed: true })
    const loud = [failure('watched-4', '192.0.2.3'), failure('watched-5', '192.0.2.3')]
    expect(await alertsOn(...loud)).toEqual([BURST, FAILURE, FAILURE].sort())
  })

  it('turns a filter off by recompiling the rules it applies to', async () => {
    expect(await alertsOn(failure('watched-robot', '192.0.2.4'))).toEqual([])
    const off = await palisade.request('PATCH', `/v1/rules/${IGNORE}`, {
      body: { enabled: false },
    })
    expect(off.status).toBe(200)
    expect(await alertsOn(failure('watched-robot', '192.0.2.5'))).toEqual([FAILURE])
    await palisade.request('PATCH', `/v1/rules/${IGNORE}`, { body: { enabled: true } })
    expect(await alertsOn(failure('watched-robot', '192.0.2.6'))).toEqual([])
  })

  it('writes each change to the audit log with who, what, on what and the outcome', async () => {
    const disables = await auditEntries('rule.disable')
    const enables = await auditEntries('rule.enable')
    expect(disables.map((e) => e.target?.id)).toEqual([FAILURE, IGNORE])
    expect(enables.map((e) => e.target?.id)).toEqual([FAILURE, IGNORE])
    expect(disables[0]).toMatchObject({
      actor: { kind: 'token', name: 'admin (first start)' },
      target: { kind: 'rule', id: FAILURE },
      outcome: 'success',
      details: { rule_kind: 'detection', changed: true },
    })
    expect(disables[1]!.details).toMatchObject({ rule_kind: 'filter' })
  })

  it('answers an unknown id with 404 and audits the refusal', async () => {
    const res = await palisade.request('PATCH', '/v1/rules/no-such-rule', {
      body: { enabled: false },
    })
    expect(res.status).toBe(404)
    expect(res.body.error.code).toBe('PAL_NOT_FOUND')
    const refused = (await auditEntries('rule.disable')).at(-1)
    expect(refused).toMatchObject({
      target: { kind: 'rule', id: 'no-such-rule' },
      outcome: 'failure',
      details: { code: 'PAL_NOT_FOUND' },
    })
  })

  it('refuses a body without a boolean enabled, naming the field', async () => {
    const word = await palisade.request('PATCH', `/v1/rules/${FAILURE}`, {
      body: { enabled: 'no' },
    })
    expect(word.status).toBe(400)
    expect(word.body.error.message).toBe('body.enabled: expected enabled: true or false, got "no"')
    const none = await palisade.request('PATCH', `/v1/rules/${FAILURE}`, { body: {} })
    expect(none.status).toBe(400)
    expect(none.body.error.message).toMatch(/^body\.enabled: expected enabled: true or false/)
    const extra = await palisade.request('PATCH', `/v1/rules/${FAILURE}`, {
      body: { enabled: false, reason: 'noisy' },
    })
    expect(extra.status).toBe(400)
    expect(extra.body.error.message).toMatch(/reason/)
    expect((await palisade.request('GET', `/v1/rules/${FAILURE}`)).body.enabled).toBe(true)
  })

  it('is for admin tokens only: 403 for a read token, which may still list', async () => {
    const made = await palisade.request('POST', '/v1/tokens', {
      body: { name: 'analyst', scopes: ['read'] },
    })
    const token = made.body.token as string
    const patch = await palisade.request('PATCH', `/v1/rules/${FAILURE}`, {
      body: { enabled: false },
      token,
    })
    expect(patch.status).toBe(403)
    expect(patch.body.error.message).toMatch(/needs a token with the "admin" scope/)
    const reload = await palisade.request('POST', '/v1/rules/reload', { token })
    expect(reload.status).toBe(403)
    expect((await palisade.request('GET', '/v1/rules', { token })).status).toBe(200)

    // Both refusals are in the audit log, by the token, under what it tried.
    const refusal = {
      actor: { kind: 'token', id: made.body.id, name: 'analyst' },
      outcome: 'failure',
      details: expect.objectContaining({ reason: 'scope', required: 'admin', held: 'read' }),
    }
    expect(await auditEntries('rule.toggle')).toEqual([
      expect.objectContaining({ ...refusal, target: { kind: 'rule', id: FAILURE } }),
    ])
    expect(await auditEntries('rules.reload')).toEqual([expect.objectContaining(refusal)])
  })
})

describe('a rule turned off', () => {
  it('stays off after a restart', async () => {
    await palisade.request('PATCH', `/v1/rules/${FAILURE}`, { body: { enabled: false } })
    await palisade.close()
    palisade = await start()

    const rule = await palisade.request('GET', `/v1/rules/${FAILURE}`)
    expect(rule.body).toMatchObject({ enabled: false, status: 'disabled' })
    expect(await alertsOn(failure('watched-6', '192.0.2.7'))).toEqual([])

    await palisade.request('PATCH', `/v1/rules/${FAILURE}`, { body: { enabled: true } })
    expect(await alertsOn(failure('watched-7', '192.0.2.8'))).toEqual([FAILURE])
  })
})

describe('POST /v1/rules/reload', () => {
  it('picks up new and changed files, and reports a broken one, keeping the rest', async () => {
    writeFileSync(join(ruleDir, 'watched.yml'), failureRule('medium'))
    writeFileSync(
      join(ruleDir, 'added.yml'),
      [
        'title: Test SSH failure for the operator',
        `id: ${ADDED}`,
        'logsource: { product: linux, service: sshd }',
        'detection:',
        '  selection: { event.outcome: failure, user.name: operator }',
        '  condition: selection',
        'level: low',
        '',
      ].join('\n'),
    )
    writeFileSync(join(ruleDir, 'broken.yml'), 'title: Broken\nid: x\ndetection: [unclosed\n')

    // Half a burst before the reload: the correlation did not change, so its window stays.
    expect(await alertsOn(failure('watched-8', '192.0.2.9'))).toEqual([FAILURE])

    const res = await palisade.request('POST', '/v1/rules/reload')
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({
      added: [ADDED],
      changed: [FAILURE],
      removed: [],
      rules: 2,
      correlations: 1,
      filters: 1,
      correlation_state_dropped: [],
      warnings: [],
    })
    expect(res.body.rejected).toHaveLength(1)
    expect(res.body.rejected[0].file).toMatch(/broken\.yml$/)
    expect(res.body.rejected[0].line).toBe(4)
    expect(res.body.rejected[0].message).toMatch(/invalid YAML/)

    expect((await palisade.request('GET', `/v1/rules/${FAILURE}`)).body.level).toBe('medium')
    expect(await alertsOn(failure('operator', '192.0.2.10'))).toEqual([ADDED])
    // The second half of the burst completes the window opened before the reload.
    expect(await alertsOn(failure('watched-9', '192.0.2.9'))).toEqual([BURST, FAILURE])

    const [entry] = (await auditEntries('rules.reload')).filter((e) => e.outcome === 'success')
    expect(entry).toMatchObject({
      actor: { kind: 'token' },
      target: { kind: 'rule_set', id: 'loaded' },
      outcome: 'success',
      details: {
        added: JSON.stringify([ADDED]),
        added_count: 1,
        changed: JSON.stringify([FAILURE]),
        removed_count: 0,
        rejected_count: 1,
        old_count: 2,
        new_count: 3,
      },
    })
  })

  it('keeps a rule that is off off across a reload', async () => {
    await palisade.request('PATCH', `/v1/rules/${ADDED}`, { body: { enabled: false } })
    expect((await palisade.request('POST', '/v1/rules/reload')).status).toBe(200)
    expect((await palisade.request('GET', `/v1/rules/${ADDED}`)).body.enabled).toBe(false)
    await palisade.request('PATCH', `/v1/rules/${ADDED}`, { body: { enabled: true } })
  })

  it('rejects a file whose rule has the id of one already loaded, naming both', async () => {
    writeFileSync(join(ruleDir, 'zz-copy.yml'), failureRule('low'))
    try {
      const res = await palisade.request('POST', '/v1/rules/reload')
      expect(res.status).toBe(200)
      expect(res.body).toMatchObject({ added: [], changed: [], removed: [] })
      const duplicates = res.body.rejected.filter((r: { file: string }) =>
        r.file.endsWith('zz-copy.yml'),
      )
      // The copy repeats the rule and the filter (the correlation's id is its own too).
      expect(duplicates.map((r: { rule_id: string }) => r.rule_id)).toEqual([
        FAILURE,
        BURST,
        IGNORE,
      ])
      expect(duplicates[0]).toMatchObject({
        line: 1,
        message: expect.stringMatching(
          new RegExp(`^duplicate id ${FAILURE}: .*zz-copy\\.yml:1\\) .*watched\\.yml:1, `),
        ),
      })
      expect((await palisade.request('GET', `/v1/rules/${FAILURE}`)).body.level).toBe('medium')
    } finally {
      rmSync(join(ruleDir, 'zz-copy.yml'))
      await palisade.request('POST', '/v1/rules/reload')
    }
  })

  it('keeps the running rules when the folders give nothing that loads, and says why', async () => {
    const aside = `${ruleDir}-aside`
    renameSync(ruleDir, aside)
    try {
      const gone = await palisade.request('POST', '/v1/rules/reload')
      expect(gone.status).toBe(422)
      expect(gone.body.error.code).toBe('PAL_RULES_RELOAD_FAILED')
      const refused = 'reload refused, the 3 running rules and correlations are kept'
      expect(gone.body.error.message).toMatch(new RegExp(`^${refused}: the rule folders cannot`))
      expect(gone.body.error.message).toMatch(/be read: rule path .*rules does not exist/)
      mkdirSync(ruleDir)
      writeFileSync(join(ruleDir, 'broken.yml'), 'title: Broken\nid: x\ndetection: [unclosed\n')
      const broken = await palisade.request('POST', '/v1/rules/reload')
      expect(broken.status).toBe(422)
      expect(broken.body.error.message).toMatch(
        /the rule folders gave no rule that compiles \(1 rejected; first: .*broken\.yml:4: /,
      )
      expect(broken.body.error.message).toContain('broken.yml:4: invalid YAML')
      expect(broken.body.error.rejections).toHaveLength(1)
    } finally {
      rmSync(ruleDir, { recursive: true, force: true })
      renameSync(aside, ruleDir)
    }
    expect(await alertsOn(failure('operator', '192.0.2.11'))).toEqual([ADDED])
    const refusals = (await auditEntries('rules.reload')).filter(
      (e) => e.outcome === 'failure' && e.details?.reason !== 'scope',
    )
    expect(refusals.map((e) => e.details?.code)).toEqual([
      'PAL_RULES_RELOAD_FAILED',
      'PAL_RULES_RELOAD_FAILED',
    ])
  })

  it('leaves nothing for the next start to report as a change', async () => {
    await palisade.close()
    palisade = await start()
    expect(await auditEntries('rules.change')).toEqual([])
  })
})

describe('the palisade rules commands', () => {
  /** Runs the CLI against the engine, as a user with its admin token would. */
  async function palisadeCli(...args: string[]) {
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('PALISADE_')),
    )
    const argv = [join(repoRoot, 'bin', 'palisade.js'), 'rules', ...args]
    argv.push('--url', palisade.url, '--token', palisade.adminToken)
    try {
      return { code: 0, ...(await promisify(execFile)(process.execPath, argv, { env })) }
    } catch (error) {
      return error as { code: number; stdout: string; stderr: string }
    }
  }

  it('list, disable, enable and reload through the API', async () => {
    const off = await palisadeCli('disable', ADDED)
    expect(off.stdout).toBe(`disabled ${ADDED} (Test SSH failure for the operator)\n`)
    const again = await palisadeCli('disable', ADDED)
    expect(again.stdout).toBe(`${ADDED} was already disabled\n`)

    const disabled = await palisadeCli('list', '--disabled')
    expect(disabled.code).toBe(0)
    expect(disabled.stdout).toMatch(new RegExp(`^disabled  detection    low            ${ADDED}  `))
    expect(disabled.stdout).toMatch(/\n1 listed: 0 enabled, 1 disabled\n$/)

    const tagged = await palisadeCli('list', '--tag', 't1110', '--json')
    expect(JSON.parse(tagged.stdout).items.map((r: { id: string }) => r.id)).toEqual([FAILURE])

    const on = await palisadeCli('enable', ADDED)
    expect(on.stdout).toBe(`enabled ${ADDED} (Test SSH failure for the operator)\n`)

    const reload = await palisadeCli('reload')
    expect(reload.code).toBe(0)
    expect(reload.stdout).toMatch(/rejected .*broken\.yml:4: invalid YAML/)
    expect(reload.stdout).toMatch(
      /reloaded 2 rules, 1 correlations, 1 filters: 0 added, 0 changed, 0 removed, 1 rejected\n$/,
    )

    const unknown = await palisadeCli('enable', 'no-such-rule')
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/no loaded rule, correlation or filter with id no-such-rule/)
    const both = await palisadeCli('list', '--enabled', '--disabled')
    expect(both.code).toBe(2)
    expect(both.stderr).toBe('palisade: rules list: expected --enabled or --disabled, got both\n')

    // Under --json an error is JSON too, on stdout, with the same exit code.
    const unknownJson = await palisadeCli('disable', 'no-such-rule', '--json')
    expect(unknownJson.code).toBe(1)
    expect(JSON.parse(unknownJson.stdout).error).toMatchObject({
      code: 'PAL_NOT_FOUND',
      message: expect.stringMatching(/no-such-rule/),
    })
    const bothJson = await palisadeCli('list', '--enabled', '--disabled', '--json')
    expect(bothJson.code).toBe(2)
    expect(JSON.parse(bothJson.stdout)).toEqual({
      error: {
        code: 'PAL_INVALID_INPUT',
        message: 'rules list: expected --enabled or --disabled, got both',
      },
    })
  }, 120_000)
})
