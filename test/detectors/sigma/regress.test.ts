import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'

import { afterAll, describe, expect, it } from 'vitest'

import { regress } from '../../../detectors/sigma/regress.ts'
import { ValidationError } from '../../../platform/errors.ts'

const root = mkdtempSync(join(tmpdir(), 'palisade-regress-'))
const rules = join(root, 'rules')
mkdirSync(rules)
writeFileSync(
  join(rules, 'r.yml'),
  'title: r\nlogsource: {product: windows}\ndetection:\n  s: {a: b}\n  condition: s\n',
)

afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

describe('rules regress on a malformed info.yml', () => {
  it('names the file and the line of the YAML error', () => {
    const data = join(root, 'regression_data', 'rules', 'windows', 'x')
    mkdirSync(data, { recursive: true })
    const info = join(data, 'info.yml')
    writeFileSync(info, 'regression_tests_info: []\nrule_metadata:\n  - id: a\nrule_metadata: []\n')
    let thrown: unknown
    try {
      regress(join(root, 'regression_data'), [rules])
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(ValidationError)
    const error = thrown as ValidationError
    expect(error.code).toBe('PAL_REGRESS_INFO_INVALID')
    expect(error.context).toEqual({ file: relative(process.cwd(), info), line: 4 })
    expect(error.message).toMatch(
      new RegExp(`^${escapeRegExp(relative(process.cwd(), info))}:4: invalid YAML: Map keys`),
    )
  })
})

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
