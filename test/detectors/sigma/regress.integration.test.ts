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

  it('compiles every rule, and the ones whose placeholders have no value load as warnings', () => {
    const report = checkRules(ruleDirs)
    expect(report.files).toBe(3777)
    expect(report.compiled / report.total).toBeGreaterThanOrEqual(0.995)
    expect(report.rejected).toEqual([])
    expect(report.missing_placeholders.length).toBe(25)
    for (const w of report.missing_placeholders) expect(w.reason).toMatch(/placeholder %.+% ha/)
  })
})
