import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { ingestFormats } from '../../../api/ingest-formats.ts'
import type { IngestFormat } from '../../../api/ingest-formats.ts'
import { normaliseRecord } from '../../../ingest/normalise.ts'
import { corpora, repoRoot } from '../../helpers/test-engine.ts'

/**
 * With the Kafka transport a gateway normalises a record (to key it and to answer at once) and
 * the worker normalises the event it receives again, as it does for the typed producer's
 * events. The worker must then store exactly what the embedded engine would.
 */
const receivedAt = new Date('2026-12-04T10:00:00Z')

function normalisedTwice(format: IngestFormat, body: string) {
  const ctx = { stream: 'corpus', receivedAt, timeZone: 'UTC', startPosition: 0 }
  const pairs: { once: unknown; twice: unknown }[] = []
  for (const record of ingestFormats[format](body, ctx)) {
    const first = normaliseRecord(record, { receivedAt })
    if (!first.ok) continue
    const event = JSON.parse(JSON.stringify(first.event)) as Record<string, unknown>
    const second = normaliseRecord({ index: 0, raw: record.raw, event }, { receivedAt })
    pairs.push({ once: first.event, twice: second.ok ? second.event : second.reason })
  }
  return pairs
}

describe('normalising an event a gateway already normalised', () => {
  it('changes nothing for the OpenSSH and Linux syslog corpora', () => {
    for (const file of ['OpenSSH_2k.log', 'Linux_2k.log']) {
      const pairs = normalisedTwice('syslog', readFileSync(join(corpora, 'logs', file), 'utf8'))
      expect(pairs.length).toBeGreaterThan(1000)
      for (const { once, twice } of pairs) expect(twice).toEqual(once)
    }
  })

  it('changes nothing for JSON events, defaulted time and tags included', () => {
    const body = JSON.stringify([
      { message: 'no time', user: { name: 'a' } },
      { '@timestamp': '2026-01-01T00:00:00+02:00', tags: ['t'], source: { ip: '192.0.2.1' } },
    ])
    const pairs = normalisedTwice('json', body)
    expect(pairs).toHaveLength(2)
    for (const { once, twice } of pairs) expect(twice).toEqual(once)
  })

  it('changes nothing for the example SSH log', () => {
    const body = readFileSync(join(repoRoot, 'examples', 'ssh-brute-force.log'), 'utf8')
    const pairs = normalisedTwice('syslog', body)
    expect(pairs).toHaveLength(13)
    for (const { once, twice } of pairs) expect(twice).toEqual(once)
  })

  it('changes nothing for the Windows events of SigmaHQ regression data', () => {
    const dir = join(corpora, 'sigma', 'regression_data')
    const files = (readdirSync(dir, { recursive: true }) as string[]).filter((f) =>
      f.endsWith('.json'),
    )
    let events = 0
    for (const file of files) {
      const pairs = normalisedTwice('evtx-json', readFileSync(join(dir, file), 'utf8'))
      events += pairs.length
      for (const { once, twice } of pairs) expect(twice).toEqual(once)
    }
    expect(events).toBeGreaterThan(100)
  })
})
