import { describe, expect, it } from 'vitest'

import { normaliseRecord } from '../../../ingest/normalise.ts'
import { parseSyslog } from '../../../ingest/parsers/syslog.ts'
import { readCorpus } from '../corpus.ts'

type Json = Record<string, any>

describe('parseSyslog on the loghub OpenSSH log', () => {
  const body = readCorpus('logs/OpenSSH_2k.log')
  const ctx = {
    stream: 'OpenSSH_2k.log',
    receivedAt: new Date('2026-01-05T00:00:00Z'),
    timeZone: 'UTC',
  }
  const records = parseSyslog(body, ctx)
  const events = records.map((r) => r.event as Json)

  it('parses all 2,000 lines, dated December 2025', () => {
    expect(records.filter((r) => r.error)).toEqual([])
    expect(records).toHaveLength(2000)
    expect(events[0]!['@timestamp']).toBe('2025-12-10T06:55:46.000Z')
    expect(events.every((e) => e['event'].dataset === 'sshd')).toBe(true)
  })

  it('gives every line a valid normalised event', () => {
    expect(records.map((r) => normaliseRecord(r, ctx)).filter((r) => !r.ok)).toEqual([])
  })

  it('counts lines per action', () => {
    const counts: Record<string, number> = {}
    for (const e of events) {
      const action = e['event'].action ?? '(none)'
      counts[action] = (counts[action] ?? 0) + 1
    }
    expect(counts).toEqual({
      ssh_login: 525,
      auth_failure: 494,
      disconnect: 468,
      '(none)': 256,
      invalid_user: 113,
      reverse_mapping_failed: 85,
      connection_closed: 34,
      auth_failure_summary: 10,
      no_identification: 10,
      max_auth_attempts_exceeded: 3,
      session_opened: 1,
      session_closed: 1,
    })
  })

  it('reads every "Failed password" line as a failure with a source ip', () => {
    const failed = events.filter((e) => e['event'].original.includes('Failed password'))
    expect(failed).toHaveLength(520)
    for (const e of failed) {
      expect(e['event']).toMatchObject({ action: 'ssh_login', outcome: 'failure' })
      expect(e['source'].ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/)
    }
  })

  it('counts failed attempts per source, a repeated line standing for its count', () => {
    const perIp = new Map<string, number>()
    for (const e of events) {
      if (e['event'].action !== 'ssh_login' || e['event'].outcome !== 'failure') continue
      const n = e['log'].syslog.repeat_count ?? 1
      perIp.set(e['source'].ip, (perIp.get(e['source'].ip) ?? 0) + n)
    }
    const top = [...perIp].sort((a, b) => b[1] - a[1]).slice(0, 6)
    expect(top).toEqual([
      ['183.62.140.253', 286],
      ['187.141.143.180', 80],
      ['103.99.0.122', 46],
      ['112.95.230.3', 26],
      ['5.188.10.180', 20],
      ['185.190.58.151', 18],
    ])
    expect([...perIp.values()].reduce((a, b) => a + b)).toBe(532)
  })

  it('finds the one accepted login', () => {
    const accepted = events.filter((e) => e['event'].outcome === 'success')
    expect(accepted).toHaveLength(1)
    expect(accepted[0]).toMatchObject({ user: { name: 'fztu' }, source: { ip: '119.137.62.142' } })
  })
})
