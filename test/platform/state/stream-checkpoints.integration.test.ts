import { describe, expect, it } from 'vitest'

import {
  readStreamCheckpoint,
  writeStreamCheckpoint,
} from '../../../platform/state/stream-checkpoints.ts'
import { bothStateStores } from '../../helpers/state-stores.ts'

const { stores, postgres } = bothStateStores('stream-checkpoints')

/** A state as large as a busy correlator's, with the characters JSON text must keep. */
const bigState = JSON.stringify({
  windows: Object.fromEntries(
    Array.from({ length: 20_000 }, (_, i) => [`c\u0000user-${i}\u0001é`, { count: i }]),
  ),
})

describe.each(stores)('stream checkpoints in the state store on %s', (kind, open) => {
  it.skipIf(kind === 'PostgreSQL' && !postgres)(
    'keeps the last checkpoint of each stream, whole, and survives a reopen',
    async () => {
      const state = await open()
      try {
        expect(await readStreamCheckpoint(state.db, 'embedded')).toBeNull()
        const first = { stream: 'embedded', position: '6', state: '{"a":1}', writtenAt: 'x' }
        await writeStreamCheckpoint(state.db, first)
        expect(await readStreamCheckpoint(state.db, 'embedded')).toEqual(first)
        await writeStreamCheckpoint(state.db, {
          stream: 'kafka:workers',
          position: '{"events/0":"42"}',
          state: '{}',
          writtenAt: '2026-12-04T10:00:00.000Z',
        })
        await writeStreamCheckpoint(state.db, {
          stream: 'embedded',
          position: '9007199254740991',
          state: bigState,
          writtenAt: '2026-12-04T10:00:01.000Z',
        })
      } finally {
        await state.close()
      }

      const again = await open()
      try {
        expect(await readStreamCheckpoint(again.db, 'embedded')).toEqual({
          stream: 'embedded',
          position: '9007199254740991',
          state: bigState,
          writtenAt: '2026-12-04T10:00:01.000Z',
        })
        expect((await readStreamCheckpoint(again.db, 'kafka:workers'))?.position).toBe(
          '{"events/0":"42"}',
        )
        const rows = await again.db.selectFrom('stream_checkpoints').select('stream').execute()
        expect(rows.map((r) => r.stream).sort()).toEqual(['embedded', 'kafka:workers'])
      } finally {
        await again.close()
      }
    },
  )
})
