import { wellFormed } from './well-formed.ts'

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

/**
 * Shortens an arriving value for an error message, so errors never carry whole payloads: at
 * most `max` code points, then "…", and for a string its full length in code points.
 *
 * The cut never splits a surrogate pair and the result is always well-formed UTF-16, because
 * ClickHouse refuses a row holding a lone surrogate ("missing second part of surrogate pair")
 * and with it the whole batch. Objects and arrays are written without recursion and only as
 * far as the cut, so a huge or deeply nested value costs no more than a short one.
 *
 * @example describeValue('a'.repeat(100), 5) // '"aaaa… (100 chars)'
 */
export function describeValue(arriving: unknown, max = 60): string {
  // Enough UTF-16 units to hold `max` code points, even if every one is a surrogate pair.
  const budget = 2 * max + 2
  if (arriving === undefined) return 'nothing'
  const value = jsonValue(arriving, '')

  if (typeof value === 'string') {
    const shown = JSON.stringify(value.length > budget ? value.slice(0, budget) : value)
    const cut = cutCodePoints(shown, max)
    return cut.length < shown.length ? `${cut}… (${countCodePoints(value)} chars)` : cut
  }

  if (value !== null && typeof value === 'object') {
    const preview = previewJson(value, budget)
    const cut = cutCodePoints(preview.text, max)
    const whole = preview.whole && cut.length === preview.text.length
    return wellFormed(whole ? cut : `${cut}…`)
  }

  let text: string
  try {
    text = JSON.stringify(value) ?? String(value)
  } catch {
    text = String(value)
  }
  const cut = cutCodePoints(text, max)
  return wellFormed(cut.length < text.length ? `${cut}… (${countCodePoints(text)} chars)` : cut)
}

function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff
}

/** The first `max` code points of `text`; a surrogate pair is kept whole or left out whole. */
function cutCodePoints(text: string, max: number): string {
  if (text.length <= max) return text
  let end = 0
  for (let n = 0; n < max && end < text.length; n++) {
    const pair = isHighSurrogate(text.charCodeAt(end)) && isLowSurrogate(text.charCodeAt(end + 1))
    end += pair ? 2 : 1
  }
  return text.slice(0, end)
}

function countCodePoints(text: string): number {
  let count = text.length
  for (let i = 0; i < text.length - 1; i++) {
    if (isHighSurrogate(text.charCodeAt(i)) && isLowSurrogate(text.charCodeAt(i + 1))) {
      count--
      i++
    }
  }
  return count
}

type PreviewFrame =
  | { array: readonly unknown[]; next: number }
  | { object: Record<string, unknown>; keys: string[]; next: number; written: number }

/**
 * JSON text of `value`, as `JSON.stringify` writes it, but built with an explicit stack and
 * stopped once `budget` UTF-16 units are written; `whole` says whether it got to the end.
 */
function previewJson(value: object, budget: number): { text: string; whole: boolean } {
  const frames: PreviewFrame[] = []
  let text = ''
  let pending: unknown = value
  let hasPending = true

  while (text.length <= budget) {
    if (hasPending) {
      hasPending = false
      const v = pending
      if (v !== null && typeof v === 'object') {
        if (Array.isArray(v)) {
          text += '['
          frames.push({ array: v, next: 0 })
        } else {
          text += '{'
          const object = v as Record<string, unknown>
          frames.push({ object, keys: Object.keys(object), next: 0, written: 0 })
        }
      } else {
        text += previewScalar(v, budget) ?? 'null'
      }
      continue
    }

    const frame = frames[frames.length - 1]
    if (!frame) return { text, whole: true }

    if ('array' in frame) {
      if (frame.next >= frame.array.length) {
        text += ']'
        frames.pop()
        continue
      }
      if (frame.next > 0) text += ','
      pending = jsonValue(frame.array[frame.next], String(frame.next))
      hasPending = true
      frame.next++
      continue
    }

    if (frame.next >= frame.keys.length) {
      text += '}'
      frames.pop()
      continue
    }
    const key = frame.keys[frame.next++]!
    const v = jsonValue(frame.object[key], key)
    // JSON.stringify leaves out properties whose value it cannot write.
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue
    text += `${frame.written++ > 0 ? ',' : ''}${JSON.stringify(key)}:`
    pending = v
    hasPending = true
  }
  return { text, whole: false }
}

/** A value after its `toJSON` (a Date becomes its ISO string), as JSON.stringify sees it. */
function jsonValue(value: unknown, key: string): unknown {
  if ((typeof value === 'object' && value !== null) || typeof value === 'bigint') {
    const toJson = (value as { toJSON?: unknown }).toJSON
    if (typeof toJson === 'function') return (toJson as (key: string) => unknown).call(value, key)
  }
  return value
}

/** A scalar's JSON text; a long string is cut first, since only its start can show. */
function previewScalar(value: unknown, budget: number): string | undefined {
  if (typeof value === 'string') {
    return JSON.stringify(value.length > budget ? value.slice(0, budget + 1) : value)
  }
  if (typeof value === 'bigint') return String(value)
  return JSON.stringify(value)
}
