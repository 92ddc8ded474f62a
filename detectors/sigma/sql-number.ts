import { jsWhiteSpace } from './re2-source.ts'
import type { SqlParams } from './sql-params.ts'

/**
 * Numbers as the stream reads them for gt, gte, lt and lte (`toNumber` in compile-value.ts),
 * in SQL: a JSON number, or a string that is not blank and that JavaScript's `Number` reads
 * as a finite number (ECMA-262, "StringToNumber"): white space around it; a decimal with an
 * optional sign, leading zeros, `1.`, `.5` and an exponent; or, with no sign, a hexadecimal,
 * octal or binary integer (`0x1F`, `0o17`, `0b11`) of any length. `Infinity`, a decimal
 * beyond the largest double, a blank string and anything else are no number.
 *
 * ClickHouse's `toFloat64OrNull` rounds a decimal to the nearest double as `Number` does
 * (checked on halfway cases between doubles, across the exponent range); it reads no other
 * base, so an integer in another base is turned into bits and rounded here, to nearest with
 * ties to even, as ECMA-262 rounds a mathematical value to a Number.
 */

/** SQL: element `x` (raw JSON) as a finite Float64, or NULL where the stream has no number. */
export function sqlNumber(x: string, params: SqlParams): string {
  const trimmed = `replaceRegexpAll(JSONExtractString(${x}), ${params.text(
    `^[${jsWhiteSpace}]+|[${jsWhiteSpace}]+$`,
  )}, '')`
  const n =
    `multiIf(JSONType(${x}) IN ('Int64', 'UInt64', 'Double'), JSONExtractFloat(${x}), ` +
    `JSONType(${x}) = 'String', arrayMap(_s -> ${textNumber('_s', params)}, [${trimmed}])[1], ` +
    'NULL)'
  return `if(isFinite(ifNull(${n}, nan)), ${n}, NULL)`
}

/** SQL: trimmed text `s` as `Number` reads it, or NULL (infinities are left to the caller). */
function textNumber(s: string, params: SqlParams): string {
  const decimal = params.text('^[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?$')
  const digits = `substring(${s}, 3)`
  // Each digit in its bits: a hexadecimal digit is four, an octal one three.
  const bits = multiIf([
    [`match(${s}, ${params.text('^0[xX][0-9a-fA-F]+$')})`, `bin(unhex(${digits}))`],
    [
      `match(${s}, ${params.text('^0[oO][0-7]+$')})`,
      `arrayStringConcat(arrayMap(_d -> substring(bin(toUInt8OrZero(_d)), 6), ` +
        `splitByString('', ${digits})))`,
    ],
    [`match(${s}, ${params.text('^0[bB][01]+$')})`, digits],
  ])
  return (
    `multiIf(match(${s}, ${decimal}), toFloat64OrNull(${s}), ` +
    `arrayMap(_b -> if(isNull(_b), NULL, ${roundedBits('_b')}), ` +
    `[${bits}])[1])`
  )
}

function multiIf(branches: readonly [string, string][]): string {
  return `multiIf(${branches.map(([c, v]) => `${c}, ${v}`).join(', ')}, NULL)`
}

/**
 * SQL: a string of binary digits as the nearest double. The first 53 significant bits are
 * summed as powers of two (exact, below 2^53), then rounded up when the next bit is 1 and
 * any later bit is 1 or the kept part is odd; the rest of the length is a power of two, and
 * a value of 2^1024 or more comes out infinite, as `Number` gives Infinity.
 */
function roundedBits(raw: string): string {
  const b = `replaceRegexpOne(assumeNotNull(${raw}), '^0+', '')`
  return `arrayMap(_v -> ${roundedSignificant('_v')}, [${b}])[1]`
}

function roundedSignificant(b: string): string {
  const length = `length(${b})`
  const kept = `least(${length}, 53)`
  const sum =
    `arraySum(arrayMap((_c, _i) -> if(_c = '1', exp2(${kept} - _i), 0), ` +
    `splitByString('', substring(${b}, 1, 53)), range(1, ${kept} + 1)))`
  const roundUp =
    `(${length} > 53 AND substring(${b}, 54, 1) = '1' AND ` +
    `(position(substring(${b}, 55), '1') > 0 OR substring(${b}, 53, 1) = '1'))`
  return `if(${length} = 0, 0, (${sum} + ${roundUp}) * exp2(${length} - ${kept}))`
}
