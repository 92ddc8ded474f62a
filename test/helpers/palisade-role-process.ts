import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'

import { repoRoot } from './test-engine.ts'

export interface PalisadeRoleProcess {
  child: ChildProcess
  /** Where it listens: the API (start, ingest, api) or `/metrics` (worker). */
  url: string
  stderr(): string
}

/**
 * Starts `palisade start|ingest|api|worker` as its own process, the way an operator runs it, and
 * resolves once it says where it listens. Ports are chosen by the OS; syslog is off.
 *
 * @param env `PALISADE_*` variables laid over this process's environment
 */
export async function startPalisadeRole(
  role: 'start' | 'ingest' | 'api' | 'worker',
  dataDir: string,
  env: Record<string, string>,
): Promise<PalisadeRoleProcess> {
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, 'bin', 'palisade.js'),
      role,
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
      const match = /(?:listening on|metrics on) (http:\/\/[^\s/]+)/.exec(stdout)
      if (match) resolve(match[1]!)
    })
    child.once('exit', (code) =>
      reject(new Error(`palisade ${role} exited with ${code} before listening:\n${stderr}`)),
    )
  })
  return { child, url, stderr: () => stderr }
}
