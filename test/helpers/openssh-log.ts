import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import { normaliseRecord } from '../../ingest/normalise.ts'
import type { ParseContext } from '../../ingest/parsed-record.ts'
import { parseSyslog } from '../../ingest/parsers/syslog.ts'
import type { PalisadeEvent } from '../../platform/event-model.ts'
import { corpora } from './test-engine.ts'

/**
 * The real OpenSSH log (../shared/corpora/logs/OpenSSH_2k.log, read in place), and what a test
 * can know of it without Palisade's parser: the login attempts, read with one regular
 * expression, and the sets SLIDING.md's definition makes of them, walked in plain code. The
 * expectations of the scenario tests come from here, so they borrow nothing from the engine.
 */

export const opensshLines: readonly string[] = readFileSync(
  join(corpora, 'logs', 'OpenSSH_2k.log'),
  'utf8',
)
  .split('\n')
  .filter((l) => l !== '')

/** One login attempt as the log has it: a failed or an accepted password or key. */
export interface SshAttempt {
  /** Index of its line in the log. */
  line: number
  /** Its time, in a year of our choosing (the log's dates have none): only gaps matter. */
  at: number
  ip: string
  user: string
  outcome: 'failure' | 'success'
}

// sshd's own words; rsyslog's "message repeated N times: [ ... ]" is one line, one attempt.
const ATTEMPT =
  /^(\w{3} +\d+ [\d:]+) \S+ sshd\[\d+\]: (?:message repeated \d+ times: \[ )?(Failed|Accepted) \S+ for (?:invalid user )?(.*?) from (\S+) port/

/** Every failed and accepted login attempt in `lines`, in their order. */
export function sshAttempts(lines: readonly string[]): SshAttempt[] {
  const attempts: SshAttempt[] = []
  lines.forEach((text, line) => {
    const m = ATTEMPT.exec(text)
    if (!m) return
    attempts.push({
      line,
      at: Date.parse(`${m[1]} 2025 UTC`),
      ip: m[4]!,
      user: m[3]!,
      outcome: m[2] === 'Accepted' ? 'success' : 'failure',
    })
  })
  return attempts
}

/** Attempts by source address, each list in the log's order. */
export function bySource(attempts: readonly SshAttempt[]): Map<string, SshAttempt[]> {
  const out = new Map<string, SshAttempt[]>()
  for (const a of attempts) out.set(a.ip, [...(out.get(a.ip) ?? []), a])
  return out
}

/**
 * The alerts SLIDING.md section A raises over one group's attempts (in time order): at each
 * attempt k, the attempts up to k in no alert yet and less than `timespanMs` older make a
 * set; when `measure` of it reaches `threshold`, that is an alert at k and its attempts are
 * taken. Returns each alert's attempts.
 */
export function slidingSets(
  attempts: readonly SshAttempt[],
  timespanMs: number,
  threshold: number,
  measure: (set: readonly SshAttempt[]) => number = (set) => set.length,
): SshAttempt[][] {
  const taken = new Set<SshAttempt>()
  const alerts: SshAttempt[][] = []
  attempts.forEach((k, i) => {
    const set = attempts.slice(0, i + 1).filter((j) => !taken.has(j) && k.at - timespanMs < j.at)
    if (measure(set) < threshold) return
    for (const j of set) taken.add(j)
    alerts.push(set)
  })
  return alerts
}

/** How many distinct user names a set of attempts tried. */
export const distinctUsers = (set: readonly SshAttempt[]): number =>
  new Set(set.map((a) => a.user)).size

/**
 * The log's lines as ingest makes events of them (syslog parser, then normalisation), one
 * event per line, in order.
 */
export function opensshEvents(
  lines: readonly string[],
  stream = 'openssh-scenario',
): PalisadeEvent[] {
  const ctx: ParseContext = {
    stream,
    // The log's dates carry no year: this puts them in December 2024, well in the past.
    receivedAt: new Date('2025-01-05T00:00:00Z'),
    timeZone: 'UTC',
  }
  return parseSyslog(lines.join('\n'), ctx).map((record) => {
    if (record.error) throw new Error(`line ${record.index + 1}: ${record.error.message}`)
    const result = normaliseRecord(record, ctx)
    if (!result.ok) throw new Error(`line ${record.index + 1}: ${result.reason.message}`)
    return result.event
  })
}
