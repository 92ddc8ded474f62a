import { z } from 'zod'

import { describeValue, ValidationError } from '../../platform/errors.ts'

/** One end of a requested range: an entry index, or a time the entries are compared with. */
export type RangeBound = { index: number } | { time: Date }

/** The range an export covers: entries from_index ≤ index < to_index. */
export interface ExportRange {
  from_index: number
  to_index: number
}

/** How the log answers the questions a range needs. */
export interface RangeLookup {
  /** The log's size now: the default end, and the end no bound may pass. */
  size: number
  /** The first index whose entry's time is at or after `time`, or undefined when none is. */
  firstIndexAtOrAfter(time: Date): Promise<number | undefined>
}

/** What `--from`/`--to` and the POST body's `from`/`to` accept, for help texts and errors. */
export const RANGE_VALUE_HELP =
  'an entry index (a non-negative integer; from is included, to is not) or an RFC 3339 time ' +
  'or date (2026-12-03T20:00:00Z, 2026-12-03T21:00:00+01:00, 2026-12-03 for midnight UTC; ' +
  'entries at or after from and before to)'

const rfc3339Time = z.iso.datetime({ offset: true })
const rfc3339Date = z.iso.date()

// DateTime64 in ClickHouse holds 1900 to 2299; the log holds nothing outside, so a bound out
// there selects the same entries as the edge of that span.
const earliest = Date.UTC(1900, 0, 1)
const latest = Date.UTC(2299, 11, 31, 23, 59, 59, 999)

/**
 * Reads one end of a range as given on the command line or in the API.
 *
 * @param where the name the caller knows the value by (`--from`, `body.to`), for errors.
 * @throws {ValidationError} `PAL_EXPORT_RANGE_INVALID` saying what was expected and what came.
 * @example parseRangeBound('2026-12-03', 'body.from') // { time: 2026-12-03T00:00:00.000Z }
 */
export function parseRangeBound(value: string | number, where: string): RangeBound {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return { index: value }
    throw invalid(where, value, 'an entry index as a non-negative integer')
  }

  const text = value.trim()
  if (/^\d+$/.test(text)) {
    const index = Number(text)
    if (Number.isSafeInteger(index)) return { index }
    throw invalid(where, value, 'an entry index below 2^53')
  }

  // RFC 3339 §5.6 allows "t" and "z" in lower case; zod's pattern wants them upper case.
  const upper = text.toUpperCase()
  if (rfc3339Date.safeParse(upper).success) return { time: new Date(`${upper}T00:00:00Z`) }
  if (rfc3339Time.safeParse(upper).success) return { time: new Date(upper) }

  throw invalid(where, value, RANGE_VALUE_HELP)
}

/**
 * Turns the requested ends into entry indexes: an index as it is, a time as the first entry at
 * or after it. A missing `from` is the first entry, a missing `to` the log's size now.
 *
 * @throws {ValidationError} `PAL_EXPORT_RANGE_INVALID` for an index beyond the log, or an end
 *   before the start (naming both as given).
 */
export async function resolveExportRange(
  requested: { from?: RangeBound; to?: RangeBound },
  names: { from: string; to: string },
  log: RangeLookup,
): Promise<ExportRange> {
  const { from, to } = requested
  if (from && to && 'time' in from && 'time' in to && to.time < from.time) {
    throw new ValidationError(
      `${names.to}: expected a time at or after ${names.from} (${from.time.toISOString()}), ` +
        `got ${to.time.toISOString()}`,
      { path: names.to },
      'PAL_EXPORT_RANGE_INVALID',
    )
  }

  const fromIndex = from ? await indexOf(from, names.from, log) : 0
  const toIndex = to ? await indexOf(to, names.to, log) : log.size

  if (toIndex < fromIndex) {
    throw new ValidationError(
      `${names.to}: expected an end at or after ${names.from} (entry ${fromIndex}), got one ` +
        `that selects entry ${toIndex}`,
      { path: names.to, from_index: fromIndex, to_index: toIndex },
      'PAL_EXPORT_RANGE_INVALID',
    )
  }

  return { from_index: fromIndex, to_index: toIndex }
}

async function indexOf(bound: RangeBound, where: string, log: RangeLookup): Promise<number> {
  if ('index' in bound) {
    if (bound.index <= log.size) return bound.index
    throw new ValidationError(
      `${where}: expected an entry index at most the log's size ${log.size}, got ${bound.index}`,
      { path: where, log_size: log.size },
      'PAL_EXPORT_RANGE_INVALID',
    )
  }

  const ms = Math.min(Math.max(bound.time.getTime(), earliest), latest)
  const found = await log.firstIndexAtOrAfter(new Date(ms))
  // An entry being appended is stored before the tree counts it: it is not in the log yet.
  return found === undefined ? log.size : Math.min(found, log.size)
}

function invalid(where: string, value: unknown, expected: string): ValidationError {
  return new ValidationError(
    `${where}: expected ${expected}, got ${describeValue(value)}`,
    { path: where },
    'PAL_EXPORT_RANGE_INVALID',
  )
}
