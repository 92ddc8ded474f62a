import { afterAll, describe, it } from 'vitest'

import { openStateStore } from '../../../platform/state/state-store.ts'
import { findPostgresBin, startPostgres } from '../../helpers/postgres.ts'
import type { TestPostgres } from '../../helpers/postgres.ts'
import { checkModelRoundTrip } from './anomaly-model-round-trip.ts'

// CI installs Debian's postgresql (.ci/run); without it this test is skipped.
const bin = findPostgresBin()
if (!bin && process.env.CI) throw new Error('CI must have PostgreSQL: .ci/run installs it')

let postgres: TestPostgres | undefined
afterAll(async () => {
  await postgres?.stop()
})

describe('anomaly models in the PostgreSQL state store', () => {
  it.skipIf(!bin)(
    'gives back the latest version of each set scoring as trained, keeping the last five',
    async () => {
      postgres = await startPostgres(bin!)
      const url = postgres.url
      await checkModelRoundTrip(() => openStateStore({ url, dataDir: '/nonexistent' }))
    },
    60_000,
  )
})
