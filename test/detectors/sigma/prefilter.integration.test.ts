import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { loadRules } from '../../../detectors/sigma/load-rules.ts'
import { compileRuleSet } from '../../../detectors/sigma/rule-set.ts'
import { normaliseRecord } from '../../../ingest/normalise.ts'
import { parseEvtxJson } from '../../../ingest/parsers/evtx-json.ts'
import type { PalisadeEvent } from '../../../platform/event-model.ts'
import { corpora } from '../../helpers/test-engine.ts'

const sigma = join(corpora, 'sigma')
const folders = ['rules', 'rules-emerging-threats', 'rules-threat-hunting', 'rules-placeholder']

function regressionEvents(): PalisadeEvent[] {
  const root = join(sigma, 'regression_data')
  const ctx = { stream: 'prefilter', receivedAt: new Date('2026-06-01T00:00:00Z'), timeZone: 'UTC' }
  const events: PalisadeEvent[] = []
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) =>
    f.endsWith('.json'),
  )
  for (const file of files.sort()) {
    for (const record of parseEvtxJson(readFileSync(join(root, file), 'utf8'), ctx)) {
      const result = normaliseRecord(record, ctx)
      if (result.ok) events.push(result.event)
    }
  }
  return events
}

/** An event with every string value changed by `edit`: near misses for the gates. */
function edited(event: PalisadeEvent, edit: (s: string) => string): PalisadeEvent {
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') return edit(node)
    if (Array.isArray(node)) return node.map(walk)
    if (node && typeof node === 'object') {
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]))
    }
    return node
  }
  return { ...(walk(event) as PalisadeEvent), id: event.id, '@timestamp': event['@timestamp'] }
}

describe('the rule prefilter on every SigmaHQ rule', () => {
  it('matches the same rules as running every rule, on the regression events and variants', () => {
    const documents = loadRules(folders.map((f) => join(sigma, f))).documents
    const gated = compileRuleSet(documents)
    const every = compileRuleSet(documents, { prefilter: false })
    const events = regressionEvents()
    const variants = [
      ...events,
      ...events.map((e) => edited(e, (s) => s.toUpperCase())),
      ...events.map((e) => edited(e, (s) => s.slice(0, Math.floor(s.length / 2)))),
      ...events.map((e) => edited(e, (s) => `${s} ${s}`)),
    ]
    let matches = 0
    for (const event of variants) {
      const expected = every.evaluate(event).map((r) => r.id)
      expect(gated.evaluate(event).map((r) => r.id)).toEqual(expected)
      matches += expected.length
    }
    expect(events.length).toBeGreaterThan(100)
    expect(matches).toBeGreaterThan(events.length)
  })
})
