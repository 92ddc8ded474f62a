import { ValidationError } from '../../platform/errors.ts'

/**
 * Rows of numeric features, row after row in one `Float64Array`: a forest reads a million
 * points without a million small arrays. `values[row * columns + column]`.
 */
export interface FeatureMatrix {
  readonly rows: number
  readonly columns: number
  readonly values: Float64Array
}

/**
 * A matrix from rows of numbers, checked: every row as wide as the first, every value finite.
 * A NaN or an infinity has no place on a split between a minimum and a maximum, and would
 * silently send every point down one side, so it is refused with its row and column.
 *
 * @param names column names, for the error message only
 * @throws ValidationError `PAL_ANOMALY_BAD_VALUE` naming the row and column at fault
 * @example toFeatureMatrix([[1, 2], [3, 4]]) // { rows: 2, columns: 2, values: [1, 2, 3, 4] }
 */
export function toFeatureMatrix(
  rows: readonly (readonly number[])[],
  names?: readonly string[],
): FeatureMatrix {
  const columns = rows[0]?.length ?? 0
  const values = new Float64Array(rows.length * columns)
  rows.forEach((row, r) => {
    if (row.length !== columns) {
      throw new ValidationError(
        `row ${r}: expected ${columns} features like the first row, got ${row.length}`,
        { row: r },
        'PAL_ANOMALY_BAD_VALUE',
      )
    }
    for (let c = 0; c < columns; c++) values[r * columns + c] = row[c]!
  })
  checkFinite({ rows: rows.length, columns, values }, names)
  return { rows: rows.length, columns, values }
}

/**
 * @throws ValidationError `PAL_ANOMALY_BAD_VALUE` at the first value that is not a finite number
 */
export function checkFinite(matrix: FeatureMatrix, names?: readonly string[]): void {
  const { rows, columns, values } = matrix
  for (let i = 0; i < rows * columns; i++) {
    if (Number.isFinite(values[i])) continue
    const row = Math.floor(i / columns)
    const column = i % columns
    const name = names?.[column] ?? `column ${column}`
    throw new ValidationError(
      `row ${row}, ${name}: expected a finite number, got ${values[i]}`,
      { row, column: names?.[column] ?? column },
      'PAL_ANOMALY_BAD_VALUE',
    )
  }
}
