import { ValidationError } from '../../platform/errors.ts'

/**
 * Wall-clock time in an IANA zone to UTC, with nothing but `Intl.DateTimeFormat`: RFC 3164
 * dates carry neither a year nor a zone, so the receiver supplies both.
 */

const formatters = new Map<string, Intl.DateTimeFormat>()

function formatterFor(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
    formatters.set(zone, f)
  }
  return f
}

/** Checks an IANA zone name once per call site, so a bad setting fails loudly, not per line. */
export function assertTimeZone(zone: string): void {
  try {
    formatterFor(zone)
  } catch {
    throw new ValidationError(
      `expected an IANA time zone (like "UTC" or "America/New_York"), got ${JSON.stringify(zone)}`,
      { timeZone: zone },
      'PAL_BAD_TIME_ZONE',
    )
  }
}

interface Wall {
  year: number
  month: number // 1-12
  day: number
  hour: number
  minute: number
  second: number
}

function wallAt(utcMs: number, zone: string): Wall {
  const wall: Wall = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 }
  for (const part of formatterFor(zone).formatToParts(utcMs)) {
    if (part.type in wall) wall[part.type as keyof Wall] = Number(part.value)
  }
  return wall
}

// `formatToParts` is the slow step of a syslog line (four calls a line), and a zone's offset
// only changes at transitions, which fall on whole quarter hours in every zone in use; so
// offsets are remembered per quarter hour. The cache is small and cleared when it fills.
const QUARTER_HOUR = 900_000
const offsetCache = new Map<string, number>()

/** The zone's offset from UTC at an instant, in milliseconds (New York in winter: -5 h). */
export function zoneOffset(utcMs: number, zone: string): number {
  if (zone === 'UTC' || zone === 'Etc/UTC') return 0
  const key = `${zone}\u0000${Math.floor(utcMs / QUARTER_HOUR)}`
  const known = offsetCache.get(key)
  if (known !== undefined) return known
  const w = wallAt(utcMs, zone)
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second)
  const offset = asUtc - Math.floor(utcMs / 1000) * 1000
  if (offsetCache.size >= 10_000) offsetCache.clear()
  offsetCache.set(key, offset)
  return offset
}

/**
 * The UTC instant of a wall-clock time in `zone`. Around DST changes it follows Temporal's
 * "compatible" rule: a time that occurs twice (clocks going back) takes the earlier one; a time
 * that never occurs (clocks going forward) is moved forward by the gap (02:30 → 03:30 EDT).
 */
export function zonedTimeToUtc(w: Wall, zone: string): number {
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second)
  const day = 86_400_000
  const before = zoneOffset(asUtc - day, zone)
  const after = zoneOffset(asUtc + day, zone)
  const valid = [before, after]
    .map((offset) => asUtc - offset)
    .filter((t) => zoneOffset(t, zone) === asUtc - t)
  if (valid.length > 0) return Math.min(...valid)
  return asUtc - before
}

/**
 * How far into the future (relative to receipt) a yearless date may fall before it is taken
 * to be last year's: a day, so sender clocks that run fast, or a sender in a zone ahead of
 * the configured one, do not throw a fresh event back a year.
 */
export const FUTURE_TOLERANCE_MS = 86_400_000

/**
 * Completes a yearless RFC 3164 date: the latest year that puts the date no later than
 * `receivedAt` plus a day (so usually the receipt year or the one before). Feb 29 only
 * matches leap years, so it may reach back up to eight years.
 */
export function resolveYearlessDate(
  date: Omit<Wall, 'year'>,
  receivedAt: Date,
  zone: string,
): number | undefined {
  const receiptYear = wallAt(receivedAt.getTime(), zone).year
  const limit = receivedAt.getTime() + FUTURE_TOLERANCE_MS
  // Eight years back reaches the last Feb 29 even across a century that skips one (2100).
  for (let year = receiptYear + 1; year >= receiptYear - 8; year--) {
    const probe = new Date(Date.UTC(year, date.month - 1, date.day))
    if (probe.getUTCMonth() !== date.month - 1) continue
    const t = zonedTimeToUtc({ ...date, year }, zone)
    if (t <= limit) return t
  }
  return undefined
}
