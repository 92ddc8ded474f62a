import { describe, expect, it } from 'vitest'

import { toFeatureMatrix } from '../../../detectors/anomaly/feature-matrix.ts'
import { averagePathLength, IsolationForest } from '../../../detectors/anomaly/isolation-forest.ts'
import { PalisadeError } from '../../../platform/errors.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

/** A normal cloud of `n` points around the origin in `dims` dimensions. */
function cloud(n: number, dims: number, seed = 7): number[][] {
  const random = seededRandom(seed)
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())
  return Array.from({ length: n }, () => Array.from({ length: dims }, gauss))
}

function errorOf(run: () => unknown): PalisadeError {
  try {
    run()
  } catch (error) {
    if (error instanceof PalisadeError) return error
    throw error
  }
  throw new Error('expected a PalisadeError')
}

describe('averagePathLength (c(n), Liu, Ting and Zhou 2008, equation 1)', () => {
  it('is 0 for one point and 1 for two, as a binary search tree of them is', () => {
    expect(averagePathLength(0)).toBe(0)
    expect(averagePathLength(1)).toBe(0)
    expect(averagePathLength(2)).toBe(1)
  })

  it('is 2 H(n - 1) - 2 (n - 1) / n with the harmonic number summed exactly', () => {
    const exact = (n: number) => {
      let h = 0
      for (let k = 1; k < n; k++) h += 1 / k
      return 2 * h - (2 * (n - 1)) / n
    }
    expect(averagePathLength(3)).toBeCloseTo(2 * 1.5 - 4 / 3, 12)
    for (const n of [10, 64, 65, 100, 256, 4096, 100_000]) {
      expect(averagePathLength(n)).toBeCloseTo(exact(n), 10)
    }
  })

  it('adds Euler’s constant twice, not once: c(256) is about 10.249, not 9.668', () => {
    expect(averagePathLength(256)).toBeCloseTo(10.2487, 4)
  })
})

describe('IsolationForest', () => {
  it('scores a point far from the cloud above every point of the cloud', () => {
    const rows = [...cloud(500, 3), [8, -8, 8]]
    const forest = IsolationForest.train(toFeatureMatrix(rows), { seed: 1 })
    const scores = forest.scoreAll(toFeatureMatrix(rows))
    const outlier = scores[500]!
    expect(Math.max(...scores.subarray(0, 500))).toBeLessThan(outlier)
    expect(outlier).toBeGreaterThan(0.7)
    expect(forest.score([0, 0, 0])).toBeLessThan(0.5)
  })

  it('grows the same forest from the same seed, and another from another seed', () => {
    const data = toFeatureMatrix(cloud(300, 4))
    const a = IsolationForest.train(data, { seed: 42 }).scoreAll(data)
    const b = IsolationForest.train(data, { seed: 42 }).scoreAll(data)
    const c = IsolationForest.train(data, { seed: 43 }).scoreAll(data)
    expect(Array.from(b)).toEqual(Array.from(a))
    expect(Array.from(c)).not.toEqual(Array.from(a))
  })

  it('draws each tree from a sample of 256 points, or every row of a smaller set', () => {
    expect(IsolationForest.train(toFeatureMatrix(cloud(1000, 2))).sampleSize).toBe(256)
    expect(IsolationForest.train(toFeatureMatrix(cloud(40, 2))).sampleSize).toBe(40)
    const small = IsolationForest.train(toFeatureMatrix(cloud(1000, 2)), { sampleSize: 64 })
    expect(small.sampleSize).toBe(64)
  })

  it('gives the same scores after a round trip through JSON text', () => {
    const data = toFeatureMatrix(cloud(200, 3))
    const forest = IsolationForest.train(data, { seed: 5, trees: 20 })
    const again = IsolationForest.fromJSON(JSON.parse(JSON.stringify(forest)))
    expect(Array.from(again.scoreAll(data))).toEqual(Array.from(forest.scoreAll(data)))
    expect(again.trees).toBe(20)
  })

  it('refuses a model whose node arrays do not fit its trees', () => {
    const json = IsolationForest.train(toFeatureMatrix(cloud(50, 2)), { trees: 3 }).toJSON()
    const error = errorOf(() => IsolationForest.fromJSON({ ...json, trees: 4 }))
    expect(error.code).toBe('PAL_ANOMALY_BAD_MODEL')
    const attribute = [...json.attribute]
    attribute[0] = 7
    expect(errorOf(() => IsolationForest.fromJSON({ ...json, attribute })).code).toBe(
      'PAL_ANOMALY_BAD_MODEL',
    )
  })

  it('changes no score when a constant column is added: it is never split on', () => {
    const rows = cloud(300, 2)
    const withConstant = rows.map(([x, y]) => [x!, 3.5, y!])
    const plain = IsolationForest.train(toFeatureMatrix(rows), { seed: 9 })
    const padded = IsolationForest.train(toFeatureMatrix(withConstant), { seed: 9 })
    expect(Array.from(padded.scoreAll(toFeatureMatrix(withConstant)))).toEqual(
      Array.from(plain.scoreAll(toFeatureMatrix(rows))),
    )
  })

  it('scores duplicate rows alike, and a row unlike them above them', () => {
    const rows = [...Array.from({ length: 200 }, () => [1, 2]), [5, 9]]
    const forest = IsolationForest.train(toFeatureMatrix(rows), { seed: 3 })
    const scores = forest.scoreAll(toFeatureMatrix(rows))
    expect(new Set(scores.subarray(0, 200)).size).toBe(1)
    expect(scores[200]).toBeGreaterThan(scores[0]!)
    for (const s of scores) expect(Number.isFinite(s)).toBe(true)
  })

  it('gives every point of an all-duplicate set the same finite score', () => {
    const rows = Array.from({ length: 30 }, () => [4, 4, 4])
    const scores = IsolationForest.train(toFeatureMatrix(rows)).scoreAll(toFeatureMatrix(rows))
    expect(new Set(scores).size).toBe(1)
    expect(Number.isFinite(scores[0]!)).toBe(true)
  })

  it('learns from two rows and refuses one, naming how many came', () => {
    const two = IsolationForest.train(toFeatureMatrix([[0], [10]]), { seed: 1 })
    expect(Number.isFinite(two.score([5]))).toBe(true)
    const error = errorOf(() => IsolationForest.train(toFeatureMatrix([[1, 2]])))
    expect(error.code).toBe('PAL_ANOMALY_TOO_FEW_ROWS')
    expect(error.message).toContain('got 1 rows')
  })

  it('refuses NaN in training and in scoring with its row and column', () => {
    const training = errorOf(() =>
      toFeatureMatrix(
        [
          [1, 2],
          [3, NaN],
        ],
        ['bytes', 'logins'],
      ),
    )
    expect(training.code).toBe('PAL_ANOMALY_BAD_VALUE')
    expect(training.message).toBe('row 1, logins: expected a finite number, got NaN')
    const forest = IsolationForest.train(toFeatureMatrix(cloud(50, 2)))
    expect(errorOf(() => forest.score([0, NaN])).code).toBe('PAL_ANOMALY_BAD_VALUE')
    const matrix = { rows: 1, columns: 2, values: Float64Array.of(Infinity, 0) }
    expect(errorOf(() => forest.scoreAll(matrix)).message).toContain('got Infinity')
  })

  it('refuses a point of another width than it was trained on', () => {
    const forest = IsolationForest.train(toFeatureMatrix(cloud(50, 3)))
    const error = errorOf(() => forest.score([1, 2]))
    expect(error.message).toBe('expected 3 features, as the forest was trained on, got 2')
  })

  it('refuses a number of trees or a sample size out of range', () => {
    const data = toFeatureMatrix(cloud(20, 2))
    expect(errorOf(() => IsolationForest.train(data, { trees: 0 })).message).toContain('trees')
    const big = errorOf(() => IsolationForest.train(data, { sampleSize: 5000 }))
    expect(big.message).toBe('sampleSize: expected an integer from 1 to 4096, got 5000')
  })
})
