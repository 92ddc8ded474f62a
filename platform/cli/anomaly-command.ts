import { SingleBar } from 'cli-progress'
import { type Command, InvalidArgumentError } from 'commander'

import { evaluateForest } from '../../detectors/anomaly/evaluate-forest.ts'
import { readLabelledCsv } from '../../detectors/anomaly/read-labelled-csv.ts'
import { runOffline } from './offline-action.ts'

interface EvalOptions {
  label: string
  seeds: number
  trees: number
  sampleSize: number
  json?: boolean
}

/**
 * `anomaly eval`: an offline tool that reads a labelled CSV file and opens no data. Exit
 * codes: 0 when the evaluation ran, 2 on a hard error (a file that cannot be read, a cell
 * that is not a number, a label column missing or holding one class only).
 */
export function registerAnomalyCommands(program: Command): void {
  const anomaly = program.command('anomaly').description('evaluate anomaly models offline')

  anomaly
    .command('eval')
    .description(
      'grow isolation forests on every row of a labelled CSV file and print the ROC AUC of ' +
        'their scores against the labels, averaged over seeds (the paper’s protocol)',
    )
    .argument('<file>', 'CSV with a header line: numeric feature columns and a label column')
    .option('--label <column>', 'the label column: 0 normal, anything else an anomaly', 'label')
    .option('--seeds <n>', 'forests to grow, with seeds 1..n', positive, 5)
    .option('--trees <n>', 'trees per forest', positive, 100)
    .option('--sample-size <n>', 'points per tree (ψ), at most 4096', positive, 256)
    .option('--json', 'print {auc, auc_per_seed, settings} as JSON')
    .action((file: string, options: EvalOptions) =>
      runOffline(options, () => {
        const data = readLabelledCsv(file, options.label)
        const bar =
          !options.json && process.stderr.isTTY
            ? new SingleBar({
                format: 'anomaly eval [{bar}] {value}/{total} seeds | eta {eta}s',
                stream: process.stderr,
              })
            : undefined
        bar?.start(options.seeds, 0)
        const result = evaluateForest(data, {
          seeds: options.seeds,
          trees: options.trees,
          sampleSize: options.sampleSize,
          onSeed: () => bar?.increment(),
        })
        bar?.stop()
        if (options.json) {
          process.stdout.write(`${JSON.stringify({ file, ...result })}\n`)
          return
        }
        const { settings } = result
        process.stdout.write(
          `${file}: ${settings.rows} rows, ${settings.features} features, ` +
            `${settings.anomalies} anomalies\n` +
            `isolation forest: ${settings.trees} trees, ψ = ${settings.sample_size}, ` +
            `seeds ${settings.seeds.join(', ')}\n` +
            `ROC AUC per seed: ${result.auc_per_seed.map((a) => a.toFixed(3)).join(' ')}\n` +
            `ROC AUC: ${result.auc.toFixed(3)}\n`,
        )
      }),
    )
}

function positive(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) {
    throw new InvalidArgumentError(`expected a positive integer, got ${JSON.stringify(value)}`)
  }
  return n
}
