import { describe, expect, it } from 'vitest'

import { stateDroppedRule } from '../../detectors/sigma/state-dropped-alert.ts'
import { startTestEngine } from '../helpers/test-engine.ts'

const BRUTE_FORCE_RULE = 'dbc9f7ff-1f83-4fa8-bd48-a06e250c39a6'

/** A failed root password from `ip`, `second` seconds after 06:55 on 10 December. */
const failure = (second: number, ip: string) =>
  `Dec 10 06:${55 + Math.floor(second / 60)}:${String(second % 60).padStart(2, '0')} LabSZ ` +
  `sshd[24200]: Failed password for root from ${ip} port 38926 ssh2`

describe('a spray of source addresses against an engine with a small correlation limit', () => {
  it('alerts on the attacker, stores a dropped-state alert and shows it in metrics', async () => {
    const palisade = await startTestEngine({ sigma: { correlation: { maxGroups: 50 } } })
    try {
      // 400 sprayed addresses, one attempt each, and an attacker trying after every 5 of them.
      // Three built-in correlations group failures by address, so 50 keys are about 16 for
      // each: the attacker, touched every 5 new addresses, is never the least recent.
      const lines: string[] = []
      for (let i = 0; i < 400; i++) {
        lines.push(failure(Math.floor(i / 2), `10.9.${i >> 8}.${i & 255}`))
        if (i % 5 === 4) lines.push(failure(Math.floor(i / 2), '203.0.113.7'))
      }
      const res = await palisade.request('POST', '/v1/events?format=syslog&stream=spray', {
        body: lines.join('\n'),
        contentType: 'text/plain',
      })
      expect(res.status).toBe(202)
      expect(res.body.dead_lettered).toBe(0)

      const brute = await palisade.request('GET', `/v1/alerts?rule_id=${BRUTE_FORCE_RULE}`)
      // Its 80 failures within 200 s make eight sets of ten (windows slide, SLIDING.md).
      expect(brute.body.items.map((a: any) => a.entity.value)).toEqual(
        Array.from({ length: 8 }, () => '203.0.113.7'),
      )
      const dropped = await palisade.request('GET', `/v1/alerts?rule_id=${stateDroppedRule.id}`)
      expect(dropped.body.items.length).toBeGreaterThan(0)
      expect(dropped.body.items[0]).toMatchObject({
        rule: { kind: 'platform' },
        entity: { kind: 'correlation' },
      })

      const metrics = (await palisade.request('GET', '/metrics')).body as string
      const gauge = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(metrics)?.[1])
      expect(gauge('palisade_correlation_max_groups')).toBe(50)
      expect(gauge('palisade_correlation_groups')).toBe(50)
      expect(gauge('palisade_correlation_evicted_groups\\{state="open"\\}')).toBeGreaterThan(0)
    } finally {
      await palisade.close()
    }
  })
})
