import { quantileSorted } from 'simple-statistics'

import { ValidationError } from '../../platform/errors.ts'
import { toFeatureMatrix } from './feature-matrix.ts'
import { IsolationForest } from './isolation-forest.ts'
import type { SerializedForest } from './isolation-forest.ts'
import { robustBaseline } from './robust-baseline.ts'

/**
 * One trained model of a feature set: an isolation forest over the windows of every entity of
 * its kind, the score above which a window is unusual, and the population's median and spread
 * per feature, against which an entity without history of its own is explained.
 */
export interface AnomalyModel {
  featureSet: string
  /** The feature set's version it was trained for: a changed set does not use it. */
  featureSetVersion: string
  /** 1, 2, 3…: each retraining of a set is the next. */
  version: number
  /** The end of the latest window trained on (event time, RFC 3339). */
  trainedThrough: string
  /** Windows it was trained on. */
  windows: number
  contamination: number
  /** The training windows' score quantile at 1 − contamination. */
  threshold: number
  features: string[]
  population: { median: number[]; scale: number[] }
  forest: IsolationForest
}

/** An `AnomalyModel` as plain JSON, as the state store keeps it. */
export interface StoredModel extends Omit<AnomalyModel, 'forest'> {
  forest: SerializedForest
}

export interface TrainOptions {
  featureSet: string
  featureSetVersion: string
  version: number
  trainedThrough: number
  features: readonly string[]
  /** Per feature, the smallest spread its population baseline is given. */
  minSpread: readonly number[]
  /** The share of training windows expected to be anomalies, in (0, 0.5]. */
  contamination: number
  trees?: number
  sampleSize?: number
}

/**
 * Trains a model on windows' feature vectors. The forest's seed is the model's version, so the
 * same history retrained under the same version grows the same forest.
 *
 * @throws ValidationError `PAL_ANOMALY_TOO_FEW_ROWS` for fewer than two windows
 */
export function trainAnomalyModel(rows: readonly number[][], options: TrainOptions): AnomalyModel {
  const matrix = toFeatureMatrix(rows, options.features)
  const forest = IsolationForest.train(matrix, {
    trees: options.trees ?? 100,
    sampleSize: options.sampleSize ?? 256,
    seed: options.version,
  })
  const scores = forest.scoreAll(matrix)
  const population = { median: [] as number[], scale: [] as number[] }
  for (let c = 0; c < options.features.length; c++) {
    const b = robustBaseline(
      rows.map((r) => r[c]!),
      options.minSpread[c]!,
    )
    population.median.push(b.median)
    population.scale.push(b.scale)
  }
  return {
    featureSet: options.featureSet,
    featureSetVersion: options.featureSetVersion,
    version: options.version,
    trainedThrough: new Date(options.trainedThrough).toISOString(),
    windows: rows.length,
    contamination: options.contamination,
    threshold: contaminationThreshold(scores, options.contamination),
    features: [...options.features],
    population,
    forest,
  }
}

/**
 * The score above which a window is called unusual: the (1 − contamination) quantile of the
 * training windows' scores, so that about that share of windows like the training ones lie
 * above it (the paper's experiments rank by score; an alerting system must cut somewhere, and
 * the expected contamination is the one number an operator can reason about). Quantiles
 * interpolate between neighbours, as R's type 7 and numpy's default do (simple-statistics).
 *
 * @throws ValidationError `PAL_INVALID_INPUT` for a contamination outside (0, 0.5] or no scores
 * @example contaminationThreshold([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 0.1) // 10
 */
export function contaminationThreshold(scores: ArrayLike<number>, contamination: number): number {
  if (!(contamination > 0 && contamination <= 0.5)) {
    throw new ValidationError(
      `expected a contamination above 0 and at most 0.5, got ${contamination}`,
      { contamination },
    )
  }
  if (scores.length === 0) {
    throw new ValidationError('expected training scores to take a quantile of, got none', {})
  }
  const sorted = Array.from(scores).sort((a, b) => a - b)
  return quantileSorted(sorted, 1 - contamination)
}

export function storeModel(model: AnomalyModel): StoredModel {
  return { ...model, forest: model.forest.toJSON() }
}

/** @throws ValidationError `PAL_ANOMALY_BAD_MODEL` when the forest is not one */
export function loadModel(stored: StoredModel): AnomalyModel {
  return { ...stored, forest: IsolationForest.fromJSON(stored.forest) }
}
