import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { loadFeatureSets, parseFeatureSets } from '../../../detectors/anomaly/load-feature-sets.ts'
import { PalisadeError } from '../../../platform/errors.ts'

function problems(text: string): string {
  try {
    parseFeatureSets(text, 'site.yml')
  } catch (error) {
    expect(error).toBeInstanceOf(PalisadeError)
    expect((error as PalisadeError).code).toBe('PAL_ANOMALY_FEATURES_INVALID')
    return (error as Error).message
  }
  throw new Error('expected the file to be refused')
}

const valid = `feature_sets:
  - id: anomaly-vpn
    title: Unusual VPN use
    entity: user.name
    window: 30m
    features:
      - { name: logins, kind: count, where: { event.action: vpn-login } }
      - { name: countries, kind: distinct, field: source.geo.country_iso_code }
`

describe('anomaly feature set files', () => {
  it('loads the built-in sets for users, hosts and source addresses', () => {
    const sets = loadFeatureSets()
    expect(sets.map((s) => [s.id, s.entity, s.windowMs])).toEqual([
      ['anomaly-user-behaviour', 'user.name', 3_600_000],
      ['anomaly-host-behaviour', 'host.name', 3_600_000],
      ['anomaly-source-behaviour', 'source.ip', 3_600_000],
    ])
    expect(sets[0]!.features.map((f) => f.kind)).toEqual([
      'count',
      'count',
      'ratio',
      'distinct',
      'distinct',
      'distinct',
      'sum',
      'hour_of_week',
      'first_seen',
    ])
  })

  it('adds a user file after the built-in sets, and one with a built-in id replaces it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-features-'))
    const file = join(dir, 'site.yml')
    writeFileSync(
      file,
      `${valid}  - id: anomaly-user-behaviour
    title: Users, by the day
    entity: user.name
    window: 1d
    features: [{ name: events, kind: count }]
`,
    )
    const sets = loadFeatureSets([file])
    expect(sets.map((s) => s.id)).toEqual([
      'anomaly-user-behaviour',
      'anomaly-host-behaviour',
      'anomaly-source-behaviour',
      'anomaly-vpn',
    ])
    expect(sets[0]).toMatchObject({ title: 'Users, by the day', windowMs: 86_400_000, file })
    expect(sets[3]!.windowMs).toBe(1_800_000)
  })

  it('gives a changed set a new version and an unchanged one the same', () => {
    const [a] = parseFeatureSets(valid, 'a.yml')
    const [b] = parseFeatureSets(valid, 'b.yml')
    const [c] = parseFeatureSets(valid.replace('30m', '1h'), 'a.yml')
    expect(a!.version).toBe(b!.version)
    expect(c!.version).not.toBe(a!.version)
  })

  it('names the line and path of a feature of an unknown kind', () => {
    const text = valid.replace('kind: distinct', 'kind: unique')
    expect(problems(text)).toContain(
      'site.yml:8 feature_sets[0].features[1].kind: expected kind count, ratio, distinct, ' +
        'sum, hour_of_week or first_seen, got "unique"',
    )
  })

  it('names a window that is not a timespan, a key it does not know and a missing field', () => {
    const text = valid
      .replace('window: 30m', 'window: half an hour')
      .replace('title: Unusual VPN use', 'title: Unusual VPN use\n    colour: red')
      .replace(', field: source.geo.country_iso_code', '')
    const message = problems(text)
    expect(message).toContain(
      'site.yml:6 feature_sets[0].window: expected a timespan such as 30m, 1h or 1d, got ' +
        '"half an hour"',
    )
    expect(message).toMatch(/site\.yml:4 feature_sets\[0\]: .*colour/)
    expect(message).toMatch(/site\.yml:9 feature_sets\[0\]\.features\[1\]\.field: /)
  })

  it('refuses a feature name twice in one set and a set id twice in one file', () => {
    const twice = valid.replace('name: countries', 'name: logins')
    expect(problems(twice)).toContain(
      'site.yml:8 feature_sets[0].features[1].name: expected each feature name once per set, ' +
        'got logins again (first at features[0])',
    )
    const again = `${valid}${valid.replace('feature_sets:\n', '')}`
    expect(problems(again)).toContain(
      'site.yml:9 feature_sets[1].id: expected each id once per file, got anomaly-vpn again ' +
        '(first at line 2)',
    )
  })

  it('refuses invalid YAML and a file that cannot be read, naming the file', () => {
    expect(problems('feature_sets: [')).toMatch(/^invalid anomaly feature set file site\.yml:/)
    expect(() => loadFeatureSets(['/nonexistent/features.yml'])).toThrow(
      /\/nonexistent\/features\.yml: cannot read/,
    )
  })
})
