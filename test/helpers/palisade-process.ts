import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import { startPalisadeRole } from './palisade-role-process.ts'

export interface PalisadeProcess {
  child: ChildProcess
  url: string
  token: string
  /** Everything the process wrote to stderr, for failure messages. */
  stderr(): string
}

/**
 * Starts `palisade start` as a separate process, the way a user runs it (`startPalisadeRole`),
 * and reads the admin token its first start wrote.
 *
 * @param env `PALISADE_*` variables laid over this process's environment
 */
export async function startPalisadeProcess(
  dataDir: string,
  env: Record<string, string> = {},
): Promise<PalisadeProcess> {
  const started = await startPalisadeRole('start', dataDir, env)
  const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim()
  return { ...started, token }
}

/** Kills the process with SIGKILL (no chance to flush or close) and waits for it to go. */
export async function killHard(palisade: PalisadeProcess): Promise<void> {
  if (palisade.child.exitCode !== null) return
  const exited = once(palisade.child, 'exit')
  palisade.child.kill('SIGKILL')
  await exited
}
