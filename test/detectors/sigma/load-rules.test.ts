import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'

import { afterAll, describe, expect, it } from 'vitest'

import { listRuleFiles, loadRules } from '../../../detectors/sigma/load-rules.ts'

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
const OTHER = '6f2e8d4b-9c3a-4b7f-8d1e-2a3b4c5d6e7f'

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
  it('loads the first of two documents with one id, rejecting the later and naming both', () => {
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

  it('rejects a document whose aliases would expand without end, and loads the rest', () => {
    // Nine levels of nine aliases each ("billion laughs"): the yaml package stops at its limit.
    const levels = ['a0: &a0 [x, x, x, x, x, x, x, x, x]']
    for (let i = 1; i <= 9; i++) levels.push(`a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`)}]`)
    const dir = folder({ 'bomb.yml': `${levels.join('\n')}\n`, 'ok.yml': detection(ID, 'Ok') })
    const loaded = loadRules([dir])
    expect(loaded.documents.map((d) => d.id)).toEqual([ID])
    expect(loaded.rejections).toHaveLength(1)
    expect(loaded.rejections[0]).toMatchObject({ file: shown(dir, 'bomb.yml'), line: 1 })
    expect(loaded.rejections[0]!.message).toMatch(/^invalid YAML: .*alias/i)
  })

  it('reads a file once when the folders given overlap, so it is not its own duplicate', () => {
    const dir = folder({ 'sub/a.yml': detection(ID, 'once') })
    const loaded = loadRules([dir, join(dir, 'sub'), join(dir, 'sub', 'a.yml')])
    expect(loaded.files).toBe(1)
    expect(loaded.documents).toHaveLength(1)
    expect(loaded.rejections).toEqual([])
  })
})

describe('symbolic links in rule folders', () => {
  it('reads a rule through a link to a file and through a link to a folder', () => {
    const elsewhere = folder({ 'real.yml': detection(ID, 'linked file') })
    const shared = folder({ 'deep/other.yml': detection(OTHER, 'linked folder') })
    const dir = folder({})
    mkdirSync(dir)
    symlinkSync(join(elsewhere, 'real.yml'), join(dir, 'a.yml'))
    symlinkSync(shared, join(dir, 'shared'))
    const { documents, rejections } = loadRules([dir])
    expect(rejections).toEqual([])
    expect(documents.map((d) => [d.file, d.title])).toEqual([
      [shown(dir, 'a.yml'), 'linked file'],
      [shown(dir, 'shared/deep/other.yml'), 'linked folder'],
    ])
  })

  it('reads a Kubernetes ConfigMap mount once, named by its keys, not its hidden folders', () => {
    // The layout a ConfigMap volume has: keys link into ..data, which links to a timestamped
    // folder that is replaced on every update.
    const dir = folder({ '..2026_01_05_08_00_00.1/ssh.yml': detection(ID, 'from a ConfigMap') })
    symlinkSync('..2026_01_05_08_00_00.1', join(dir, '..data'))
    symlinkSync(join('..data', 'ssh.yml'), join(dir, 'ssh.yml'))
    const { documents, rejections, files } = loadRules([dir])
    expect({ files, rejections }).toEqual({ files: 1, rejections: [] })
    expect(documents.map((d) => d.file)).toEqual([shown(dir, 'ssh.yml')])
  })

  it('reports a link whose target is missing, with file and reason, and loads the rest', () => {
    const dir = folder({ 'good.yml': detection(ID, 'good') })
    symlinkSync(join(dir, 'gone.yml'), join(dir, 'dangling.yml'))
    symlinkSync(join(dir, 'gone'), join(dir, 'folder'))
    symlinkSync(join(dir, 'gone.md'), join(dir, 'README.md'))
    const { documents, rejections } = loadRules([dir])
    expect(documents.map((d) => d.title)).toEqual(['good'])
    expect(rejections).toEqual([
      {
        file: shown(dir, 'dangling.yml'),
        message: dangling(join(dir, 'gone.yml')),
      },
      {
        file: shown(dir, 'folder'),
        message: dangling(join(dir, 'gone')),
      },
    ])
  })

  it('stops at a link back to a folder it is inside, and at a link to itself, saying so', () => {
    const dir = folder({ 'sub/rule.yml': detection(ID, 'once') })
    symlinkSync('..', join(dir, 'sub', 'up'))
    symlinkSync('self.yml', join(dir, 'self.yml'))
    const { documents, rejections } = loadRules([dir])
    expect(documents.map((d) => d.title)).toEqual(['once'])
    expect(rejections).toEqual([
      {
        file: shown(dir, 'self.yml'),
        message: 'symlink loop: self.yml leads back to itself through links; skipped',
      },
      {
        file: shown(dir, 'sub/up'),
        message:
          `symlink loop: it leads back to ${relative(process.cwd(), dir)}, ` +
          'a folder it is inside; skipped',
      },
    ])
    expect(listRuleFiles(dir)).toEqual([join(dir, 'sub', 'rule.yml')])
  })
})

function dangling(target: string): string {
  return `dangling symlink: it points to ${target}, which does not exist; skipped`
}
