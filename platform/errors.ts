/**
 * Palisade's one root error. Every error has a stable string code (never reused once
 * retired), an HTTP status where it can reach the API, a `retriable` flag where it crosses
 * a network, and the context needed to act on it (field path, file, line, what arrived).
 */
export class PalisadeError extends Error {
  readonly code: string
  readonly status: number
  readonly retriable: boolean
  readonly context: Record<string, unknown>

  constructor(
    code: string,
    message: string,
    options: {
      status?: number
      retriable?: boolean
      context?: Record<string, unknown>
      cause?: unknown
    } = {},
  ) {
    super(message, { cause: options.cause })
    this.name = 'PalisadeError'
    this.code = code
    this.status = options.status ?? 500
    this.retriable = options.retriable ?? false
    this.context = options.context ?? {}
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...this.context }
  }
}

/** Input that does not have the shape we expected; says what was expected and what came. */
export class ValidationError extends PalisadeError {
  constructor(message: string, context: Record<string, unknown> = {}, code = 'PAL_INVALID_INPUT') {
    super(code, message, { status: 400, context })
    this.name = 'ValidationError'
  }
}

/** A configuration that cannot run: every problem with its path. */
export class ConfigError extends PalisadeError {
  readonly problems: { path: string; message: string }[]

  constructor(problems: { path: string; message: string }[]) {
    const lines = problems.map((p) => `  ${p.path || '(root)'}: ${p.message}`).join('\n')
    super('PAL_CONFIG_INVALID', `invalid configuration:\n${lines}`, { context: { problems } })
    this.name = 'ConfigError'
    this.problems = problems
  }
}

/** A store (ClickHouse, SQLite, PostgreSQL) failed; retriable when the store may come back. */
export class StoreError extends PalisadeError {
  constructor(message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super('PAL_STORE_FAILED', message, {
      status: 503,
      retriable: options.retriable ?? true,
      ...options,
    })
    this.name = 'StoreError'
  }
}

/** Shortens an arriving value for an error message, so errors never carry whole payloads. */
export function describeValue(value: unknown, max = 60): string {
  let text: string
  if (value === undefined) text = 'nothing'
  else if (typeof value === 'string') text = JSON.stringify(value)
  else {
    try {
      text = JSON.stringify(value) ?? String(value)
    } catch {
      text = String(value)
    }
  }
  return text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text
}
