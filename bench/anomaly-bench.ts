/**
 * `npm run bench:anomaly`: Palisade's isolation forest next to `ml-isolation-forest` (the
 * named dependency it was measured against), in the same run.
 *
 * 1. ROC AUC on each ODDS data set in the shared corpora under the paper's protocol (Liu, Ting
 *    and Zhou 2008): a forest of 100 trees grown on every row without labels, every row scored,
 *    five seeds averaged, next to the paper's figure. `ml-isolation-forest` draws from
 *    `Math.random` and grows every tree on its whole training set, which takes minutes on the
 *    larger sets: it gets five runs on at most `--max-rows` rows (20,000 by default, a seeded
 *    sample keeping each class's share, said in the table), grown and scored on the same rows.
 * 2. Speed on one core: training time of 100 trees, and points scored per second over the http
 *    set (567,498 points of 3 features), for each; the other library scores a sample.
 *
 * Flags: `--json`; `--max-rows N`; `--sets a,b` to run some data sets only.
 */
import { join } from 'node:path'

import { IsolationForest as MlIsolationForest } from 'ml-isolation-forest'

import { evaluateForest } from '../detectors/anomaly/evaluate-forest.ts'
import { IsolationForest } from '../detectors/anomaly/isolation-forest.ts'
import { readLabelledCsv, type LabelledData } from '../detectors/anomaly/read-labelled-csv.ts'
import { rocAuc } from '../detectors/anomaly/roc-auc.ts'
import { seededRandom } from '../test/helpers/seeded-random.ts'
import { corporaDir } from './bench-inputs.ts'
import { formatRate, formatTable, secondsOf } from './measure.ts'

/** Table 2 of the paper (AUC of iForest); cardio is not in it. */
const paper: Record<string, number | undefined> = {
  http: 1.0,
  smtp: 0.88,
  shuttle: 1.0,
  mammography: 0.86,
  satellite: 0.71,
  pima: 0.67,
  breastw: 0.99,
  cardio: undefined,
}
const SEEDS = 5

interface Options {
  json: boolean
  maxRows: number
  sets: string[]
}

function parseOptions(argv: readonly string[]): Options {
  const options: Options = { json: false, maxRows: 20_000, sets: Object.keys(paper) }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--json') {
      options.json = true
      continue
    }
    const value = argv[++i]
    if (arg === '--max-rows' && Number(value) >= 2) options.maxRows = Number(value)
    else if (arg === '--sets' && value) options.sets = value.split(',')
    else
      throw new Error(
        `unknown argument ${arg} ${value ?? ''}: expected --json, --max-rows N or --sets a,b`,
      )
  }
  return options
}

/**
 * Up to `max` rows of `data` as the other library's row arrays: a seeded sample drawn from the
 * anomalies and the normal points apart, each in its share of the whole (at least one anomaly),
 * so a set with few anomalies (smtp has 30 in 95,156) keeps its contamination in the sample.
 */
function sampleRows(data: LabelledData, max: number): { rows: number[][]; labels: boolean[] } {
  const { rows: n, columns, values } = data.matrix
  let picked = Array.from({ length: n }, (_, i) => i)
  if (n > max) {
    const random = seededRandom(1)
    const draw = (from: number[], count: number): number[] => {
      for (let i = 0; i < count; i++) {
        const j = i + Math.floor(random() * (from.length - i))
        ;[from[i], from[j]] = [from[j]!, from[i]!]
      }
      return from.slice(0, count)
    }
    const anomalies = picked.filter((r) => data.labels[r])
    const normal = picked.filter((r) => !data.labels[r])
    const share = Math.max(1, Math.round((max * anomalies.length) / n))
    picked = [...draw(anomalies, share), ...draw(normal, max - share)].sort((a, b) => a - b)
  }
  return {
    rows: picked.map((r) => Array.from(values.subarray(r * columns, (r + 1) * columns))),
    labels: picked.map((r) => data.labels[r]!),
  }
}

function main(): void {
  const options = parseOptions(process.argv.slice(2))
  const auc: {
    set: string
    rows: number
    paper?: number
    palisade: number
    library: number
    libraryRows: number
  }[] = []
  let http: LabelledData | undefined
  for (const set of options.sets) {
    const data = readLabelledCsv(join(corporaDir, 'anomaly', `${set}.csv`), 'label')
    if (set === 'http') http = data
    const ours = evaluateForest(data, { seeds: SEEDS }).auc
    const sample = sampleRows(data, options.maxRows)
    let theirs = 0
    for (let run = 0; run < SEEDS; run++) {
      const forest = new MlIsolationForest({ nEstimators: 100 })
      forest.train(sample.rows)
      theirs += rocAuc(forest.predict(sample.rows), sample.labels) / SEEDS
    }
    auc.push({
      set,
      rows: data.matrix.rows,
      paper: paper[set],
      palisade: ours,
      library: theirs,
      libraryRows: sample.rows.length,
    })
    if (!options.json) process.stderr.write(`${set}: done\n`)
  }

  http ??= readLabelledCsv(join(corporaDir, 'anomaly', 'http.csv'), 'label')
  let ours: IsolationForest | undefined
  const trainOurs = secondsOf(() => (ours = IsolationForest.train(http.matrix, { seed: 1 })))
  ours!.scoreAll(http.matrix) // warm-up
  const scoreOurs = Math.min(...[0, 1, 2].map(() => secondsOf(() => ours!.scoreAll(http.matrix))))
  const sample = sampleRows(http, options.maxRows)
  const theirs = new MlIsolationForest({ nEstimators: 100 })
  const trainTheirs = secondsOf(() => theirs.train(sample.rows))
  theirs.predict(sample.rows)
  const scoreTheirs = Math.min(...[0, 1, 2].map(() => secondsOf(() => theirs.predict(sample.rows))))
  const speed = {
    points: http.matrix.rows,
    palisade: {
      trainSeconds: trainOurs,
      pointsPerSecond: http.matrix.rows / scoreOurs,
    },
    library: {
      trainRows: sample.rows.length,
      trainSeconds: trainTheirs,
      pointsPerSecond: sample.rows.length / scoreTheirs,
    },
  }

  if (options.json) {
    process.stdout.write(`${JSON.stringify({ seeds: SEEDS, auc, speed }, null, 2)}\n`)
    return
  }
  const rows = auc.map((a) => [
    a.set,
    String(a.rows),
    a.paper === undefined ? '-' : a.paper.toFixed(2),
    a.palisade.toFixed(3),
    a.paper === undefined ? '-' : (a.palisade - a.paper).toFixed(3),
    a.library.toFixed(3),
    a.libraryRows === a.rows ? 'all' : String(a.libraryRows),
  ])
  const header = ['set', 'rows', 'paper', 'palisade', 'vs paper', 'ml-isolation-forest', 'its rows']
  process.stdout.write(`ROC AUC, ${SEEDS} seeds, 100 trees\n${formatTable(header, rows)}\n\n`)
  process.stdout.write(
    'http, one core: palisade trains 100 trees (ψ = 256) in ' +
      `${speed.palisade.trainSeconds.toFixed(3)} s ` +
      `and scores ${formatRate(speed.palisade.pointsPerSecond)} points/s; ` +
      `ml-isolation-forest trains on ${speed.library.trainRows} rows in ` +
      `${speed.library.trainSeconds.toFixed(2)} s and scores ` +
      `${formatRate(speed.library.pointsPerSecond)} points/s ` +
      `(${(speed.palisade.pointsPerSecond / speed.library.pointsPerSecond).toFixed(1)}x)\n`,
  )
}

main()
