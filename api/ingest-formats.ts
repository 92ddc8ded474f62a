import { parseEvtxJson } from '../ingest/parsers/evtx-json.ts'
import { parseJsonArray, parseNdjson } from '../ingest/parsers/json-events.ts'
import { parseSyslog } from '../ingest/parsers/syslog.ts'
import type { Parser } from '../ingest/parsed-record.ts'

/** The formats `POST /v1/events` and `palisade replay` understand, and their parsers. */
export const ingestFormats = {
  json: parseJsonArray,
  ndjson: parseNdjson,
  'evtx-json': parseEvtxJson,
  syslog: parseSyslog,
} satisfies Record<string, Parser>

export type IngestFormat = keyof typeof ingestFormats
export const ingestFormatNames = Object.keys(ingestFormats) as IngestFormat[]

/** The format a body is read as when `?format=` is absent, from its content type. */
export const defaultFormatFor: Record<string, IngestFormat> = {
  'application/json': 'json',
  'application/x-ndjson': 'ndjson',
  'application/ndjson': 'ndjson',
  'application/jsonl': 'ndjson',
  'text/plain': 'syslog',
}

/** Guesses a file's format from its name, for `palisade replay`. */
export function formatForFile(path: string): IngestFormat | undefined {
  if (/\.(ndjson|jsonl)$/i.test(path)) return 'ndjson'
  if (/\.json$/i.test(path)) return 'json'
  if (/\.(log|txt|syslog)$/i.test(path)) return 'syslog'
  return undefined
}
