import { describe, expect, it } from 'vitest'

import {
  decodeCursor,
  encodeCursor,
  pageConditions,
  toPage,
} from '../../../platform/clickhouse/paging.ts'
import { ValidationError } from '../../../platform/errors.ts'

const ID = '0193a1b2-0000-7000-8000-000000000000'

describe('keyset paging', () => {
  it('round-trips a cursor', () => {
    const key = { t: '2026-01-01T00:00:00.000Z', id: ID }
    expect(decodeCursor(encodeCursor(key))).toEqual(key)
  })

  it('refuses a cursor it did not make, naming the parameter', () => {
    expect(() => decodeCursor('garbage')).toThrow(ValidationError)
    expect(() => decodeCursor(Buffer.from('{"x":1}').toString('base64url'))).toThrow(/cursor/)
    const forged = encodeCursor({ t: "' OR 1=1 --", id: 'x' })
    expect(() => decodeCursor(forged)).toThrow(/cursor/)
  })

  it('binds every value as a parameter, never into the SQL text', () => {
    const cursor = encodeCursor({ t: '2026-01-01T00:00:00Z', id: ID })
    const { where, params } = pageConditions(
      { from: "2026'--", to: '2026-02-01T00:00:00Z', limit: 10, cursor },
      'timestamp',
    )
    expect(where.join(' ')).not.toMatch(/2026'--|0193a1b2/)
    expect(params).toMatchObject({ from: "2026'--", cursor_id: ID })
  })

  it('returns a next cursor only when there is more', () => {
    const rows = [1, 2, 3].map((n) => ({
      row_id: `${ID.slice(0, -1)}${n}`,
      row_time: `2026-01-01 00:00:0${n}.000`,
    }))
    const page = toPage(rows, 2, (r) => r.row_id)
    expect(page.items).toEqual([rows[0]!.row_id, rows[1]!.row_id])
    expect(decodeCursor(page.next_cursor!)).toEqual({
      t: '2026-01-01T00:00:02.000Z',
      id: rows[1]!.row_id,
    })
    expect(toPage(rows, 3, (r) => r.row_id).next_cursor).toBeNull()
  })
})
