import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { loadPlaybooks } from '../../../auth/zero-trust/playbook-schema.ts'
import { rangeOf } from '../../../auth/zero-trust/responder.ts'
import type { PalisadeError } from '../../../platform/errors.ts'

function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'palisade-playbook-')), 'playbooks.yml')
  writeFileSync(path, text)
  return path
}

function refusal(text: string): PalisadeError {
  try {
    loadPlaybooks([file(text)])
  } catch (error) {
    return error as PalisadeError
  }
  throw new Error('expected the playbook file to be refused')
}

describe('playbook files', () => {
  it('reads a playbook with its defaults: no approval, no dry run', () => {
    const [playbook] = loadPlaybooks([
      file(
        'version: 1\nplaybooks:\n  - id: lock\n    match: { min_level: critical }\n' +
          '    actions: [{ type: lock_account }]\n',
      ),
    ])
    expect(playbook).toEqual({
      id: 'lock',
      match: { min_level: 'critical' },
      actions: [{ type: 'lock_account', approval: false }],
      dry_run: false,
    })
  })

  it('refuses an unknown action with its file, line and path', () => {
    const error = refusal(
      'version: 1\nplaybooks:\n  - id: x\n    match: { min_level: high }\n    actions:\n' +
        '      - { type: lock_account }\n      - { type: format_disk }\n',
    )
    expect(error.code).toBe('PAL_PLAYBOOK_INVALID')
    expect(error.message).toMatch(/playbooks\.yml:7: playbooks\.0\.actions\.1\.type: /)
  })

  it('refuses a webhook key written in the file instead of named by its variable', () => {
    const error = refusal(
      'version: 1\nplaybooks:\n  - id: x\n    match: { min_level: high }\n    actions:\n' +
        '      - { type: notify, url: "https://hooks.example/x", secret_env: "s3cr3t value" }\n',
    )
    expect(error.message).toContain('expected an environment variable name')
  })

  it('refuses a playbook without a match condition, which would answer every alert', () => {
    const error = refusal(
      'version: 1\nplaybooks:\n  - id: x\n    match: {}\n    actions: [{ type: notify_all }]\n',
    )
    expect(error.message).toContain('playbooks.0.')
  })

  it('blocks the network around an address for a prefix', () => {
    expect(rangeOf('203.0.113.77', 24)).toBe('203.0.113.0/24')
    expect(rangeOf('198.51.100.200', 30)).toBe('198.51.100.200/30')
    expect(rangeOf('10.1.2.3', 8)).toBe('10.0.0.0/8')
  })
})
