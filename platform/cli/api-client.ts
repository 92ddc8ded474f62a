import { existsSync, readFileSync } from 'node:fs'

import { adminTokenPath } from '../engine.ts'
import type { PalisadeConfig } from '../config/config-schema.ts'
import { PalisadeError } from '../errors.ts'

/**
 * How the CLI talks to a running instance: every command that reads or changes stored data
 * goes through the API, so it works the same on an embedded and a distributed Palisade.
 */
export class ApiClient {
  readonly baseUrl: string
  readonly #token: string | undefined

  constructor(baseUrl: string, token: string | undefined) {
    this.baseUrl = baseUrl.replace(/\/+$/, '')
    this.#token = token
  }

  static fromConfig(config: PalisadeConfig): ApiClient {
    const host = config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host
    const url =
      config.url ?? `http://${host.includes(':') ? `[${host}]` : host}:${config.http.port}`
    return new ApiClient(url, config.token ?? readAdminToken(config.dataDir))
  }

  /**
   * Sends a request and returns the parsed JSON answer.
   *
   * @throws {PalisadeError} with the API's own code and message for an error status, or
   *   `PAL_UNREACHABLE` (retriable) when no instance answers.
   */
  async request<T>(
    method: string,
    path: string,
    options: { body?: string | object; contentType?: string; query?: Record<string, unknown> } = {},
  ): Promise<T> {
    const url = new URL(this.baseUrl + path)
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined && value !== null && value !== '')
        url.searchParams.set(key, String(value))
    }
    const headers: Record<string, string> = {}
    if (this.#token) headers.authorization = `Bearer ${this.#token}`
    let body: string | undefined
    if (typeof options.body === 'string') {
      body = options.body
      headers['content-type'] = options.contentType ?? 'text/plain'
    } else if (options.body !== undefined) {
      body = JSON.stringify(options.body)
      headers['content-type'] = 'application/json'
    }

    let response: Response
    try {
      response = await fetch(url, { method, headers, body })
    } catch (error) {
      throw new PalisadeError(
        'PAL_UNREACHABLE',
        `no Palisade answered at ${this.baseUrl} (${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}); ` +
          'start one with `palisade start`, or pass --url',
        { retriable: true, cause: error },
      )
    }

    const text = await response.text()
    const parsed = text ? safeJson(text) : undefined
    if (!response.ok) {
      const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error
      throw new PalisadeError(
        error?.code ?? `HTTP_${response.status}`,
        error?.message ?? `${method} ${path} answered ${response.status}`,
        { status: response.status, retriable: response.status >= 500 || response.status === 429 },
      )
    }
    return parsed as T
  }
}

/**
 * The admin token a local `palisade start` left in its data dir.
 *
 * @throws {PalisadeError} saying where a token can come from, when there is none.
 */
function readAdminToken(dataDir: string): string {
  const file = adminTokenPath(dataDir)
  let token: string
  try {
    token = existsSync(file) ? readFileSync(file, 'utf8').trim() : ''
  } catch (error) {
    throw new PalisadeError(
      'PAL_NO_TOKEN',
      `cannot read the admin token in ${file}: ${(error as Error).message}`,
    )
  }
  if (!token) {
    throw new PalisadeError(
      'PAL_NO_TOKEN',
      `no API token: pass --token or set PALISADE_TOKEN, or point --data-dir at the data dir of ` +
        `a local Palisade (looked for ${file})`,
    )
  }
  return token
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
