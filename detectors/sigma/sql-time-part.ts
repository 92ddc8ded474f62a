import type { timeParts } from './compile-value.ts'
import type { SqlParams } from './sql-params.ts'

/**
 * The time-part modifiers (minute, hour, day, week, month, year) in SQL, reading a JSON element
 * exactly as the stream's `datePart` (compile-value.ts) does. Appendix, "Time Modifiers": a
 * part is "extracted" from a date, with no "timezone or format conversions". So a string's parts
 * are read as written at the fixed positions of an ISO 8601 date (`2025-01-01T03:15:00+02:00`
 * is hour 3, whatever the offset), and a number is epoch milliseconds read in UTC.
 */

type TimePart = (typeof timeParts)[number]

/** Days from 1970-01-01 to 1900-01-01, the first day ClickHouse's Date32 holds. */
const DATE32_FIRST_DAY = -25567
/** Days in 400 Gregorian years: the calendar, weekdays included, repeats after them. */
const CYCLE_DAYS = 146097
/** `new Date(ms)` is a date only within ±8.64e15 ms (ECMA-262, "TimeClip"). */
const MAX_TIME_MS = 8.64e15

/**
 * SQL: the time part of JSON element `x`, or NULL where the stream's `datePart` gives
 * undefined (a boolean, null, a list, a string not starting with a valid date, or a number
 * beyond the dates JavaScript holds).
 */
export function sqlTimePart(x: string, part: TimePart, params: SqlParams): string {
  return (
    `multiIf(JSONType(${x}) IN ('Int64', 'UInt64', 'Double'), ${epochPart(x, part)}, ` +
    `JSONType(${x}) = 'String', ${textPart(`JSONExtractString(${x})`, part, params)}, NULL)`
  )
}

/**
 * SQL: a part of a time in epoch milliseconds, in UTC. Date32 holds only 1900 to 2299, which
 * are exactly 400 years: the day is moved into them by whole cycles, which keeps its month,
 * day and ISO week, and the cycles are added back to the year. Integer arithmetic throughout,
 * since a Float64 quotient of milliseconds by a day can round up across midnight.
 */
function epochPart(x: string, part: TimePart): string {
  const f = `JSONExtractFloat(${x})`
  // TimeClip truncates towards zero, as toInt64 does.
  const t = `toInt64(${f})`
  const msOfDay = `positiveModulo(${t}, 86400000)`
  let value: string
  if (part === 'minute') value = `intDiv(${msOfDay}, 60000) % 60`
  else if (part === 'hour') value = `intDiv(${msOfDay}, 3600000)`
  else {
    const offset = `(intDiv(${t} - ${msOfDay}, 86400000) - ${DATE32_FIRST_DAY})`
    const inCycle = `positiveModulo(${offset}, ${CYCLE_DAYS})`
    const date = `(toDate32('1900-01-01') + ${inCycle})`
    value = {
      day: `toDayOfMonth(${date})`,
      week: `toISOWeek(${date})`,
      month: `toMonth(${date})`,
      year: `toYear(${date}) + 400 * intDiv(${offset} - ${inCycle}, ${CYCLE_DAYS})`,
    }[part]
  }
  return `if(abs(${f}) <= ${MAX_TIME_MS}, toInt64(${value}), NULL)`
}

/**
 * SQL: a part of a date or date-time as written: `YYYY-MM-DD` at the start, a real day of a
 * real month, and for hours and minutes `T`, `t` or a space, then `hh:mm` with hh at most 23
 * and mm at most 59. The stream compares UTF-16 units at fixed positions and these are all
 * ASCII, so byte positions are the same positions.
 */
function textPart(s: string, part: TimePart, params: SqlParams): string {
  const year = `toInt64(toUInt16OrZero(substring(${s}, 1, 4)))`
  const month = `toInt64(toUInt8OrZero(substring(${s}, 6, 2)))`
  const day = `toInt64(toUInt8OrZero(substring(${s}, 9, 2)))`
  const leap = `((${year} % 4 = 0 AND ${year} % 100 != 0) OR ${year} % 400 = 0)`
  const monthDays = `multiIf(${month} = 2, if(${leap}, 29, 28), ${month} IN (4, 6, 9, 11), 30, 31)`
  const isDate =
    `match(${s}, ${params.text('^[0-9]{4}-[0-9]{2}-[0-9]{2}')}) AND ${month} BETWEEN 1 AND 12 ` +
    `AND ${day} BETWEEN 1 AND ${monthDays}`
  if (part === 'hour' || part === 'minute') {
    const hour = `toInt64(toUInt8OrZero(substring(${s}, 12, 2)))`
    const minute = `toInt64(toUInt8OrZero(substring(${s}, 15, 2)))`
    const shape = params.text('^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}')
    const isTime = `match(${s}, ${shape}) AND ${hour} <= 23 AND ${minute} <= 59`
    return `if(${isDate} AND ${isTime}, ${part === 'hour' ? hour : minute}, NULL)`
  }
  // The 400-year cycle again: the same ISO week, inside what Date32 holds.
  const shifted = `1900 + positiveModulo(${year} - 1900, 400)`
  const week = `toInt64(toISOWeek(makeDate32(${shifted}, ${month}, ${day})))`
  const value = { day, week, month, year }[part]
  return `if(${isDate}, ${value}, NULL)`
}
