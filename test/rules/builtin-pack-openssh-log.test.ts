import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { createDetector } from '../../detectors/detector.ts'
import { createCorrelator } from '../../detectors/sigma/correlation-engine.ts'
import { loadRules } from '../../detectors/sigma/load-rules.ts'
import { compileRuleSet } from '../../detectors/sigma/rule-set.ts'
import type { Alert } from '../../platform/alert-model.ts'
import type { PalisadeEvent } from '../../platform/event-model.ts'
import { createLogger } from '../../platform/logger.ts'
import {
  bySource,
  distinctUsers,
  opensshEvents,
  opensshLines,
  slidingSets,
  sshAttempts,
} from '../helpers/openssh-log.ts'
import type { SshAttempt } from '../helpers/openssh-log.ts'
import { repoRoot } from '../helpers/test-engine.ts'

/**
 * Issue 5's scenario: every built-in rule over the real OpenSSH log, run by the stream
 * detector, raises alerts for exactly the sources that meet its condition. What meets it is
 * derived here from the log's lines with a regular expression and SLIDING.md's definition
 * walked in plain code (test/helpers/openssh-log.ts), not from the engine.
 */

const builtin = join(repoRoot, 'rules', 'builtin')
const RULE = {
  authFailure: 'e4097b4e-7315-4ae2-81aa-e3533c7b3559',
  loginSuccess: 'd3cf1447-37ec-4c98-9d92-061f2c57a6ad',
  bruteForce: 'dbc9f7ff-1f83-4fa8-bd48-a06e250c39a6',
  failureBurst: '6492d0ee-a103-468f-9ea8-c0a9ca79db0f',
  spraying: '159b5bee-3bf3-4ab7-b34f-59955668c1a8',
  successAfterFailures: '53c8e5c5-3438-4202-8efd-06885b4999d2',
  adminAdded: '69b96798-5af0-4abb-82a7-e409a3c82038',
  logCleared: '9cd68daf-3366-406b-9936-eb79e07764de',
  newAdminThenCleared: '4a18c905-b93a-40fc-9abe-3d6fabe4ac2c',
} as const
const MINUTE = 60_000

const attempts = sshAttempts(opensshLines)
const failures = bySource(attempts.filter((a) => a.outcome === 'failure'))

/** The alerts the stream detector with the built-in pack raises over these lines. */
function detect(lines: readonly string[]): { alerts: Alert[]; events: PalisadeEvent[] } {
  const events = opensshEvents(lines)
  const detector = createDetector([builtin], createLogger('silent'), { idleMs: 0 })
  const alerts: Alert[] = []
  for (let i = 0; i < events.length; i += 500) {
    alerts.push(...detector.detect(events.slice(i, i + 500)))
  }
  alerts.push(...detector.flush(Date.now()))
  return { alerts, events }
}

/** Alerts per source address of one rule, sorted by address. */
function perSource(alerts: readonly Alert[], ruleId: string): [string, number][] {
  const counts = new Map<string, number>()
  for (const a of alerts) {
    if (a.rule.id === ruleId) counts.set(a.entity.value, (counts.get(a.entity.value) ?? 0) + 1)
  }
  return [...counts].sort(([a], [b]) => (a < b ? -1 : 1))
}

/** Per source address, how many alerts SLIDING.md's sets of its failures make. */
function expectedSets(
  timespanMs: number,
  threshold: number,
  measure?: (set: readonly SshAttempt[]) => number,
): [string, number][] {
  const out: [string, number][] = []
  for (const [ip, list] of failures) {
    const n = slidingSets(list, timespanMs, threshold, measure).length
    if (n > 0) out.push([ip, n])
  }
  return out.sort(([a], [b]) => (a < b ? -1 : 1))
}

/**
 * Sources the success-after-failures rule must name: a success no more than 15 minutes after
 * the latest burst (five failures within ten minutes, SLIDING.md) the source had before it,
 * each burst used by one success at most (a completed sequence starts again).
 */
function expectedSuccessAfterBursts(all: readonly SshAttempt[]): string[] {
  const out = new Set<string>()
  for (const [ip, list] of bySource(all)) {
    const bursts = slidingSets(
      list.filter((a) => a.outcome === 'failure'),
      10 * MINUTE,
      5,
    ).map((set) => set.at(-1)!)
    let burst: SshAttempt | undefined
    for (const a of list) {
      if (bursts.includes(a)) burst = a
      else if (a.outcome === 'success' && burst && a.at - burst.at < 15 * MINUTE) {
        out.add(ip)
        burst = undefined
      }
    }
  }
  return [...out].sort()
}

describe('the built-in rule pack on the real OpenSSH log', () => {
  const { alerts, events } = detect(opensshLines)
  const lineOf = new Map(events.map((e, i) => [e.id, i]))

  it('reads one event per line, in time order, and the log holds attacks to find', () => {
    expect(events).toHaveLength(opensshLines.length)
    expect(attempts.map((a) => a.at)).toEqual(attempts.map((a) => a.at).sort((a, b) => a - b))
    expect(attempts.filter((a) => a.outcome === 'failure').length).toBeGreaterThan(400)
  })

  it('matches SSH Authentication Failure on exactly the failed attempts', () => {
    const set = compileRuleSet(loadRules([builtin]).documents)
    const matched = events.flatMap((e, i) =>
      set.evaluate(e).some((r) => r.id === RULE.authFailure) ? [i] : [],
    )
    expect(matched).toEqual(attempts.filter((a) => a.outcome === 'failure').map((a) => a.line))
  })

  it('matches SSH Login Success on exactly the accepted logins', () => {
    const set = compileRuleSet(loadRules([builtin]).documents)
    const matched = events.flatMap((e, i) =>
      set.evaluate(e).some((r) => r.id === RULE.loginSuccess) ? [i] : [],
    )
    const accepted = attempts.filter((a) => a.outcome === 'success').map((a) => a.line)
    expect(accepted).toHaveLength(1)
    expect(matched).toEqual(accepted)
  })

  it('raises brute force for exactly the sources with 10 failures within 5 minutes', () => {
    const expected = expectedSets(5 * MINUTE, 10)
    expect(expected.map(([ip]) => ip)).toHaveLength(6)
    expect(perSource(alerts, RULE.bruteForce)).toEqual(expected)
  })

  it('raises the failure burst for exactly the sources with 5 failures within 10 minutes', () => {
    // The burst only feeds success-after-failures in the pack; alone, it alerts by itself.
    const docs = loadRules([builtin]).documents.filter(
      (d) => d.id === RULE.authFailure || d.id === RULE.failureBurst,
    )
    const set = compileRuleSet(docs)
    const correlator = createCorrelator(set)
    const burstAlerts = events.flatMap((e) => correlator.process(e, set.evaluate(e)))
    const expected = expectedSets(10 * MINUTE, 5)
    expect(expected.length).toBeGreaterThan(6)
    expect(perSource(burstAlerts, RULE.failureBurst)).toEqual(expected)
  })

  it('raises password spraying for exactly the sources trying 5 users within 10 minutes', () => {
    const expected = expectedSets(10 * MINUTE, 5, distinctUsers).map(([ip]) => ip)
    expect(expected.length).toBeGreaterThan(0)
    const spraying = alerts.filter((a) => a.rule.id === RULE.spraying)
    expect([...new Set(spraying.map((a) => a.entity.value))].sort()).toEqual(expected)
    // Each alert's events are failures of its source for five distinct users, in 10 minutes.
    for (const a of spraying) {
      const tried = a.event_ids.map((id) => attempts.find((t) => t.line === lineOf.get(id))!)
      expect(new Set(tried.map((t) => t.ip))).toEqual(new Set([a.entity.value]))
      expect(distinctUsers(tried)).toBeGreaterThanOrEqual(5)
      const times = tried.map((t) => t.at)
      expect(Math.max(...times) - Math.min(...times)).toBeLessThan(10 * MINUTE)
    }
  })

  it('raises success-after-failures for exactly the sources whose success follows a burst', () => {
    // The log's one success comes from an address that never failed: nothing to raise.
    expect(expectedSuccessAfterBursts(attempts)).toEqual([])
    expect(perSource(alerts, RULE.successAfterFailures)).toEqual([])
  })

  it('raises success-after-failures on the log given a success a minute after each attack', () => {
    // One accepted login per failing source, a minute after its last failure, placed among
    // the log's lines by time (after the lines of the same second).
    const timeOf = (text: string) => Date.parse(`${text.slice(0, 15)} 2025 UTC`)
    const added = [...failures].map(([ip, list]) => {
      const at = new Date(list.at(-1)!.at + MINUTE)
      const stamp = `Dec ${at.getUTCDate()} ${at.toISOString().slice(11, 19)}`
      return `${stamp} LabSZ sshd[1]: Accepted password for x from ${ip} port 1 ssh2`
    })
    const lines = [
      ...opensshLines.map((text) => ({ text, at: timeOf(text), after: 0 })),
      ...added.map((text) => ({ text, at: timeOf(text), after: 1 })),
    ]
      .sort((x, y) => x.at - y.at || x.after - y.after)
      .map((l) => l.text)

    const expected = expectedSuccessAfterBursts(sshAttempts(lines))
    expect(expected.length).toBeGreaterThan(0)
    const fired = detect(lines).alerts
    expect(perSource(fired, RULE.successAfterFailures).map(([ip]) => ip)).toEqual(expected)
  })

  it('raises none of the Windows rules on a log with no Windows event', () => {
    const windows: string[] = [RULE.adminAdded, RULE.logCleared, RULE.newAdminThenCleared]
    expect(alerts.filter((a) => windows.includes(a.rule.id))).toEqual([])
  })

  it('raises no alert of any other rule', () => {
    const known = new Set<string>([RULE.bruteForce, RULE.spraying, RULE.successAfterFailures])
    expect(alerts.filter((a) => !known.has(a.rule.id))).toEqual([])
  })
})
