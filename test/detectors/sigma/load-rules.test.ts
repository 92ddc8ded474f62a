import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'

import { afterAll, describe, expect, it } from 'vitest'

import { loadRules } from '../../../detectors/sigma/load-rules.ts'

const root = mkdtempSync(join(tmpdir(), 'palisade-load-rules-'))
let dirs = 0

afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

/** A fresh folder holding `files` (name to text), nested folders made as needed. */
function folder(files: Record<string, string>): string {
  const dir = join(root, `case-${++dirs}`)
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true })
    writeFileSync(join(dir, name), text)
  }
  return dir
}

const ID = '5e1d7c3a-8b2f-4a6e-9c0d-1f2e3a4b5c6d'

function detection(id: string, title: string): string {
  return [
    `title: ${title}`,
    `id: ${id}`,
    'logsource: { product: linux, service: sshd }',
    'detection:',
    '  selection: { event.outcome: failure }',
    '  condition: selection',
    '',
  ].join('\n')
}

function filter(id: string): string {
  return [
    'title: Not the robot',
    `id: ${id}`,
    'logsource: { product: linux, service: sshd }',
    'filter:',
    `  rules: [${ID}]`,
    '  selection: { user.name: robot }',
    '  condition: not selection',
    '',
  ].join('\n')
}

/** How a file is named in rejections: relative to the working directory. */
const shown = (dir: string, name: string) => relative(process.cwd(), join(dir, name))

describe('loading rule folders', () => {
  it('loads the first of two documents with one id and rejects the later, naming both places', () => {
    const dir = folder({
      'a.yml': detection(ID, 'first'),
      'b/c.yml': `${detection('0a1b2c3d-0000-4000-8000-000000000001', 'other')}---\n${filter(ID)}`,
    })
    const { documents, rejections } = loadRules([dir])
    expect(documents.map((d) => [d.kind, d.title])).toEqual([
      ['detection', 'first'],
      ['detection', 'other'],
    ])
    expect(rejections).toEqual([
      {
        file: shown(dir, 'b/c.yml'),
        line: 7,
        rule_id: ID,
        message:
          `duplicate id ${ID}: this filter (${shown(dir, 'b/c.yml')}:7) has the id of the ` +
          `detection at ${shown(dir, 'a.yml')}:1, which is loaded instead; ` +
          'give one of them another id',
      },
    ])
  })

  it('rejects a repeated id within one file and across correlations', () => {
    const correlation = [
      'title: Burst',
      `id: ${ID}`,
      'correlation:',
      '  type: event_count',
      `  rules: [${ID}]`,
      '  timespan: 5m',
      '  condition: { gte: 3 }',
      '',
    ].join('\n')
    const dir = folder({ 'one.yml': `${detection(ID, 'rule')}---\n${correlation}` })
    const { documents, rejections } = loadRules([dir])
    expect(documents.map((d) => d.kind)).toEqual(['detection'])
    expect(rejections.map((r) => r.message)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^duplicate id ${ID}: this correlation \\(.*one\\.yml:7\\) has the id of .*one\\.yml:1`,
        ),
      ),
    ])
  })

  it('reads a file once when the folders given overlap, so it is not its own duplicate', () => {
    const dir = folder({ 'sub/a.yml': detection(ID, 'once') })
    const loaded = loadRules([dir, join(dir, 'sub'), join(dir, 'sub', 'a.yml')])
    expect(loaded.files).toBe(1)
    expect(loaded.documents).toHaveLength(1)
    expect(loaded.rejections).toEqual([])
  })
})
