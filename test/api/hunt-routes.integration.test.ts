import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { AuditEntry } from '../../audit/audit-log.ts'
import { planHunt } from '../../detectors/hunts/hunt-plan.ts'
import { runHunt } from '../../detectors/hunts/run-hunt.ts'
import { loadMappings } from '../../detectors/sigma/load-mappings.ts'
import { loadRules } from '../../detectors/sigma/load-rules.ts'
import { readAuditRows } from '../../platform/clickhouse/audit-repository.ts'
import { getHunt } from '../../platform/state/hunt-records.ts'
import { corpora, startTestEngine } from '../helpers/test-engine.ts'
import type { TestEngine } from '../helpers/test-engine.ts'

/**
 * Hunts through the API on a running engine: a few thousand generated events are ingested
 * (so the stream raises its alerts), then hunted with the same rules.
 */

const dir = mkdtempSync(join(tmpdir(), 'palisade-hunts-'))
const ruleDir = join(dir, 'rules')
const mappingFile = join(dir, 'acme.yml')
const EVENTS = 3000
/** Sysmon process creations among them, which the SigmaHQ rules of the cancel test read. */
const SYSMON = 300
const start = Date.parse('2026-10-01T00:00:00Z')
const range = { from: '2026-10-01T00:00:00Z', to: '2026-10-02T00:00:00Z' }

const ids = {
  admin: '11111111-1111-4111-8111-111111111111',
  deleted: '22222222-2222-4222-8222-222222222222',
  secret: '33333333-3333-4333-8333-333333333333',
  burst: '44444444-4444-4444-8444-444444444444',
  fieldref: '55555555-5555-4555-8555-555555555555',
}

function rule(id: string, title: string, detection: string): string {
  return (
    `title: ${title}\nid: ${id}\nlevel: high\ntags: [attack.t1078]\n` +
    `logsource: {product: acme}\ndetection:\n${detection}\n`
  )
}

let palisade: TestEngine

beforeAll(async () => {
  mkdirSync(ruleDir, { recursive: true })
  writeFileSync(
    mappingFile,
    'routes:\n  - logsource: {product: acme}\n    events: [{datasets: acme.app}]\n',
  )
  const rules = [
    rule(ids.admin, 'Admin account used', "  s: {user.name|startswith: 'admin'}\n  condition: s"),
    rule(
      ids.deleted,
      'Record deleted',
      '  s: {event.action: delete, event.outcome: success}\n' + '  condition: s',
    ),
    rule(ids.secret, 'Secret in message', "  s: {message|contains: 'SECRET'}\n  condition: s"),
    rule(
      ids.fieldref,
      'User named as host',
      '  s: {user.name|fieldref: host.name}\n' + '  condition: s',
    ),
    `title: Admin burst\nid: ${ids.burst}\ncorrelation:\n  type: event_count\n` +
      `  rules: [${ids.admin}]\n  group-by: [host.name]\n  timespan: 5m\n  generate: true\n` +
      '  condition: {gte: 3}\n',
  ]
  rules.forEach((text, i) => writeFileSync(join(ruleDir, `r${i}.yml`), text))

  palisade = await startTestEngine({
    rules: [ruleDir],
    builtinRules: false,
    sigma: { mappings: [mappingFile] },
  })
  const lines = Array.from({ length: EVENTS }, (_, i) =>
    JSON.stringify({
      '@timestamp': new Date(start + i * 7_000).toISOString(),
      event: {
        kind: 'event',
        dataset: 'acme.app',
        action: i % 7 === 0 ? 'delete' : 'read',
        outcome: i % 3 === 0 ? 'failure' : 'success',
      },
      user: { name: i % 10 === 0 ? `admin${i % 4}` : `user${i}` },
      host: { name: `host${i % 5}` },
      message: i % 13 === 0 ? `token SECRET ${i}` : `record ${i} read`,
    }),
  )
  for (let i = 0; i < SYSMON; i++) lines.push(JSON.stringify(sysmonEvent(start + i * 70_000 + 1)))
  for (let i = 0; i < lines.length; i += 500) {
    const res = await palisade.request('POST', '/v1/events?format=ndjson', {
      body: lines.slice(i, i + 500).join('\n'),
      contentType: 'application/x-ndjson',
    })
    expect(res.status).toBe(202)
    expect(res.body.stored).toBe(Math.min(500, lines.length - i))
  }
}, 120_000)

/** A Sysmon process creation, as an NDJSON emitter would send one. */
function sysmonEvent(time: number) {
  return {
    '@timestamp': new Date(time).toISOString(),
    event: { kind: 'event' },
    host: { name: 'ws1' },
    winlog: {
      channel: 'Microsoft-Windows-Sysmon/Operational',
      event_id: 1,
      computer_name: 'ws1',
      event_data: { Image: 'C:\\Windows\\System32\\cmd.exe', CommandLine: 'cmd /c echo' },
    },
  }
}

afterAll(async () => {
  await palisade?.close()
  rmSync(dir, { recursive: true, force: true })
})

/** Every alert of a list endpoint, all pages. */
async function allAlerts(path: string): Promise<any[]> {
  const out: any[] = []
  let cursor: string | null = null
  do {
    const sep = path.includes('?') ? '&' : '?'
    const page: { status: number; body: any } = await palisade.request(
      'GET',
      `${path}${sep}limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
    )
    expect(page.status).toBe(200)
    const items = page.body.alerts?.items ?? page.body.items
    out.push(...items)
    cursor = page.body.alerts?.next_cursor ?? page.body.next_cursor
  } while (cursor)
  return out
}

/** Polls a hunt until `until` holds, keeping every answer. */
async function follow(id: string, until: (hunt: any) => boolean): Promise<any[]> {
  const seen: any[] = []
  for (;;) {
    const res = await palisade.request('GET', `/v1/hunts/${id}?limit=1`)
    expect(res.status).toBe(200)
    seen.push(res.body)
    if (until(res.body)) return seen
    await sleep(50)
  }
}

/** A hunt of the admin rule and 99 SigmaHQ process-creation rules, in slices of 1,000. */
function slowHunt() {
  const folder = join(corpora, 'sigma', 'rules', 'windows', 'process_creation')
  const texts = readdirSync(folder)
    .sort()
    .slice(0, 99)
    .map((f) => readFileSync(join(folder, f), 'utf8'))
  return { rule_ids: [ids.admin], rules: texts, ...range, max_slice_events: 1000 }
}

const key = (a: any) => `${a.rule.id} ${a.rule.version} ${a.event_ids.join(',')}`

describe('POST /v1/hunts', () => {
  it('runs the rules over the stored events, in slices, and finds what the stream found', async () => {
    const streamBefore = await allAlerts('/v1/alerts?origin=stream')
    const res = await palisade.request('POST', '/v1/hunts', {
      body: { rule_ids: Object.values(ids), ...range, max_slice_events: 1000 },
    })
    expect(res.status).toBe(202)
    expect(res.body.state).toBe('running')
    expect(res.body.status).toBe(`/v1/hunts/${res.body.id}`)
    expect(res.body.rules.map((r: { id: string }) => r.id).sort()).toEqual(
      [ids.admin, ids.deleted, ids.secret, ids.burst].sort(),
    )
    expect(res.body.refused).toEqual([
      {
        id: ids.fieldref,
        title: 'User named as host',
        kind: 'sql_unsupported',
        reason: expect.stringMatching(/fieldref without cased/),
      },
    ])

    const seen = await follow(res.body.id, (h) => h.state !== 'running')
    const last = seen.at(-1)
    expect(last.state).toBe('done')
    expect(last.progress.slices.total).toBeGreaterThanOrEqual(3)
    expect(last.progress.slices.done).toBe(last.progress.slices.total)
    const stored = EVENTS + SYSMON
    expect(last.progress.events).toEqual({ done: stored, total: stored })
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i].progress.queries.done).toBeGreaterThanOrEqual(
        seen[i - 1].progress.queries.done,
      )
    }

    const found = await allAlerts(`/v1/hunts/${res.body.id}`)
    expect(found.length).toBe(last.progress.matches)
    expect(found.every((a) => a.origin === 'hunt' && a.hunt_id === res.body.id)).toBe(true)
    const hunted = new Set([ids.admin, ids.deleted, ids.secret, ids.burst])
    const stream = streamBefore.filter((a) => hunted.has(a.rule.id))
    expect(stream.length).toBeGreaterThan(500)
    // The burst correlation's windows cross the slices' boundaries, and are found whole.
    expect(found.filter((a) => a.rule.id === ids.burst).length).toBeGreaterThan(0)
    expect(found.map(key).sort()).toEqual(stream.map(key).sort())
    expect(new Set(found.map((a) => a.id)).size).toBe(found.length)
    expect(found.some((a) => stream.some((s) => s.id === a.id))).toBe(false)

    // The stream's own alerts are still there, as they were.
    const streamAfter = await allAlerts('/v1/alerts?origin=stream')
    expect(streamAfter.map((a) => a.id).sort()).toEqual(streamBefore.map((a) => a.id).sort())

    const listed = await palisade.request('GET', '/v1/hunts')
    expect(listed.body.items[0]).toMatchObject({ id: res.body.id, state: 'done' })

    // Running the same hunt again writes the same alerts, not new ones.
    const documents = loadRules([ruleDir]).documents
    const plan = planHunt(documents, { mapping: loadMappings([mappingFile]) })
    await runHunt({
      store: palisade.engine.store,
      huntId: res.body.id,
      plan,
      from: Date.parse(range.from),
      to: Date.parse(range.to),
      maxSliceEvents: 1000,
    })
    const again = await allAlerts(`/v1/hunts/${res.body.id}`)
    expect(again.map((a) => a.id).sort()).toEqual(found.map((a) => a.id).sort())
  }, 120_000)

  it('stops a hunt cancelled mid-way, says cancelled and keeps the alerts it stored', async () => {
    // SigmaHQ process-creation rules make each query slow enough to cancel between slices
    // (every slice holds Sysmon events): ClickHouse takes a second or more to analyse a batch
    // of them, however few events it reads.
    const res = await palisade.request('POST', '/v1/hunts', { body: slowHunt() })
    expect(res.status).toBe(202)
    await follow(res.body.id, (h) => h.progress.slices.done >= 1 || h.state !== 'running')

    const busy = await palisade.request('POST', '/v1/hunts', {
      body: { rule_ids: [ids.admin], ...range },
    })
    expect(busy.status).toBe(409)
    expect(busy.body.error.code).toBe('PAL_HUNT_BUSY')

    const cancel = await palisade.request('POST', `/v1/hunts/${res.body.id}/cancel`)
    expect(cancel.status).toBe(200)
    expect(cancel.body.state).toBe('cancelled')
    expect(cancel.body.progress.slices.done).toBeLessThan(cancel.body.progress.slices.total)
    expect(cancel.body.progress.matches).toBeGreaterThan(0)
    const kept = await allAlerts(`/v1/hunts/${res.body.id}`)
    expect(kept.length).toBe(cancel.body.progress.matches)

    const twice = await palisade.request('DELETE', `/v1/hunts/${res.body.id}`)
    expect(twice.status).toBe(409)
    expect(twice.body.error.code).toBe('PAL_HUNT_NOT_RUNNING')

    const { engine } = palisade
    const entries = (await readAuditRows(engine.store, 0, engine.audit.size())).map(
      (r) => JSON.parse(r.entry) as AuditEntry,
    )
    const about = entries.filter((e) => e.target?.id === res.body.id)
    expect(about.map((e) => `${e.action} ${e.outcome}`)).toEqual([
      'hunt.start success',
      'hunt.cancel success',
      'hunt.cancel failure',
    ])
    expect(about[0]!.details).toMatchObject({ from: range.from, to: range.to, rules_count: 100 })
    const busyEntry = entries.find((e) => e.details?.['error_code'] === 'PAL_HUNT_BUSY')
    expect(busyEntry).toMatchObject({ action: 'hunt.start', outcome: 'failure' })
  }, 120_000)

  it('refuses a body with unknown keys, a backwards range or no rules, saying where', async () => {
    const extra = await palisade.request('POST', '/v1/hunts', {
      body: { rule_ids: [ids.admin], ...range, limit: 5 },
    })
    expect(extra.status).toBe(400)
    expect(extra.body.error.message).toMatch(/limit/)

    const backwards = await palisade.request('POST', '/v1/hunts', {
      body: { rule_ids: [ids.admin], from: range.to, to: range.from },
    })
    expect(backwards.status).toBe(400)
    expect(backwards.body.error.message).toMatch(/body\.from: expected from before to/)

    const none = await palisade.request('POST', '/v1/hunts', { body: range })
    expect(none.status).toBe(400)
    expect(none.body.error.message).toMatch(/expected rules \(YAML texts\) or rule_ids/)

    const unknown = await palisade.request('POST', '/v1/hunts', {
      body: { rule_ids: ['no-such-rule'], ...range },
    })
    expect(unknown.status).toBe(400)
    expect(unknown.body.error.code).toBe('PAL_HUNT_RULE_UNKNOWN')

    const yaml = await palisade.request('POST', '/v1/hunts', {
      body: { rules: ['title: [unclosed'], ...range },
    })
    expect(yaml.status).toBe(400)
    expect(yaml.body.error.message).toMatch(/^body\.rules\[0\] line 1: invalid YAML/)

    const missing = await palisade.request('GET', '/v1/hunts/0190f0f0-0000-7000-8000-000000000000')
    expect(missing.status).toBe(404)
  })

  it('refuses a posted rule reusing the id of a rule the hunt names or of another posted rule', async () => {
    const impostor = rule(
      ids.admin,
      'Admin account used',
      '  s: {user.name: nobody}\n  condition: s',
    )
    const named = await palisade.request('POST', '/v1/hunts', {
      body: { rules: [impostor], rule_ids: [ids.admin], ...range },
    })
    expect(named.status).toBe(400)
    expect(named.body.error).toMatchObject({
      code: 'PAL_HUNT_RULE_DUPLICATE',
      message:
        `body.rules[0]: expected a rule id of its own, got ${ids.admin}: a posted rule may ` +
        'not reuse the id of a loaded rule the hunt also names',
    })

    const referenced = await palisade.request('POST', '/v1/hunts', {
      body: { rules: [impostor], rule_ids: [ids.burst], ...range },
    })
    expect(referenced.status).toBe(400)
    expect(referenced.body.error.message).toContain(
      `a loaded rule that the named correlation ${ids.burst} references`,
    )

    const twice = await palisade.request('POST', '/v1/hunts', {
      body: { rules: [impostor, impostor], ...range },
    })
    expect(twice.status).toBe(400)
    expect(twice.body.error.message).toMatch(
      /^body\.rules\[1\]: .* reuse the id of another posted rule \(body\.rules\[0\]\)$/,
    )

    const hunts = await palisade.request('GET', '/v1/hunts')
    expect(JSON.stringify(hunts.body)).not.toContain('nobody')
  })

  it('needs an admin token to start a hunt and a read token to follow one', async () => {
    const made = await palisade.request('POST', '/v1/tokens', {
      body: { name: 'analyst', scopes: ['read'] },
    })
    const token = made.body.token as string
    const start = await palisade.request('POST', '/v1/hunts', {
      body: { rule_ids: [ids.admin], ...range },
      token,
    })
    expect(start.status).toBe(403)
    const list = await palisade.request('GET', '/v1/hunts', { token })
    expect(list.status).toBe(200)
    const anonymous = await palisade.request('GET', '/v1/hunts', { token: null })
    expect(anonymous.status).toBe(401)
  })

  // Last: the hunts of the engine are closed afterwards.
  it('cancels the running hunt when Palisade stops, and audits it as its own', async () => {
    const res = await palisade.request('POST', '/v1/hunts', { body: slowHunt() })
    expect(res.status).toBe(202)
    await follow(res.body.id, (h) => h.progress.queries.done >= 1 || h.state !== 'running')
    const { engine } = palisade
    await engine.hunts.close()
    expect((await getHunt(engine.state.db, res.body.id))?.state).toBe('cancelled')
    const entries = (await readAuditRows(engine.store, 0, engine.audit.size())).map(
      (r) => JSON.parse(r.entry) as AuditEntry,
    )
    expect(entries.filter((e) => e.target?.id === res.body.id).at(-1)).toMatchObject({
      action: 'hunt.cancel',
      actor: { kind: 'system', id: 'palisade' },
      details: { reason: 'stop' },
    })
    const refused = await palisade.request('POST', '/v1/hunts', {
      body: { rule_ids: [ids.admin], ...range },
    })
    expect(refused.status).toBe(503)
  }, 120_000)
})
