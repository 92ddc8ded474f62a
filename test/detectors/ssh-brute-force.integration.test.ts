import { createSocket } from 'node:dgram'
import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

import { describe, expect, it } from 'vitest'

import { corpora, startTestEngine } from '../helpers/test-engine.ts'
import type { TestEngine } from '../helpers/test-engine.ts'
import { waitFor } from '../helpers/wait-for.ts'

const BRUTE_FORCE_RULE = 'dbc9f7ff-1f83-4fa8-bd48-a06e250c39a6'
const log = readFileSync(join(corpora, 'logs', 'OpenSSH_2k.log'), 'utf8')
const lines = log.split('\n').filter((l) => l !== '')

/**
 * The attackers, derived from the log with nothing but a regular expression: addresses with
 * ten or more failed password attempts inside some five-minute span (a sliding window, so the
 * expectation does not borrow the rule's fixed, clock-aligned windows). On this log that is six
 * addresses, from 17 to 146 attempts in their busiest five minutes; the next one has 7.
 */
function attackersInLog(): string[] {
  const attempts = new Map<string, number[]>()
  const failed =
    /^(\w{3} +\d+ [\d:]+) \S+ sshd\[\d+\]: (?:message repeated \d+ times: \[ )?Failed \S+ for (?:invalid user )?.*? from (\S+) port/
  for (const line of lines) {
    const match = failed.exec(line)
    if (!match) continue
    const at = Date.parse(`${match[1]} 2025 UTC`)
    attempts.set(match[2]!, [...(attempts.get(match[2]!) ?? []), at])
  }
  const attackers: string[] = []
  for (const [ip, times] of attempts) {
    times.sort((a, b) => a - b)
    let busiest = 0
    for (let i = 0, j = 0; i < times.length; i++) {
      while (times[i]! - times[j]! >= 5 * 60_000) j++
      busiest = Math.max(busiest, i - j + 1)
    }
    if (busiest >= 10) attackers.push(ip)
  }
  return attackers.sort()
}

async function bruteForceSources(palisade: TestEngine): Promise<string[]> {
  const res = await palisade.request('GET', `/v1/alerts?rule_id=${BRUTE_FORCE_RULE}&limit=1000`)
  expect(res.status).toBe(200)
  const sources = res.body.items.map((a: { entity: { value: string } }) => a.entity.value)
  return [...new Set<string>(sources)].sort()
}

async function storedEvents(palisade: TestEngine): Promise<number> {
  return (await palisade.request('GET', '/v1/stats')).body.events
}

describe('SSH brute force on the real OpenSSH log', () => {
  const expected = attackersInLog()

  it('finds six attackers in the log by itself', () => {
    expect(expected).toHaveLength(6)
  })

  it('raises brute-force alerts for exactly those sources when replayed over HTTP', async () => {
    const palisade = await startTestEngine()
    try {
      for (let i = 0; i < lines.length; i += 500) {
        const res = await palisade.request(
          'POST',
          `/v1/events?format=syslog&stream=openssh&position=${i}`,
          { body: lines.slice(i, i + 500).join('\n'), contentType: 'text/plain' },
        )
        expect(res.status).toBe(202)
        expect(res.body.dead_lettered).toBe(0)
      }
      expect(await storedEvents(palisade)).toBe(lines.length)
      expect(await bruteForceSources(palisade)).toEqual(expected)
    } finally {
      await palisade.close()
    }
  })

  it('raises the same alerts when the log arrives over the syslog TCP listener', async () => {
    const palisade = await startTestEngine()
    try {
      const socket = connect(palisade.engine.syslog.tcpPort, '127.0.0.1')
      await new Promise<void>((resolve) => socket.once('connect', resolve))
      socket.end(`${lines.join('\n')}\n`)
      await waitFor(
        () => storedEvents(palisade),
        (n) => n === lines.length,
        {
          what: 'every TCP line stored',
        },
      )
      await palisade.engine.syslog.flush()
      expect(await bruteForceSources(palisade)).toEqual(expected)
    } finally {
      await palisade.close()
    }
  })

  it('raises the same alerts when the log arrives as syslog UDP datagrams', async () => {
    const palisade = await startTestEngine()
    const udp = createSocket('udp4')
    try {
      for (let i = 0; i < lines.length; i++) {
        udp.send(lines[i]!, palisade.engine.syslog.udpPort, '127.0.0.1')
        // Datagrams have no flow control: pace them so the loopback buffer never overflows.
        if (i % 50 === 49) await sleep(5)
      }
      await waitFor(
        () => storedEvents(palisade),
        (n) => n === lines.length,
        {
          what: 'every UDP datagram stored',
        },
      )
      await palisade.engine.syslog.flush()
      expect(await bruteForceSources(palisade)).toEqual(expected)
    } finally {
      udp.close()
      await palisade.close()
    }
  })
})
