import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { startPalisadeProcess } from '../../helpers/palisade-process.ts'
import type { PalisadeProcess } from '../../helpers/palisade-process.ts'
import { corpora, repoRoot } from '../../helpers/test-engine.ts'

const dir = mkdtempSync(join(tmpdir(), 'palisade-hunt-cli-'))
const ruleFile = join(dir, 'root-login.yml')
const EVENTS = 3000
const ROOT_EVERY = 9
const SYSMON = 300
const range = ['--from', '2026-10-01T00:00:00Z', '--to', '2026-10-02T00:00:00Z']
let server: PalisadeProcess

/** The CLI's environment: the running instance, and no other PALISADE_* variable. */
function env(): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('PALISADE_')),
  )
  return { ...clean, PALISADE_URL: server.url, PALISADE_TOKEN: server.token }
}

async function palisade(args: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [join(repoRoot, 'bin', 'palisade.js'), ...args],
      { cwd: dir, env: env(), maxBuffer: 64 * 1024 * 1024 },
    )
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

async function api(method: string, path: string, body?: string): Promise<any> {
  const response = await fetch(server.url + path, {
    method,
    headers: {
      authorization: `Bearer ${server.token}`,
      ...(body ? { 'content-type': 'application/x-ndjson' } : {}),
    },
    body,
  })
  return response.json()
}

beforeAll(async () => {
  writeFileSync(
    ruleFile,
    'title: SSH login as root\nid: 77777777-7777-4777-8777-777777777777\nlevel: high\n' +
      'logsource: {product: linux, service: sshd}\n' +
      'detection:\n  s: {user.name: root, event.outcome: success}\n  condition: s\n',
  )
  server = await startPalisadeProcess(join(dir, 'data'))
  const lines = Array.from({ length: EVENTS }, (_, i) =>
    JSON.stringify({
      '@timestamp': new Date(Date.parse('2026-10-01T00:00:00Z') + i * 5_000).toISOString(),
      event: { kind: 'event', dataset: 'sshd', action: 'ssh_login', outcome: 'success' },
      user: { name: i % ROOT_EVERY === 0 ? 'root' : `user${i}` },
      source: { ip: `10.0.0.${i % 200}` },
      message: `Accepted password for user ${i}`,
    }),
  )
  // Sysmon process creations among them, for the SigmaHQ rules of the Ctrl-C test to read.
  for (let i = 0; i < SYSMON; i++) {
    lines.push(
      JSON.stringify({
        '@timestamp': new Date(Date.parse('2026-10-01T00:00:00Z') + i * 50_000 + 1).toISOString(),
        event: { kind: 'event' },
        host: { name: 'ws1' },
        winlog: {
          channel: 'Microsoft-Windows-Sysmon/Operational',
          event_id: 1,
          event_data: { Image: 'C:\\Windows\\System32\\cmd.exe', CommandLine: 'cmd /c echo' },
        },
      }),
    )
  }
  for (let i = 0; i < lines.length; i += 1000) {
    const batch = lines.slice(i, i + 1000)
    const res = await api('POST', '/v1/events?format=ndjson', batch.join('\n'))
    expect(res.stored).toBe(batch.length)
  }
}, 120_000)

afterAll(async () => {
  if (server && server.child.exitCode === null) {
    const exited = once(server.child, 'exit')
    server.child.kill('SIGTERM')
    await exited
  }
  rmSync(dir, { recursive: true, force: true })
})

describe('palisade hunt', () => {
  it('prints help for hunt, hunt status and hunt cancel', async () => {
    const help = await palisade(['hunt', '--help'])
    expect(help.code).toBe(0)
    for (const flag of ['--rule <file>', '--rule-id <id>', '--from <time>', '--to <time>']) {
      expect(help.stdout).toContain(flag)
    }
    expect((await palisade(['hunt', 'status', '--help'])).stdout).toMatch(/<id>/)
    expect((await palisade(['hunt', 'cancel', '--help'])).stdout).toMatch(/<id>/)
  })

  it('hunts a rule file and prints one line per alert, then the summary', async () => {
    const text = await palisade([
      'hunt',
      '--rule',
      ruleFile,
      ...range,
      '--max-slice-events',
      '1000',
    ])
    expect(text.code, text.stderr).toBe(0)
    const lines = text.stdout.trim().split('\n')
    const expected = Math.ceil(EVENTS / ROOT_EVERY)
    expect(lines).toHaveLength(expected + 1)
    expect(lines[0]).toMatch(
      /^2026-10-01T\S+Z {2}high {4} {2}SSH login as root {2}source\.ip=10\.0\.0\.\d+ {2}\(1 events\)$/,
    )
    expect(lines.at(-1)).toMatch(
      new RegExp(
        `^hunt \\S+ done: ${expected} alerts from ${EVENTS + SYSMON}/${EVENTS + SYSMON} events ` +
          'in 4/4 slices; 1 rules hunted, 0 refused$',
      ),
    )

    const json = await palisade(['hunt', '--rule', ruleFile, ...range, '--json'])
    expect(json.code).toBe(0)
    const hunt = JSON.parse(json.stdout)
    expect(hunt.state).toBe('done')
    expect(hunt.alerts).toHaveLength(expected)
    expect(hunt.alerts.every((a: { user?: unknown; origin: string }) => a.origin === 'hunt')).toBe(
      true,
    )

    const status = await palisade(['hunt', 'status', hunt.id, '--json'])
    expect(
      JSON.parse(status.stdout)
        .alerts.map((a: { id: string }) => a.id)
        .sort(),
    ).toEqual(hunt.alerts.map((a: { id: string }) => a.id).sort())

    const cancel = await palisade(['hunt', 'cancel', hunt.id])
    expect(cancel.code).toBe(1)
    expect(cancel.stderr).toMatch(/^palisade: hunt \S+ is done, not running/)
  }, 120_000)

  it('says what it needs and exits 2 when given no rule or a rule file it cannot read', async () => {
    const none = await palisade(['hunt', ...range])
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(/expected --rule FILE or --rule-id ID, got neither/)
    const missing = await palisade(['hunt', '--rule', join(dir, 'absent.yml'), ...range])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/--rule .*absent\.yml: cannot read it/)
  })

  it('cancels the hunt on the server at Ctrl-C and prints what it found', async () => {
    // Windows rules cost ClickHouse a second or more per query to analyse, so the hunt is
    // still running when the interrupt comes.
    const folder = join(corpora, 'sigma', 'rules', 'windows', 'process_creation')
    const slow = readdirSync(folder)
      .sort()
      .slice(0, 60)
      .flatMap((f) => ['--rule', join(folder, f)])
    const child = spawn(
      process.execPath,
      [
        join(repoRoot, 'bin', 'palisade.js'),
        'hunt',
        '--rule',
        ruleFile,
        ...slow,
        ...range,
        '--max-slice-events',
        '1000',
      ],
      { cwd: dir, env: env(), stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const exited = once(child, 'exit')

    let id: string | undefined
    for (let i = 0; i < 600 && !id; i++) {
      const newest = (await api('GET', '/v1/hunts?limit=1')).items[0]
      if (newest?.state === 'running' && newest.progress.slices.done >= 1) id = newest.id
      else await sleep(100)
    }
    expect(id).toBeDefined()
    child.kill('SIGINT')
    const [code] = await exited
    expect(code, stderr).toBe(130)
    expect(stderr).toMatch(/cancelling hunt/)
    expect(stdout).toMatch(new RegExp(`hunt ${id} cancelled: \\d+ alerts`))
    const hunt = await api('GET', `/v1/hunts/${id}`)
    expect(hunt.state).toBe('cancelled')
    expect(hunt.progress.matches).toBeGreaterThan(0)
    expect(stdout.trim().split('\n')).toHaveLength(hunt.progress.matches + 1)
  }, 180_000)
})
