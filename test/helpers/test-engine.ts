import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { configSchema } from '../../platform/config/config-schema.ts'
import type { ConfigInput } from '../../platform/config/config-schema.ts'
import { startEngine } from '../../platform/engine.ts'
import type { Engine, EngineOptions } from '../../platform/engine.ts'
import { createLogger } from '../../platform/logger.ts'
import type { Logger } from '../../platform/logger.ts'

export interface TestEngine {
  engine: Engine
  url: string
  dataDir: string
  adminToken: string
  /** fetch against the engine with the admin token unless `token` is given (null for none). */
  request(
    method: string,
    path: string,
    options?: { body?: string | object; contentType?: string; token?: string | null },
  ): Promise<{ status: number; body: any }>
  close(): Promise<void>
}

/**
 * Starts a real all-in-one Palisade (embedded ClickHouse, SQLite) in this process on a
 * fresh data dir and ephemeral ports. chDB allows one data dir per process at a time, so an
 * integration file starts one engine and closes it before starting another. Given a `dataDir`,
 * it starts on that one (a restart) and leaves it in place when closed. It logs nothing unless
 * given a `logger` (a test that reads what the engine logs).
 */
export async function startTestEngine(
  overrides: ConfigInput = {},
  options: EngineOptions & { logger?: Logger } = {},
): Promise<TestEngine> {
  const given = overrides.dataDir
  const dataDir = given ?? mkdtempSync(join(tmpdir(), 'palisade-test-'))
  const config = configSchema.parse({
    ...overrides,
    dataDir,
    http: { port: 0, ...overrides.http },
    log: { level: 'silent' },
  })
  // -1 asks the listeners for ephemeral ports (0 in the configuration turns them off).
  config.syslog.udpPort = overrides.syslog?.udpPort ?? -1
  config.syslog.tcpPort = overrides.syslog?.tcpPort ?? -1
  const { logger = createLogger('silent'), ...engineOptions } = options
  const engine = await startEngine(config, logger, engineOptions)
  const adminToken = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim()

  return {
    engine,
    url: engine.url,
    dataDir,
    adminToken,
    async request(method, path, options = {}) {
      const headers: Record<string, string> = {}
      const token = options.token === undefined ? adminToken : options.token
      if (token) headers.authorization = `Bearer ${token}`
      let body: string | undefined
      if (typeof options.body === 'string') {
        body = options.body
        headers['content-type'] = options.contentType ?? 'application/json'
      } else if (options.body !== undefined) {
        body = JSON.stringify(options.body)
        headers['content-type'] = options.contentType ?? 'application/json'
      } else if (options.contentType) {
        headers['content-type'] = options.contentType
      }
      const response = await fetch(engine.url + path, { method, headers, body })
      const text = await response.text()
      let parsed: unknown = text
      try {
        parsed = JSON.parse(text)
      } catch {
        // not JSON (metrics, docs): keep the text
      }
      return { status: response.status, body: parsed }
    },
    async close() {
      await engine.close()
      if (given === undefined) rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** The repository's root and the shared corpora beside it. */
export const repoRoot = join(import.meta.dirname, '..', '..')
export const corpora = join(repoRoot, '..', 'shared', 'corpora')
