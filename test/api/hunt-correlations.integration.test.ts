import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { planHunt } from '../../detectors/hunts/hunt-plan.ts'
import { runHunt } from '../../detectors/hunts/run-hunt.ts'
import { loadRules } from '../../detectors/sigma/load-rules.ts'
import { huntAlertId } from '../../platform/alert-model.ts'
import { opensshLines } from '../helpers/openssh-log.ts'
import { repoRoot, startTestEngine } from '../helpers/test-engine.ts'
import type { TestEngine } from '../helpers/test-engine.ts'

/**
 * Correlations hunted over stored events: the real OpenSSH log is ingested, so the stream
 * raises the built-in pack's correlation alerts, then hunted with the same correlations.
 */

const BRUTE_FORCE = 'dbc9f7ff-1f83-4fa8-bd48-a06e250c39a6'
const SUCCESS_AFTER_FAILURES = '53c8e5c5-3438-4202-8efd-06885b4999d2'
// palisade_ssh_auth_failure, which the brute force counts (with generate false).
const AUTH_FAILURE = 'e4097b4e-7315-4ae2-81aa-e3533c7b3559'
// The log's dates carry no year: ingest gives them the one nearest its clock.
const range = { from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' }

let palisade: TestEngine

beforeAll(async () => {
  palisade = await startTestEngine()
  for (let i = 0; i < opensshLines.length; i += 500) {
    const res = await palisade.request(
      'POST',
      `/v1/events?format=syslog&stream=openssh&position=${i}`,
      { body: opensshLines.slice(i, i + 500).join('\n'), contentType: 'text/plain' },
    )
    expect(res.status).toBe(202)
    expect(res.body.dead_lettered).toBe(0)
  }
}, 120_000)

afterAll(async () => {
  await palisade?.close()
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
    out.push(...(page.body.alerts?.items ?? page.body.items))
    cursor = page.body.alerts?.next_cursor ?? page.body.next_cursor
  } while (cursor)
  return out
}

/** Starts a hunt and waits until it ends; returns its start answer and its last state. */
async function hunt(body: Record<string, unknown>): Promise<{ started: any; ended: any }> {
  const res = await palisade.request('POST', '/v1/hunts', { body: { ...range, ...body } })
  expect(res.status).toBe(202)
  for (;;) {
    const now = await palisade.request('GET', `/v1/hunts/${res.body.id}?limit=1`)
    expect(now.status).toBe(200)
    if (now.body.state !== 'running') return { started: res.body, ended: now.body }
    await sleep(50)
  }
}

/** What a hunt's alert shares with the stream's for the same window. */
const same = (a: any) => ({
  rule: a.rule,
  level: a.level,
  tags: a.tags,
  entity: a.entity,
  event_ids: a.event_ids,
  '@timestamp': a['@timestamp'],
  message: a.message,
})

describe('hunting correlations', () => {
  it('raises the SSH brute-force alerts the stream raised for the same events', async () => {
    const stream = await allAlerts(`/v1/alerts?origin=stream&rule_id=${BRUTE_FORCE}`)
    // Six attackers in the log (ssh-brute-force.integration.test.ts), several windows each.
    expect(new Set(stream.map((a) => a.entity.value)).size).toBe(6)

    const { started, ended } = await hunt({ rule_ids: [BRUTE_FORCE] })
    expect(started.rules.map((r: { id: string }) => r.id)).toEqual([BRUTE_FORCE])
    expect(started.refused).toEqual([])
    expect(ended.state).toBe('done')
    // No batch of rules runs (the one it references is quiet): one query, the correlation's.
    expect(ended.progress.queries).toEqual({ done: 1, total: 1 })

    const found = await allAlerts(`/v1/hunts/${started.id}`)
    expect(found.length).toBe(ended.progress.matches)
    expect(found.every((a) => a.origin === 'hunt' && a.hunt_id === started.id)).toBe(true)
    // The failures it counts are referenced with generate false: no alerts of their own.
    expect(found.every((a) => a.rule.id === BRUTE_FORCE)).toBe(true)
    const byId = (a: any, b: any) => (a.id < b.id ? -1 : 1)
    const expected = stream
      .map((s) => ({ ...same(s), id: huntAlertId(started.id, BRUTE_FORCE, s.rule.version, s.id) }))
      .sort(byId)
    expect(found.map((a) => ({ ...same(a), id: a.id })).sort(byId)).toEqual(expected)
  }, 120_000)

  it('raises the same alerts for the correlation and its rule posted as YAML', async () => {
    const text = (file: string) => readFileSync(join(repoRoot, 'rules', 'builtin', file), 'utf8')
    const { started, ended } = await hunt({
      rules: [text('ssh_brute_force.yml'), text('ssh_authentication_failure.yml')],
    })
    expect(ended.state).toBe('done')
    const stream = await allAlerts(`/v1/alerts?origin=stream&rule_id=${BRUTE_FORCE}`)
    const found = await allAlerts(`/v1/hunts/${started.id}`)
    const key = (a: any) => `${a.rule.id} ${a.rule.version} ${a.entity.value} ${a.event_ids}`
    expect(found.map(key).sort()).toEqual(stream.map(key).sort())
  }, 120_000)

  it('hunts a rule a correlation references when it is asked for too', async () => {
    const { started, ended } = await hunt({ rule_ids: [BRUTE_FORCE, AUTH_FAILURE] })
    expect(ended.state).toBe('done')
    expect(started.rules.map((r: { id: string }) => r.id).sort()).toEqual(
      [AUTH_FAILURE, BRUTE_FORCE].sort(),
    )
    const found = await allAlerts(`/v1/hunts/${started.id}`)
    const failures = found.filter((a) => a.rule.id !== BRUTE_FORCE)
    expect(failures.length).toBeGreaterThan(100)
    expect(failures.every((a) => a.rule.kind === 'sigma')).toBe(true)
  }, 120_000)

  it('refuses a temporal correlation with the reason, and hunts nothing for it alone', async () => {
    const res = await palisade.request('POST', '/v1/hunts', {
      body: { rule_ids: [SUCCESS_AFTER_FAILURES], ...range },
    })
    expect(res.status).toBe(422)
    expect(res.body.error.code).toBe('PAL_HUNT_NOTHING_TO_RUN')
    expect(res.body.error.message).toMatch(/temporal_ordered is not compiled to SQL/)

    const { started } = await hunt({ rule_ids: [BRUTE_FORCE, SUCCESS_AFTER_FAILURES] })
    expect(started.rules.map((r: { id: string }) => r.id)).toEqual([BRUTE_FORCE])
    expect(started.refused).toEqual([
      {
        id: SUCCESS_AFTER_FAILURES,
        title: 'SSH Login Success After Repeated Failures',
        kind: 'correlation',
        reason: expect.stringMatching(/temporal_ordered is not compiled to SQL/),
      },
    ])
  }, 120_000)

  it('stops before the correlation query when cancelled after the slices', async () => {
    const documents = loadRules([join(repoRoot, 'rules', 'builtin')]).documents.filter(
      (d) => d.id === BRUTE_FORCE || d.id === AUTH_FAILURE,
    )
    const plan = planHunt(documents)
    expect(plan.correlations.map((c) => c.rule.id)).toEqual([BRUTE_FORCE])
    const huntId = '0190f0f0-0000-7000-8000-0000000000c1'
    const abort = new AbortController()
    const outcome = await runHunt({
      store: palisade.engine.store,
      huntId,
      plan,
      from: Date.parse(range.from),
      to: Date.parse(range.to),
      signal: abort.signal,
      onProgress: (p) => {
        if (p.slices.total > 0 && p.slices.done === p.slices.total) abort.abort()
      },
    })
    expect(outcome.state).toBe('cancelled')
    expect(outcome.progress.queries).toEqual({ done: 0, total: 1 })
    expect(await allAlerts(`/v1/alerts?hunt_id=${huntId}`)).toEqual([])
  }, 120_000)
})
