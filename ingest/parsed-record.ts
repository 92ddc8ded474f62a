/**
 * What every parser returns: one entry per record it could frame, in order. A record either
 * parsed into an event object (ECS-shaped, not yet validated against the schema) or failed
 * with a reason; either way its original text is kept, so nothing is lost on the way to the
 * dead-letter table.
 */
export interface ParsedRecord {
  /** Position of the record in the body (0-based), for per-record results. */
  index: number
  /** The record's original text, exactly as it arrived. */
  raw: string
  event?: Record<string, unknown>
  error?: { code: string; message: string; path?: string }
}

export interface ParseContext {
  /** Names the stream the records come from (file, peer, batch source), for derived ids. */
  stream: string
  /** When the records arrived; the default time for records that carry none. */
  receivedAt: Date
  /** IANA time zone for RFC 3164 dates, which carry none. */
  timeZone: string
  /** Position of the first record in its stream (syslog ids derive from it). */
  startPosition?: number
}

export type Parser = (body: string, ctx: ParseContext) => ParsedRecord[]
