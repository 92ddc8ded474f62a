import type { StoredModel } from '../../detectors/anomaly/anomaly-model.ts'
import type { StateDb } from './state-store.ts'

/** Versions kept per feature set: the latest scores, the ones before explain older alerts. */
export const KEPT_MODEL_VERSIONS = 5

/**
 * Stores a trained model under its feature set and version, and forgets versions older than
 * the last `KEPT_MODEL_VERSIONS`. Idempotent: storing a version again replaces it.
 */
export async function saveAnomalyModel(db: StateDb, model: StoredModel): Promise<void> {
  const row = {
    feature_set: model.featureSet,
    version: model.version,
    feature_set_version: model.featureSetVersion,
    trained_through: model.trainedThrough,
    model: JSON.stringify(model),
    created_at: new Date().toISOString(),
  }
  await db.transaction().execute(async (tx) => {
    await tx
      .insertInto('anomaly_models')
      .values(row)
      .onConflict((oc) =>
        oc.columns(['feature_set', 'version']).doUpdateSet({
          feature_set_version: row.feature_set_version,
          trained_through: row.trained_through,
          model: row.model,
          created_at: row.created_at,
        }),
      )
      .execute()
    await tx
      .deleteFrom('anomaly_models')
      .where('feature_set', '=', model.featureSet)
      .where('version', '<=', model.version - KEPT_MODEL_VERSIONS)
      .execute()
  })
}

/** The highest version stored of each feature set's model. */
export async function latestAnomalyModels(db: StateDb): Promise<StoredModel[]> {
  const latest = await db
    .selectFrom('anomaly_models')
    .select(['feature_set', (eb) => eb.fn.max('version').as('version')])
    .groupBy('feature_set')
    .execute()
  const models: StoredModel[] = []
  for (const { feature_set, version } of latest) {
    const row = await db
      .selectFrom('anomaly_models')
      .select('model')
      .where('feature_set', '=', feature_set)
      .where('version', '=', Number(version))
      .executeTakeFirst()
    if (row) models.push(JSON.parse(row.model) as StoredModel)
  }
  return models
}
