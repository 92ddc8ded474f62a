import { describe, expect, it } from 'vitest'

import { checkRules } from '../../../detectors/sigma/check-rules.ts'
import { regress } from '../../../detectors/sigma/regress.ts'

const sigma = '../shared/corpora/sigma'
const ruleDirs = [
  'rules',
  'rules-emerging-threats',
  'rules-threat-hunting',
  'rules-placeholder',
].map((d) => `${sigma}/${d}`)

describe('the SigmaHQ corpus', () => {
  it('fires at least 80% of the expected detections in the regression data', () => {
    const report = regress(`${sigma}/regression_data`, ruleDirs)
    expect(report.expected).toBeGreaterThanOrEqual(138)
    expect(report.detected / report.expected).toBeGreaterThanOrEqual(0.8)
  })

  it('loads at least 99% of the rules, rejecting only those with unfilled placeholders', () => {
    const report = checkRules(ruleDirs)
    expect(report.files).toBe(3777)
    expect(report.loaded / report.files).toBeGreaterThanOrEqual(0.99)
    for (const r of report.rejections) expect(r.message).toMatch(/placeholder %.+% has no value/)
  })
})
