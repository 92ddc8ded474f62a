import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, describe, expect, it } from 'vitest'

import { killHard, startPalisadeProcess } from '../helpers/palisade-process.ts'
import type { PalisadeProcess } from '../helpers/palisade-process.ts'
import { waitFor } from '../helpers/wait-for.ts'

/** The built-in "SSH Brute Force From One Source": ten failures from one address in 5m. */
const BRUTE_FORCE_RULE = 'dbc9f7ff-1f83-4fa8-bd48-a06e250c39a6'
const SOURCE = '198.51.100.23'

const dirs: string[] = []
const running = new Set<PalisadeProcess>()

afterAll(async () => {
  for (const palisade of running) await killHard(palisade)
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

async function start(dataDir: string, env: Record<string, string>): Promise<PalisadeProcess> {
  const palisade = await startPalisadeProcess(dataDir, env)
  running.add(palisade)
  return palisade
}

async function kill(palisade: PalisadeProcess): Promise<void> {
  await killHard(palisade)
  expect(palisade.child.signalCode).toBe('SIGKILL')
  running.delete(palisade)
}

/**
 * Failed SSH logins from one address, every one in the same second (now): whatever a window
 * is (aligned or sliding), ten of them meet the rule's threshold within its five minutes.
 * Numbered so each line, and so each event id, is its own.
 */
const at = new Date(Math.floor(Date.now() / 1000) * 1000)
const stamp = `${at.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' })} ${String(
  at.getUTCDate(),
).padStart(2, ' ')} ${at.toISOString().slice(11, 19)}`
const failures = (from: number, count: number) =>
  Array.from(
    { length: count },
    (_, i) =>
      `${stamp} bastion sshd[${5000 + from + i}]: Failed password for root from ${SOURCE} ` +
      `port ${40000 + from + i} ssh2`,
  ).join('\n')

async function send(palisade: PalisadeProcess, from: number, count: number): Promise<void> {
  const res = await fetch(`${palisade.url}/v1/events?format=syslog&stream=bastion-${from}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${palisade.token}`, 'content-type': 'text/plain' },
    body: failures(from, count),
  })
  expect(res.status).toBe(202)
  expect(((await res.json()) as { stored: number }).stored).toBe(count)
}

async function bruteForceAlerts(palisade: PalisadeProcess) {
  const res = await fetch(`${palisade.url}/v1/alerts?rule_id=${BRUTE_FORCE_RULE}&limit=100`, {
    headers: { authorization: `Bearer ${palisade.token}` },
  })
  expect(res.status).toBe(200)
  const page = (await res.json()) as {
    items: { id: string; entity: { value: string }; event_ids: string[] }[]
  }
  return page.items
}

async function stats(palisade: PalisadeProcess): Promise<{ events: number; alerts: number }> {
  const res = await fetch(`${palisade.url}/v1/stats`, {
    headers: { authorization: `Bearer ${palisade.token}` },
  })
  return (await res.json()) as { events: number; alerts: number }
}

/** A metric's value from `/metrics` (0 when it has no sample yet). */
async function metric(palisade: PalisadeProcess, sample: string): Promise<number> {
  const text = await (await fetch(`${palisade.url}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `))
  return line ? Number(line.slice(sample.length + 1)) : 0
}

const written = 'palisade_correlation_checkpoints_total{outcome="written"}'
const replayed = 'palisade_correlation_replayed_events'

async function checkpointsWritten(palisade: PalisadeProcess, count: number): Promise<void> {
  await waitFor(
    () => metric(palisade, written),
    (n) => n >= count,
    { what: `${count} correlation checkpoint(s) written` },
  )
}

describe('a SIGKILL in the middle of a correlation window', () => {
  it('keeps the count of a window checkpointed before the kill, and alerts once', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'palisade-corr-kill-'))
    dirs.push(dataDir)
    const env = { PALISADE_CORRELATION_CHECKPOINT_BATCHES: '1' }

    const first = await start(dataDir, env)
    await send(first, 0, 6)
    await checkpointsWritten(first, 1)
    await kill(first)

    const second = await start(dataDir, env)
    expect(await metric(second, replayed)).toBe(0)
    expect(await bruteForceAlerts(second)).toEqual([])
    await send(second, 6, 4)
    const alerts = await bruteForceAlerts(second)
    expect(alerts).toHaveLength(1)
    expect(alerts[0]!.entity.value).toBe(SOURCE)
    expect(alerts[0]!.event_ids).toHaveLength(10)
    await kill(second)
  })

  describe('with events stored after the last checkpoint', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'palisade-corr-replay-'))
    dirs.push(dataDir)
    // A checkpoint every third batch, and none by time during the test.
    const env = {
      PALISADE_CORRELATION_CHECKPOINT_BATCHES: '3',
      PALISADE_CORRELATION_CHECKPOINT_SECONDS: '3600',
    }
    let alertId = ''

    it('replays them once at restart: the window neither loses nor doubles them', async () => {
      const first = await start(dataDir, env)
      for (const from of [0, 2, 4]) await send(first, from, 2)
      await checkpointsWritten(first, 1)
      await send(first, 6, 2) // stored, answered 202, after the checkpoint
      await kill(first)

      const second = await start(dataDir, env)
      expect(await metric(second, replayed)).toBe(2)
      // Nine: counted twice, the replayed two (or the six before them) would have alerted.
      await send(second, 8, 1)
      expect(await bruteForceAlerts(second)).toEqual([])
      await send(second, 9, 1)
      const alerts = await bruteForceAlerts(second)
      expect(alerts).toHaveLength(1)
      expect(alerts[0]!.event_ids).toHaveLength(10)
      alertId = alerts[0]!.id
      await kill(second)
    })

    it('raises nothing twice when the replay after a restart meets the threshold again', async () => {
      // Killed before any checkpoint after the alert: this start replays the four events after
      // the last one, which fire the window again; the alert is stored once.
      const third = await start(dataDir, env)
      expect(await metric(third, replayed)).toBe(4)
      const alerts = await bruteForceAlerts(third)
      expect(alerts.map((a) => a.id)).toEqual([alertId])
      expect(await stats(third)).toMatchObject({ events: 10, alerts: 1 })

      // A clean stop checkpoints everything: the next start has nothing to replay.
      const exited = once(third.child, 'exit')
      third.child.kill('SIGTERM')
      await exited
      running.delete(third)
      const fourth = await start(dataDir, env)
      expect(await metric(fourth, replayed)).toBe(0)
      expect(await stats(fourth)).toMatchObject({ events: 10, alerts: 1 })
      await kill(fourth)
    })
  })
})
