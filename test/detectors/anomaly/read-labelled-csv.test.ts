import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { evaluateForest } from '../../../detectors/anomaly/evaluate-forest.ts'
import { readLabelledCsv } from '../../../detectors/anomaly/read-labelled-csv.ts'
import { corporaDir } from '../../ingest/corpus.ts'

const dir = mkdtempSync(join(tmpdir(), 'palisade-csv-'))

function csv(name: string, text: string): string {
  const file = join(dir, name)
  writeFileSync(file, text)
  return file
}

describe('readLabelledCsv', () => {
  it('reads features row by row and the label apart, any number but 0 an anomaly', () => {
    const file = csv('ok.csv', 'a,label,b\n1,0,2\n3,1,4\n5.5,2,-6e1\n')
    const data = readLabelledCsv(file, 'label')
    expect(data.names).toEqual(['a', 'b'])
    expect(Array.from(data.matrix.values)).toEqual([1, 2, 3, 4, 5.5, -60])
    expect(data.labels).toEqual([false, true, true])
  })

  it('names the line and column of a cell that is not a number', () => {
    const file = csv('bad.csv', 'a,label\n1,0\nx,1\n')
    expect(() => readLabelledCsv(file, 'label')).toThrow(
      `${file}:3: column a: expected a finite number, got "x"`,
    )
    const empty = csv('empty-cell.csv', 'a,label\n,0\n')
    expect(() => readLabelledCsv(empty, 'label')).toThrow(/:2: column a: .* got ""/)
  })

  it('says which columns there are when the label column is missing', () => {
    const file = csv('nolabel.csv', 'a,b\n1,2\n')
    expect(() => readLabelledCsv(file, 'label')).toThrow(
      'expected a label column named "label", got columns a, b',
    )
  })

  it('refuses a line of another width than the header', () => {
    const file = csv('ragged.csv', 'a,label\n1,0\n1,2,3\n')
    expect(() => readLabelledCsv(file, 'label')).toThrow(/same number of columns.*line 3/)
  })
})

describe('evaluateForest', () => {
  it('reaches the paper’s ROC AUC on breastw (0.99) within 0.02, over five seeds', () => {
    const data = readLabelledCsv(join(corporaDir, 'anomaly', 'breastw.csv'), 'label')
    const result = evaluateForest(data, { seeds: 5 })
    expect(result.auc_per_seed).toHaveLength(5)
    expect(result.auc).toBeGreaterThanOrEqual(0.97)
    expect(result.settings).toMatchObject({ trees: 100, sample_size: 256, rows: 683 })
    expect(result.settings.anomalies).toBe(239)
  })
})
