import { describe, expect, it } from 'vitest'
import type { z } from 'zod'

import { migrations } from '../../../platform/clickhouse/migrations.ts'
import { palisadeEvent } from '../../../platform/event-model.ts'

/** Follows a dotted path through the zod object shapes; undefined when a step is unknown. */
function schemaAt(path: string[]): z.ZodType | undefined {
  let node: z.ZodType | undefined = palisadeEvent
  for (const key of path) {
    let inner: unknown = node
    // Unwrap optional() to reach the object shape.
    while (inner && (inner as { def?: { type?: string } }).def?.type === 'optional') {
      inner = (inner as { def: { innerType: unknown } }).def.innerType
    }
    const shape = (inner as { shape?: Record<string, z.ZodType> } | undefined)?.shape
    node = shape?.[key]
    if (!node) return undefined
  }
  return node
}

describe('the ClickHouse events table', () => {
  const ddl = migrations.flatMap((m) => m.statements).join('\n')
  const extracted = [...ddl.matchAll(/JSONExtract\w*\(event, ((?:'[^']+'(?:, )?)+)/g)].map((m) =>
    [...m[1]!.matchAll(/'([^']+)'/g)].map((k) => k[1]!).filter((k) => !k.includes('(')),
  )

  it('derives typed columns from fields the event schema defines', () => {
    expect(extracted.length).toBeGreaterThanOrEqual(6)
    for (const path of extracted) {
      expect(schemaAt(path), `event schema has ${path.join('.')}`).toBeDefined()
    }
  })

  it('keeps retention counted from ingestion, never from event time', () => {
    for (const ttl of ddl.matchAll(/TTL ([^\n]+)/g)) {
      expect(ttl[1]).toMatch(/toDateTime\((ingested|created|received)\)/)
    }
  })
})

describe('the ClickHouse audit_entries table', () => {
  const ddl = migrations.flatMap((m) => m.statements).find((s) => s.includes('{db}.audit_entries'))

  it('exists, ordered by index, and has no TTL: retention never deletes audit entries', () => {
    expect(ddl).toBeDefined()
    expect(ddl).toMatch(/ORDER BY idx/)
    expect(ddl).not.toMatch(/TTL/i)
  })
})

describe('the ClickHouse audit_checkpoints table', () => {
  const ddl = migrations
    .flatMap((m) => m.statements)
    .find((s) => s.includes('{db}.audit_checkpoints'))

  it('exists, one row per tree size, and has no TTL: checkpoints are never deleted', () => {
    expect(ddl).toBeDefined()
    expect(ddl).toMatch(/ORDER BY tree_size/)
    expect(ddl).not.toMatch(/TTL/i)
  })
})
