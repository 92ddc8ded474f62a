import { createSocket } from 'node:dgram'
import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

import { describe, expect, it } from 'vitest'

import { bySource, opensshLines, slidingSets, sshAttempts } from '../helpers/openssh-log.ts'
import { startTestEngine } from '../helpers/test-engine.ts'
import type { TestEngine } from '../helpers/test-engine.ts'
import { waitFor } from '../helpers/wait-for.ts'

const BRUTE_FORCE_RULE = 'dbc9f7ff-1f83-4fa8-bd48-a06e250c39a6'
const lines = opensshLines

/**
 * The attackers, derived from the log with nothing but a regular expression: addresses with
 * ten or more failed password attempts inside some five-minute span (SLIDING.md's windows,
 * walked in test/helpers/openssh-log.ts). On this log that is six addresses, from 17 to 146
 * attempts in their busiest five minutes; the next one has 7.
 */
function attackersInLog(): string[] {
  const failures = sshAttempts(lines).filter((a) => a.outcome === 'failure')
  const attackers: string[] = []
  for (const [ip, attempts] of bySource(failures)) {
    if (slidingSets(attempts, 5 * 60_000, 10).length > 0) attackers.push(ip)
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
