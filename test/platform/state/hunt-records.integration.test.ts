import { describe, expect, it } from 'vitest'

import {
  failInterruptedHunts,
  finishHunt,
  getHunt,
  insertHunt,
  listHunts,
  updateHuntProgress,
} from '../../../platform/state/hunt-records.ts'
import { bothStateStores } from '../../helpers/state-stores.ts'

const { stores, postgres } = bothStateStores('hunt-records')

const hunt = (id: string) => ({
  id,
  created_at: '2026-12-04T10:00:00.000Z',
  created_by: 'token:1',
  from: '2026-10-01T00:00:00Z',
  to: '2026-10-02T00:00:00Z',
  rules: [{ id: 'r1', title: 'R1', version: 'v1', level: 'high' as const, tags: ['attack.t1078'] }],
  refused: [{ id: 'r2', title: 'R2', kind: 'correlation' as const, reason: 'a correlation' }],
})

describe.each(stores)('hunts kept in the state store on %s', (kind, open) => {
  it.skipIf(kind === 'PostgreSQL' && !postgres)(
    'keeps a hunt, its progress and its end, lists newest first, and fails interrupted ones',
    async () => {
      const state = await open()
      try {
        const [a, b, c] = [1, 2, 3].map((n) => `0190f0f0-0000-7000-8000-00000000000${n}`)
        for (const id of [a!, b!, c!]) await insertHunt(state.db, hunt(id))
        const big = 5_000_000_000
        const progress = {
          slices: { done: 2, total: 4 },
          events: { done: big, total: 2 * big },
          queries: { done: 10, total: 20 },
          matches: 7,
        }
        await updateHuntProgress(state.db, a!, progress)
        expect((await getHunt(state.db, a!))?.progress).toEqual(progress)

        await finishHunt(state.db, b!, { state: 'cancelled', progress, at: '2026-12-04T10:05:00Z' })
        const cancelled = await getHunt(state.db, b!)
        expect(cancelled).toMatchObject({ state: 'cancelled', finished_at: '2026-12-04T10:05:00Z' })
        expect(cancelled?.rules).toEqual(hunt(b!).rules)
        expect(cancelled?.refused).toEqual(hunt(b!).refused)

        expect((await listHunts(state.db, { limit: 2 })).map((h) => h.id)).toEqual([c, b])
        expect((await listHunts(state.db, { limit: 5, after: b! })).map((h) => h.id)).toEqual([a])

        expect((await failInterruptedHunts(state.db, '2026-12-04T11:00:00Z')).sort()).toEqual(
          [a, c].sort(),
        )
        const failed = await getHunt(state.db, a!)
        expect(failed?.state).toBe('failed')
        expect(failed?.error?.code).toBe('PAL_HUNT_INTERRUPTED')
        expect(failed?.progress.matches).toBe(7)
        expect((await getHunt(state.db, b!))?.state).toBe('cancelled')
      } finally {
        await state.close()
      }
    },
  )
})
