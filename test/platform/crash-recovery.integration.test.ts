import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

import { afterAll, describe, expect, it } from 'vitest'

import { killHard, startPalisadeProcess } from '../helpers/palisade-process.ts'
import type { PalisadeProcess } from '../helpers/palisade-process.ts'
import { repoRoot } from '../helpers/test-engine.ts'

const TOTAL = 6000
const BATCH = 200
const dataDir = mkdtempSync(join(tmpdir(), 'palisade-crash-'))
let running: PalisadeProcess | undefined

afterAll(async () => {
  if (running) await killHard(running)
  rmSync(dataDir, { recursive: true, force: true })
})

/** Events without ids: each gets a content-derived id, so a resent one keeps its id. */
const lines = Array.from({ length: TOTAL }, (_, i) =>
  JSON.stringify({
    '@timestamp': new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString(),
    event: { kind: 'event', dataset: 'crash.test', action: 'write' },
    user: { name: `user${i % 50}` },
    message: `record ${i}`,
  }),
)
const batches = Array.from({ length: TOTAL / BATCH }, (_, b) =>
  lines.slice(b * BATCH, (b + 1) * BATCH).join('\n'),
)

async function post(palisade: PalisadeProcess, body: string) {
  const res = await fetch(`${palisade.url}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${palisade.token}`, 'content-type': 'application/x-ndjson' },
    body,
  })
  return { status: res.status, body: (await res.json()) as { results: { id: string }[] } }
}

async function allEventIds(palisade: PalisadeProcess): Promise<string[]> {
  const ids: string[] = []
  let cursor: string | null = null
  do {
    const url: string = `${palisade.url}/v1/events?q=crash.test&limit=1000${cursor ? `&cursor=${cursor}` : ''}`
    const res = await fetch(url, { headers: { authorization: `Bearer ${palisade.token}` } })
    const page = (await res.json()) as { items: { id: string }[]; next_cursor: string | null }
    ids.push(...page.items.map((e) => e.id))
    cursor = page.next_cursor
  } while (cursor)
  return ids
}

const exampleLog = readFileSync(join(repoRoot, 'examples', 'ssh-brute-force.log'), 'utf8')

async function postSyslog(palisade: PalisadeProcess, body: string, stream: string, from = 0) {
  const query = `format=syslog&stream=${stream}&position=${from}`
  const res = await fetch(`${palisade.url}/v1/events?${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${palisade.token}`, 'content-type': 'text/plain' },
    body,
  })
  expect(res.status).toBe(202)
}

async function storedAlerts(palisade: PalisadeProcess): Promise<number> {
  const res = await fetch(`${palisade.url}/v1/stats`, {
    headers: { authorization: `Bearer ${palisade.token}` },
  })
  return ((await res.json()) as { alerts: number }).alerts
}

describe('a SIGKILL in the middle of a replay', () => {
  const acknowledged = new Set<string>()
  let alertsBeforeKill = 0

  it('loses no record that was answered 202', async () => {
    running = await startPalisadeProcess(dataDir)
    await postSyslog(running, exampleLog, 'before-kill')
    alertsBeforeKill = await storedAlerts(running)
    const target = running
    let next = 0
    // Two senders, like a replay with concurrent clients; the kill lands while requests fly.
    const sender = async () => {
      while (next < batches.length) {
        const body = batches[next++]!
        try {
          const res = await post(target, body)
          if (res.status === 202) for (const r of res.body.results) acknowledged.add(r.id)
        } catch {
          return // the process is gone: unanswered batches are the sender's to resend
        }
        if (acknowledged.size >= TOTAL / 3 && target.child.exitCode === null) {
          await killHard(target)
        }
      }
    }
    await Promise.all([sender(), sender()])
    expect(target.child.signalCode).toBe('SIGKILL')
    expect(acknowledged.size).toBeGreaterThanOrEqual(TOTAL / 3)
    expect(acknowledged.size).toBeLessThan(TOTAL)

    running = await startPalisadeProcess(dataDir)
    const stored = new Set(await allEventIds(running))
    const lost = [...acknowledged].filter((id) => !stored.has(id))
    expect(lost).toEqual([])
  })

  it('raises no second copy of an alert when the same attack arrives again after the restart', async () => {
    expect(alertsBeforeKill).toBe(3)
    // Resent as a sender redelivers it, the same stream from the same positions, here in
    // batches of a few lines: the events keep their ids and the same sets of them complete,
    // so the alerts keep theirs. (Windows slide, SLIDING.md, and an alert's id derives from
    // the event that completed its set: reversed, the failures that arrive first are the
    // last ones and make other sets, so a reversed replay no longer makes the same alerts as
    // it did with tumbling windows, whose ids came from the window's start.)
    const log = exampleLog.trimEnd().split('\n')
    for (let i = 0; i < log.length; i += 4) {
      await postSyslog(running!, log.slice(i, i + 4).join('\n'), 'before-kill', i)
    }
    expect(await storedAlerts(running!)).toBe(alertsBeforeKill)
  })

  it('creates no visible duplicate when every batch is resent with palisade replay', async () => {
    const file = join(dataDir, 'events.ndjson')
    writeFileSync(file, `${lines.join('\n')}\n`)
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        join(repoRoot, 'bin', 'palisade.js'),
        'replay',
        file,
        '--url',
        running!.url,
        '--token',
        running!.token,
        '--json',
      ],
      { cwd: repoRoot },
    )
    const totals = JSON.parse(stdout)
    expect(totals).toMatchObject({ records: TOTAL, dead_lettered: 0 })
    expect(totals.duplicates).toBeGreaterThanOrEqual(acknowledged.size)
    expect(totals.stored + totals.duplicates).toBe(TOTAL)

    const ids = await allEventIds(running!)
    expect(ids).toHaveLength(TOTAL)
    expect(new Set(ids).size).toBe(TOTAL)
    const present = new Set(ids)
    expect([...acknowledged].filter((id) => !present.has(id))).toEqual([])
  })
})
