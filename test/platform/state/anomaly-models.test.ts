import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, describe, it } from 'vitest'

import { openStateStore } from '../../../platform/state/state-store.ts'
import { checkModelRoundTrip } from './anomaly-model-round-trip.ts'

const dir = mkdtempSync(join(tmpdir(), 'palisade-anomaly-models-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('anomaly models in the SQLite state store', () => {
  it('gives back the latest version of each set scoring as trained, keeping the last five', () =>
    checkModelRoundTrip(() => openStateStore({ dataDir: dir })))
})
