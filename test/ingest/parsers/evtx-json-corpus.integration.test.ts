import { readFileSync } from 'node:fs'

import { describe, expect, it } from 'vitest'

import { parseEvtxJson } from '../../../ingest/parsers/evtx-json.ts'
import type { ParseContext } from '../../../ingest/parsed-record.ts'
import { normaliseRecord } from '../../../ingest/normalise.ts'
import { corpusFiles } from '../corpus.ts'

const ctx: ParseContext = {
  stream: 'sigma-regression',
  receivedAt: new Date('2026-06-01T00:00:00Z'),
  timeZone: 'UTC',
}

describe('parseEvtxJson on the Sigma regression data', () => {
  const files = corpusFiles('sigma/regression_data', '.json')
  const parseAll = () => files.flatMap((file) => parseEvtxJson(readFileSync(file, 'utf8'), ctx))

  it('parses all 168 events in the 138 files with no errors', () => {
    expect(files).toHaveLength(138)
    const records = parseAll()
    expect(records.filter((r) => r.error)).toEqual([])
    expect(records).toHaveLength(168)
  })

  it('gives every event a valid normalised form', () => {
    const failures = parseAll()
      .map((r) => normaliseRecord(r, ctx))
      .filter((r) => !r.ok)
    expect(failures).toEqual([])
  })

  it('gives the same ids on a second parse, one id per distinct event', () => {
    const first = parseAll()
    const second = parseAll()
    expect(second.map((r) => r.event!['id'])).toEqual(first.map((r) => r.event!['id']))

    // Two events appear in two cases each, byte for byte: same identity, same id.
    const byId = new Map<string, Set<string>>()
    for (const r of first) {
      const id = r.event!['id'] as string
      byId.set(id, (byId.get(id) ?? new Set()).add(JSON.stringify(JSON.parse(r.raw))))
    }
    expect([...byId.values()].every((contents) => contents.size === 1)).toBe(true)
    expect(byId.size).toBe(166)
  })

  it('maps every Sysmon process creation to an ECS process start with an executable', () => {
    const starts = parseAll()
      .map((r) => r.event!)
      .filter((e) => (e['winlog'] as { event_id: number }).event_id === 1)
    expect(starts.length).toBe(108)
    for (const e of starts) {
      expect(e).toMatchObject({
        event: { category: ['process'], type: ['start'] },
        process: { executable: expect.any(String), pid: expect.any(Number) },
      })
    }
  })
})
