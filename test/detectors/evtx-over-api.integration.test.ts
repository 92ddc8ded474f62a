import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { regress } from '../../detectors/sigma/regress.ts'
import type { RegressReport } from '../../detectors/sigma/regress.ts'
import { corpora, repoRoot, startTestEngine } from '../helpers/test-engine.ts'
import type { TestEngine } from '../helpers/test-engine.ts'

const sigma = join(corpora, 'sigma')
const ruleDirs = [
  'rules',
  'rules-emerging-threats',
  'rules-threat-hunting',
  'rules-placeholder',
].map((d) => join(sigma, d))

let palisade: TestEngine
let offline: RegressReport
/** Event ids the API stored for each regression file. */
const eventsOfFile = new Map<string, string[]>()
/** Rule ids the API alerted on, for each event id. */
const rulesOfEvent = new Map<string, Set<string>>()

beforeAll(async () => {
  offline = regress(join(sigma, 'regression_data'), ruleDirs)
  palisade = await startTestEngine({ rules: ruleDirs })

  for (const path of new Set(offline.cases.map((c) => c.path))) {
    const body = readFileSync(join(process.cwd(), path), 'utf8')
    const res = await palisade.request('POST', '/v1/events?format=evtx-json', { body })
    expect(res.status, path).toBe(202)
    expect(res.body.dead_lettered, path).toBe(0)
    eventsOfFile.set(
      path,
      res.body.results.map((r: { id: string }) => r.id),
    )
  }

  let cursor: string | null = null
  do {
    const page: { status: number; body: any } = await palisade.request(
      'GET',
      `/v1/alerts?limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
    )
    for (const alert of page.body.items) {
      for (const id of alert.event_ids) {
        const rules = rulesOfEvent.get(id) ?? new Set<string>()
        rules.add(alert.rule.id)
        rulesOfEvent.set(id, rules)
      }
    }
    cursor = page.body.next_cursor
  } while (cursor)
}, 300_000)

afterAll(async () => {
  await palisade?.close()
})

describe('SigmaHQ regression events sent to a running Palisade', () => {
  it('reads every regression file from the repository root', () => {
    // regress() reports paths relative to the working directory, which vitest sets to the root.
    expect(process.cwd()).toBe(repoRoot)
    expect(eventsOfFile.size).toBeGreaterThan(130)
  })

  it('detects at least 80% of the expected rules through POST /v1/events', () => {
    const detected = offline.cases.filter((c) =>
      (eventsOfFile.get(c.path) ?? []).some((id) => rulesOfEvent.get(id)?.has(c.rule_id)),
    )
    expect(detected.length / offline.expected).toBeGreaterThanOrEqual(0.8)
    expect(detected.length).toBe(offline.detected)
  })

  it('raises the same alerts over the API as the offline regression run, file by file', () => {
    for (const c of offline.cases) {
      const offlineRules = new Set([...(c.fired ? [c.rule_id] : []), ...c.also_fired])
      const apiRules = new Set<string>()
      for (const id of eventsOfFile.get(c.path) ?? []) {
        for (const rule of rulesOfEvent.get(id) ?? []) apiRules.add(rule)
      }
      expect([...apiRules].sort(), c.path).toEqual([...offlineRules].sort())
    }
  })
})
