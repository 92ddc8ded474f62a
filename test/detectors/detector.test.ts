import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { pino } from 'pino'
import { describe, expect, it } from 'vitest'

import { createDetector } from '../../detectors/detector.ts'
import type { PalisadeEvent } from '../../platform/event-model.ts'
import { createLogger } from '../../platform/logger.ts'
import { derivedId } from '../../platform/event-id.ts'
import { repoRoot } from '../helpers/test-engine.ts'

const builtin = join(repoRoot, 'rules', 'builtin')
const BRUTE_FORCE = 'dbc9f7ff-1f83-4fa8-bd48-a06e250c39a6'

/** A failed SSH password attempt from `ip`, `second` seconds into a 2025 minute. */
function failure(
  second: number,
  ip = '198.51.100.9',
  at = Date.UTC(2025, 11, 10, 7, 0),
): PalisadeEvent {
  return {
    id: derivedId('test', `failure-${ip}-${at}-${second}`),
    '@timestamp': new Date(at + second * 1000).toISOString(),
    event: {
      dataset: 'sshd',
      category: ['authentication'],
      action: 'ssh_login',
      outcome: 'failure',
    },
    source: { ip },
    user: { name: 'root' },
    log: { syslog: { appname: 'sshd' } },
  }
}

const tenFailures = (ip: string, at: number) =>
  [0, 5, 10, 15, 20, 25, 30, 35, 40, 45].map((second) => failure(second, ip, at))

describe('the stream detector', () => {
  it('still alerts on an older log replayed after a newer one, for other sources', () => {
    const detector = createDetector([builtin], createLogger('silent'))
    const newer = detector.detect(tenFailures('203.0.113.1', Date.UTC(2026, 10, 30, 9, 0)))
    const older = detector.detect(tenFailures('198.51.100.20', Date.UTC(2025, 11, 10, 7, 0)))
    expect(newer.filter((a) => a.rule.id === BRUTE_FORCE)).toHaveLength(1)
    expect(older.filter((a) => a.rule.id === BRUTE_FORCE)).toHaveLength(1)
  })

  it('does not let an event dated in the future make everyone else late', () => {
    const detector = createDetector([builtin], createLogger('silent'))
    const now = Date.now()
    detector.detect([failure(0, '192.0.2.99', Date.UTC(2099, 0, 1))])
    const recent = Math.floor((now - 20 * 60_000) / 60_000) * 60_000
    const alerts = detector.detect(tenFailures('198.51.100.20', recent))
    expect(alerts.filter((a) => a.rule.id === BRUTE_FORCE)).toHaveLength(1)
    expect(detector.correlator.state().late).toBe(0)
  })

  it('counts a burst split across batches of an old log while the clock ticks between', () => {
    const detector = createDetector([builtin], createLogger('silent'))
    const first = detector.detect([0, 5, 10, 15, 20].map((second) => failure(second)))
    // The engine's ticker runs between batches with today's time, years after the events.
    const ticked = detector.flush(Date.now())
    const second = detector.detect([25, 30, 35, 40, 45].map((second) => failure(second)))

    const fired = [...first, ...ticked, ...second].filter((a) => a.rule.id === BRUTE_FORCE)
    expect(fired).toHaveLength(1)
    expect(fired[0]!.entity).toEqual({ kind: 'source.ip', value: '198.51.100.9' })
    expect(fired[0]!.event_ids).toHaveLength(10)
  })

  it('counts an event late by the allowance it is configured with (sigma.correlation)', () => {
    // Five failures, one 50 s after the last, then five more dated between them: 25 to 45 s
    // older than the source's time by then, so within the default 60 s they still count and
    // make ten, and past a 10 s allowance they are late (for each of the three correlations
    // counting failures: brute force, the burst and password spraying).
    const early = [0, 5, 10, 15, 20].map((second) => failure(second))
    const past = [failure(70)]
    const late = [25, 30, 35, 40, 45].map((second) => failure(second))
    const fired = (allowedLatenessMs?: number) => {
      const options = allowedLatenessMs === undefined ? {} : { correlation: { allowedLatenessMs } }
      const detector = createDetector([builtin], createLogger('silent'), options)
      const alerts = [early, past, late].flatMap((batch) => detector.detect(batch))
      const { late: count, lateBy } = detector.correlator.state()
      return {
        alerts: alerts.filter((a) => a.rule.id === BRUTE_FORCE).length,
        late: count,
        bruteForceLate: lateBy[BRUTE_FORCE] ?? 0,
      }
    }
    expect(fired()).toEqual({ alerts: 1, late: 0, bruteForceLate: 0 })
    expect(fired(10_000)).toEqual({ alerts: 0, late: 15, bruteForceLate: 5 })
  })

  it('lets no tick right after a start close the windows it resumed from a checkpoint', () => {
    const before = createDetector([builtin], createLogger('silent'))
    before.detect([0, 5, 10, 15, 20].map((second) => failure(second)))
    const versions = Object.fromEntries(before.ruleSet.correlations.map((c) => [c.id, c.version]))
    const saved = JSON.parse(JSON.stringify(before.correlator.state()))

    const after = createDetector([builtin], createLogger('silent'))
    after.rules.restore(saved, versions)
    // The engine's ticker, with today's time, years after the old log's events.
    const ticked = after.flush(Date.now())
    const rest = after.detect([25, 30, 35, 40, 45].map((second) => failure(second)))
    expect([...ticked, ...rest].filter((a) => a.rule.id === BRUTE_FORCE)).toHaveLength(1)
  })

  it('lets the clock close windows once the stream has been quiet long enough', () => {
    const detector = createDetector([builtin], createLogger('silent'), { idleMs: 0 })
    detector.detect([0, 5, 10, 15, 20].map((second) => failure(second)))
    detector.flush(Date.now())
    const after = detector.detect([25, 30, 35, 40, 45].map((second) => failure(second)))
    // The clock closed the quiet stream's window, so the second half starts a new count:
    // exactly what happened to every replay before the detector waited for quiet.
    expect(after.filter((a) => a.rule.id === BRUTE_FORCE)).toEqual([])
  })

  it('reads user mapping files and logs the rules whose placeholders have no value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-detector-'))
    mkdirSync(join(dir, 'rules'))
    const rule = (id: string, detection: string) =>
      `title: crm ${id}\nid: ${id}\nlogsource: {product: acme}\ndetection:\n${detection}\n`
    const exportRule = 'b0000000-0000-4000-8000-000000000001'
    const adminRule = 'b0000000-0000-4000-8000-000000000002'
    writeFileSync(
      join(dir, 'rules', 'export.yml'),
      rule(exportRule, '  s: {Op: export}\n  condition: s'),
    )
    writeFileSync(
      join(dir, 'rules', 'admin.yml'),
      rule(adminRule, "  s: {User|expand: '%Admins%'}\n  condition: s"),
    )
    const mapping = join(dir, 'acme.yml')
    writeFileSync(
      mapping,
      'routes:\n  - logsource: {product: acme}\n    events: [{datasets: crm}]\n',
    )
    const lines: string[] = []
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) })

    const detector = createDetector([join(dir, 'rules')], logger, { mappings: [mapping] })
    const event = {
      id: derivedId('test', 'crm-export'),
      '@timestamp': '2026-01-01T00:00:00Z',
      event: { dataset: 'crm' },
      Op: 'export',
      User: 'root',
    } as PalisadeEvent
    expect(detector.detect([event]).map((a) => a.rule.id)).toEqual([exportRule])
    const warnings = lines.map((l) => JSON.parse(l) as { rule_id?: string; msg: string })
    expect(warnings).toContainEqual(
      expect.objectContaining({ rule_id: adminRule, msg: expect.stringMatching(/%Admins%/) }),
    )
  })

  it('logs correlation state dropped at its limit, naming the correlation and no address', () => {
    const lines: string[] = []
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) })
    const detector = createDetector([builtin], logger, { correlation: { maxGroups: 5 } })
    const spray = Array.from({ length: 20 }, (_, i) => failure(i, `198.51.100.${i}`))
    const alerts = detector.detect(spray)

    const dropped = alerts.filter((a) => a.rule.id === 'palisade-correlation-state-dropped')
    expect(dropped.length).toBeGreaterThan(0)
    expect(dropped.map((a) => a.rule.kind)).toEqual(dropped.map(() => 'platform'))
    const warnings = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => typeof l.msg === 'string' && /correlation state at its limit/.test(l.msg))
    expect(warnings.length).toBeGreaterThan(0)
    expect(warnings[0]).toMatchObject({ max_groups: 5, groups: 5, level: 40 })
    expect(warnings.map((w) => w.correlation_id).sort()).toEqual(
      dropped.map((a) => a.entity.value).sort(),
    )
    const evicted = warnings.reduce((n, w) => n + (w.evicted_open as number), 0)
    expect(evicted).toBe(detector.correlator.state().evicted)
    expect(lines.join('\n')).not.toMatch(/198\.51\.100\./)

    // The next batch within ten seconds adds up, unlogged until the interval has passed.
    detector.detect(Array.from({ length: 5 }, (_, i) => failure(30 + i, `192.0.2.${i}`)))
    expect(lines.filter((l) => /correlation state at its limit/.test(l))).toHaveLength(
      warnings.length,
    )
  })

  it('refuses to start on a mapping file that is not valid', () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-detector-'))
    const mapping = join(dir, 'bad.yml')
    writeFileSync(mapping, 'routes: {}\n')
    expect(() =>
      createDetector([builtin], createLogger('silent'), { mappings: [mapping] }),
    ).toThrow(/bad\.yml:1 routes: expected a list of routes/)
  })
})
