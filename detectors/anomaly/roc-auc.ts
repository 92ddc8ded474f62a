import { ValidationError } from '../../platform/errors.ts'

/**
 * The area under the ROC curve of `scores` against `labels` (true = anomaly, scored higher):
 * the chance that a random anomaly scores above a random normal point, ties counting half.
 * Computed from ranks (the Mann–Whitney U statistic), with tied scores given their mean rank,
 * which equals the trapezoidal area under the curve drawn through every threshold.
 *
 * @throws ValidationError `PAL_ANOMALY_BAD_LABELS` when the lengths differ or one class is
 *   missing, for which no curve exists
 * @example rocAuc([0.9, 0.1, 0.4], [true, false, false]) // 1
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<boolean>): number {
  if (scores.length !== labels.length) {
    throw new ValidationError(
      `expected a label for each of the ${scores.length} scores, got ${labels.length}`,
      { scores: scores.length, labels: labels.length },
      'PAL_ANOMALY_BAD_LABELS',
    )
  }

  let positives = 0
  for (let i = 0; i < labels.length; i++) if (labels[i]) positives++
  const negatives = labels.length - positives
  if (positives === 0 || negatives === 0) {
    throw new ValidationError(
      `expected both anomalies and normal points, got ${positives} anomalies and ` +
        `${negatives} normal points`,
      { positives, negatives },
      'PAL_ANOMALY_BAD_LABELS',
    )
  }

  const order = Array.from({ length: scores.length }, (_, i) => i).sort(
    (a, b) => scores[a]! - scores[b]!,
  )
  let rankSum = 0
  for (let i = 0; i < order.length;) {
    let j = i
    while (j + 1 < order.length && scores[order[j + 1]!] === scores[order[i]!]) j++
    // Ranks i+1 .. j+1 are tied: each gets their mean.
    const rank = (i + j + 2) / 2
    for (let k = i; k <= j; k++) if (labels[order[k]!]) rankSum += rank
    i = j + 1
  }
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives)
}
