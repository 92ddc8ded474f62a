import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import { repoRoot } from './test-engine.ts'

export interface PalisadeProcess {
  child: ChildProcess
  url: string
  token: string
  /** Everything the process wrote to stderr, for failure messages. */
  stderr(): string
}

/**
 * Starts `palisade start` as a separate process, the way a user runs it, and resolves once it
 * says where it listens. Syslog listeners are off; the API port is chosen by the OS.
 *
 * @param env `PALISADE_*` variables laid over this process's environment
 */
export async function startPalisadeProcess(
  dataDir: string,
  env: Record<string, string> = {},
): Promise<PalisadeProcess> {
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, 'bin', 'palisade.js'),
      'start',
      '--data-dir',
      dataDir,
      '--port',
      '0',
      '--syslog-udp-port',
      '0',
      '--syslog-tcp-port',
      '0',
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  )
  let stdout = ''
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      const match = /listening on (http:\/\/\S+)/.exec(stdout)
      if (match) resolve(match[1]!)
    })
    child.once('exit', (code) =>
      reject(new Error(`palisade start exited with ${code} before listening:\n${stderr}`)),
    )
  })
  const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim()
  return { child, url, token, stderr: () => stderr }
}

/** Kills the process with SIGKILL (no chance to flush or close) and waits for it to go. */
export async function killHard(palisade: PalisadeProcess): Promise<void> {
  if (palisade.child.exitCode !== null) return
  const exited = once(palisade.child, 'exit')
  palisade.child.kill('SIGKILL')
  await exited
}
