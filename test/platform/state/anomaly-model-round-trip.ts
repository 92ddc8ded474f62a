import { expect } from 'vitest'

import {
  loadModel,
  storeModel,
  trainAnomalyModel,
} from '../../../detectors/anomaly/anomaly-model.ts'
import type { AnomalyModel } from '../../../detectors/anomaly/anomaly-model.ts'
import {
  KEPT_MODEL_VERSIONS,
  latestAnomalyModels,
  saveAnomalyModel,
} from '../../../platform/state/anomaly-models.ts'
import type { StateStore } from '../../../platform/state/state-store.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

function model(featureSet: string, version: number): AnomalyModel {
  const random = seededRandom(version)
  const rows = Array.from({ length: 300 }, () => [random() * 10, random() * 100, random()])
  return trainAnomalyModel(rows, {
    featureSet,
    featureSetVersion: 'abc',
    version,
    trainedThrough: Date.UTC(2025, 11, 1) + version * 3_600_000,
    features: ['events', 'bytes', 'failure_ratio'],
    minSpread: [1, 1, 0.1],
    contamination: 0.01,
    trees: 20,
  })
}

/**
 * Stores seven versions of one set's model and one of another's, reopens the store, and checks
 * that the latest of each comes back scoring as it did, with only the last versions kept.
 */
export async function checkModelRoundTrip(open: () => Promise<StateStore>): Promise<void> {
  const trained = [1, 2, 3, 4, 5, 6, 7].map((v) => model('anomaly-user-behaviour', v))
  const other = model('anomaly-host-behaviour', 2)
  const state = await open()
  try {
    for (const m of [...trained, other]) await saveAnomalyModel(state.db, storeModel(m))
    // Storing a version again replaces it rather than failing or doubling it.
    await saveAnomalyModel(state.db, storeModel(trained[6]!))
  } finally {
    await state.close()
  }

  const again = await open()
  try {
    const latest = await latestAnomalyModels(again.db)
    const byName = new Map(latest.map((m) => [m.featureSet, loadModel(m)]))
    expect([...byName.keys()].sort()).toEqual(['anomaly-host-behaviour', 'anomaly-user-behaviour'])
    const user = byName.get('anomaly-user-behaviour')!
    expect(user.version).toBe(7)
    expect(user.threshold).toBe(trained[6]!.threshold)
    expect(user.population).toEqual(trained[6]!.population)
    for (const point of [
      [5, 50, 0.5],
      [90, 1000, 1],
      [0, 0, 0],
    ]) {
      expect(user.forest.score(point)).toBe(trained[6]!.forest.score(point))
    }
    const versions = await again.db
      .selectFrom('anomaly_models')
      .select('version')
      .where('feature_set', '=', 'anomaly-user-behaviour')
      .orderBy('version')
      .execute()
    expect(KEPT_MODEL_VERSIONS).toBe(5)
    expect(versions.map((r) => Number(r.version))).toEqual([3, 4, 5, 6, 7])
  } finally {
    await again.close()
  }
}
