import { IsolationForest } from './isolation-forest.ts'
import type { LabelledData } from './read-labelled-csv.ts'
import { rocAuc } from './roc-auc.ts'

export interface ForestEvaluation {
  /** ROC AUC averaged over the seeds. */
  auc: number
  auc_per_seed: number[]
  settings: {
    trees: number
    sample_size: number
    seeds: number[]
    rows: number
    features: number
    anomalies: number
  }
}

/**
 * The paper's protocol (Liu, Ting and Zhou 2008, section 5): a forest is grown on every row,
 * without the labels, then every row is scored and the scores are ranked against the labels.
 * Once per seed (1, 2, …), since a forest is random; the AUCs are averaged.
 *
 * @param onSeed called after each seed, for a progress bar
 */
export function evaluateForest(
  data: LabelledData,
  options: { seeds?: number; trees?: number; sampleSize?: number; onSeed?: () => void } = {},
): ForestEvaluation {
  const seeds = Array.from({ length: options.seeds ?? 5 }, (_, i) => i + 1)
  const aucs = seeds.map((seed) => {
    const forest = IsolationForest.train(data.matrix, {
      seed,
      trees: options.trees,
      sampleSize: options.sampleSize,
    })
    const auc = rocAuc(forest.scoreAll(data.matrix), data.labels)
    options.onSeed?.()
    return auc
  })
  return {
    auc: aucs.reduce((a, b) => a + b, 0) / aucs.length,
    auc_per_seed: aucs,
    settings: {
      trees: options.trees ?? 100,
      sample_size: Math.min(options.sampleSize ?? 256, data.matrix.rows),
      seeds,
      rows: data.matrix.rows,
      features: data.matrix.columns,
      anomalies: data.labels.filter(Boolean).length,
    },
  }
}
