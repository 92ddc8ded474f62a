import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, describe, expect, it } from 'vitest'

import { EMBEDDED_STREAM } from '../../detectors/correlation-checkpointer.ts'
import { openStateStore } from '../../platform/state/state-store.ts'
import {
  readStreamCheckpoint,
  writeStreamCheckpoint,
} from '../../platform/state/stream-checkpoints.ts'
import { startTestEngine } from '../helpers/test-engine.ts'
import type { TestEngine } from '../helpers/test-engine.ts'

/** The built-in "SSH Brute Force From One Source": ten failures from one address in 5m. */
const BRUTE_FORCE_RULE = 'dbc9f7ff-1f83-4fa8-bd48-a06e250c39a6'
const dataDir = mkdtempSync(join(tmpdir(), 'palisade-resume-'))
let palisade: TestEngine | undefined

afterAll(async () => {
  await palisade?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

/** Failed SSH logins from one address, all in the same second (now), each line its own. */
const at = new Date(Math.floor(Date.now() / 1000) * 1000)
const stamp = `${at.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' })} ${String(
  at.getUTCDate(),
).padStart(2, ' ')} ${at.toISOString().slice(11, 19)}`

async function send(from: number, count: number): Promise<void> {
  const body = Array.from(
    { length: count },
    (_, i) =>
      `${stamp} bastion sshd[${6000 + from + i}]: Failed password for root from ` +
      `203.0.113.61 port ${41000 + from + i} ssh2`,
  ).join('\n')
  const res = await palisade!.request('POST', `/v1/events?format=syslog&stream=s${from}`, {
    body,
    contentType: 'text/plain',
  })
  expect(res.status).toBe(202)
}

async function bruteForceAlerts(): Promise<number> {
  const res = await palisade!.request('GET', `/v1/alerts?rule_id=${BRUTE_FORCE_RULE}`)
  return res.body.items.length
}

async function replayed(): Promise<number> {
  const text: string = (await palisade!.request('GET', '/metrics')).body
  return Number(/^palisade_correlation_replayed_events (\d+)$/m.exec(text)![1])
}

describe('resuming correlation state at start', () => {
  it('ignores a checkpoint of another state version, and replays what came after it', async () => {
    palisade = await startTestEngine({ dataDir })
    await send(0, 6)
    await palisade.close() // a clean stop checkpoints the six

    const state = await openStateStore({ dataDir })
    try {
      const checkpoint = (await readStreamCheckpoint(state.db, EMBEDDED_STREAM))!
      expect(checkpoint.position).toBe('6')
      const saved = JSON.parse(checkpoint.state)
      saved.correlator.version = 99
      // As if written by a later Palisade, three events earlier.
      await writeStreamCheckpoint(state.db, {
        ...checkpoint,
        position: '3',
        state: JSON.stringify(saved),
      })
    } finally {
      await state.close()
    }

    palisade = await startTestEngine({ dataDir })
    expect(await replayed()).toBe(3)
    // Kept, the ignored state would hold six and the replay three more, so four more would
    // alert; ignored, the window holds the three replayed: four do not, three after them do.
    await send(6, 4)
    expect(await bruteForceAlerts()).toBe(0)
    await send(10, 3)
    expect(await bruteForceAlerts()).toBe(1)
  })
})
