import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { fromBase64Url } from '../../../crypto/bytes.ts'
import { sealField } from '../../../crypto/sealed-field.ts'
import { generateSealingKeyPair } from '../../../crypto/sealing-key-pair.ts'
import { wrapPrivateKey } from '../../../crypto/wrap-private-key.ts'
import { repoRoot } from '../../helpers/test-engine.ts'

const dir = mkdtempSync(join(tmpdir(), 'palisade-decrypt-'))
const passphrase = 'correct horse battery staple'

/** Runs the CLI as a user does, with stdin from `input`, and no PALISADE_* variable but ours. */
function palisade(args: string[], env: Record<string, string> = {}, input = '') {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('PALISADE_')),
  )
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      [join(repoRoot, 'bin', 'palisade.js'), ...args],
      { cwd: dir, env: { ...clean, ...env } },
      (error, stdout, stderr) =>
        resolve({
          code: error ? Number((error as { code?: number }).code ?? 1) : 0,
          stdout,
          stderr,
        }),
    )
    child.stdin!.end(input)
  })
}

const withPassphrase = { PALISADE_KEY_PASSPHRASE: passphrase }

describe('palisade decrypt and sealing-key generate, offline on the analyst’s machine', () => {
  it('generates a key file under the passphrase, and opens with it what was sealed to its key', async () => {
    const out = join(dir, 'owner.key.json')
    const made = await palisade(['sealing-key', 'generate', '--out', out], withPassphrase)
    expect(made.code).toBe(0)
    const { kid, suite, public_key } = JSON.parse(made.stdout)
    expect(statSync(out).mode & 0o777).toBe(0o600)
    const file = readFileSync(out, 'utf8')
    expect(JSON.parse(file)).toMatchObject({ format: 'palisade-sealing-key', kid })

    const again = await palisade(['sealing-key', 'generate', '--out', out], withPassphrase)
    expect(again.code).toBe(2)
    expect(again.stderr).toMatch(/cannot write the key file .*owner.key.json/)
    expect(readFileSync(out, 'utf8')).toBe(file)

    // An older key the owner rotated away from, in a cheap-to-open key file.
    const old = await generateSealingKeyPair()
    const oldFile = join(dir, 'old.key.json')
    const cheap = { scrypt: { N: 2 ** 10, r: 8, p: 1 } }
    writeFileSync(oldFile, JSON.stringify(await wrapPrivateKey(old, passphrase, cheap)))

    const current = { kid, suite, publicKey: fromBase64Url(public_key) }
    const a = '0193a0f4-7c2e-7b4d-9a31-5f2d8e6c1a01'
    const b = '0193a0f4-7c2e-7b4d-9a31-5f2d8e6c1a02'
    const events = [
      {
        id: a,
        user: { name: 'alice' },
        sealed: [
          await sealField({
            recipient: current,
            eventId: a,
            field: 'user.email',
            value: 'a@x.org',
          }),
          await sealField({ recipient: current, eventId: a, field: 'labels.n', value: 7 }),
        ],
      },
      {
        id: b,
        sealed: [await sealField({ recipient: old, eventId: b, field: 'message', value: 'old' })],
      },
    ]
    const input = JSON.stringify({ items: events, next_cursor: null })
    const opened = await palisade(
      ['decrypt', '--key', out, '--key', oldFile],
      withPassphrase,
      input,
    )
    expect(opened.stderr).toBe('opened 3 sealed fields in 2 events\n')
    expect(opened.code).toBe(0)
    expect(
      opened.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { id: a, user: { name: 'alice', email: 'a@x.org' }, labels: { n: 7 } },
      { id: b, message: 'old' },
    ])
  }, 120_000)

  it('leaves a value moved to another event sealed, says why, and exits 1', async () => {
    const key = await generateSealingKeyPair()
    const keyFile = join(dir, 'moved.key.json')
    const cheap = { scrypt: { N: 2 ** 10, r: 8, p: 1 } }
    writeFileSync(keyFile, JSON.stringify(await wrapPrivateKey(key, passphrase, cheap)))
    const a = '0193a0f4-7c2e-7b4d-9a31-5f2d8e6c1a01'
    const moved = await sealField({ recipient: key, eventId: a, field: 'message', value: 'x' })
    const eventsFile = join(dir, 'moved.ndjson')
    const other = '0193a0f4-7c2e-7b4d-9a31-5f2d8e6c1a09'
    writeFileSync(eventsFile, `${JSON.stringify({ id: other, sealed: [moved] })}\n`)

    const result = await palisade(['decrypt', '--key', keyFile, eventsFile], withPassphrase)
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`event ${other} message: the sealed value did not open`)
    expect(JSON.parse(result.stdout)).toEqual({ id: other, sealed: [moved] })
  })

  it('stops with exit 2 on a wrong or missing passphrase, naming the key file', async () => {
    const key = await generateSealingKeyPair()
    const keyFile = join(dir, 'locked.key.json')
    const cheap = { scrypt: { N: 2 ** 10, r: 8, p: 1 } }
    writeFileSync(keyFile, JSON.stringify(await wrapPrivateKey(key, passphrase, cheap)))

    const wrong = await palisade(['decrypt', '--key', keyFile], { PALISADE_KEY_PASSPHRASE: 'no' })
    expect(wrong.code).toBe(2)
    expect(wrong.stderr).toContain(`key file ${keyFile}: the passphrase does not unwrap key`)

    const missing = await palisade(['decrypt', '--key', keyFile])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/PALISADE_KEY_PASSPHRASE, which is unset or empty/)
  })
})
