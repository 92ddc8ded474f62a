import { readFileSync } from 'node:fs'

import { parse } from 'csv-parse/sync'

import { ValidationError } from '../../platform/errors.ts'
import type { FeatureMatrix } from './feature-matrix.ts'

/** A CSV file of numeric columns: the features, and the label column apart. */
export interface LabelledData {
  matrix: FeatureMatrix
  /** The feature columns' names, in order. */
  names: string[]
  /** Per row: whether its label marks an anomaly (any number but 0). */
  labels: boolean[]
}

/**
 * Reads a CSV file with a header line: every column but `label` is a feature, and every cell
 * must be a finite number. The label is an anomaly when it is a number other than 0 (ODDS and
 * ADBench write 1 for an anomaly and 0 for a normal point).
 *
 * @throws ValidationError `PAL_ANOMALY_BAD_CSV` naming the file, line and column of the first
 *   cell that is not a number, a missing label column, or a line of the wrong width
 */
export function readLabelledCsv(file: string, label: string): LabelledData {
  const text = readFileSync(file, 'utf8')
  let records: string[][]
  try {
    records = parse(text, { skip_empty_lines: true, trim: true, relax_column_count: false })
  } catch (error) {
    throw new ValidationError(
      `${file}: expected CSV with the same number of columns on every line: ${(error as Error).message}`,
      { file },
      'PAL_ANOMALY_BAD_CSV',
    )
  }

  const header = records[0]
  if (!header) {
    throw new ValidationError(
      `${file}: expected a header line, got an empty file`,
      { file },
      'PAL_ANOMALY_BAD_CSV',
    )
  }
  const labelAt = header.indexOf(label)
  if (labelAt < 0) {
    throw new ValidationError(
      `${file}: expected a label column named ${JSON.stringify(label)}, got columns ${header.join(', ')}`,
      { file, columns: header },
      'PAL_ANOMALY_BAD_CSV',
    )
  }

  const names = header.filter((_, i) => i !== labelAt)
  const rows = records.length - 1
  const values = new Float64Array(rows * names.length)
  const labels: boolean[] = new Array<boolean>(rows)
  for (let r = 0; r < rows; r++) {
    const record = records[r + 1]!
    let c = 0
    for (let i = 0; i < record.length; i++) {
      const cell = record[i]!
      const value = cell === '' ? NaN : Number(cell)
      if (!Number.isFinite(value)) {
        throw new ValidationError(
          `${file}:${r + 2}: column ${header[i]}: expected a finite number, got ${JSON.stringify(cell)}`,
          { file, line: r + 2, column: header[i] },
          'PAL_ANOMALY_BAD_CSV',
        )
      }
      if (i === labelAt) labels[r] = value !== 0
      else values[r * names.length + c++] = value
    }
  }
  return { matrix: { rows, columns: names.length, values }, names, labels }
}
