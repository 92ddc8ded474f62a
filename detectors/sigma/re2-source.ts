/**
 * Rewrites a Sigma `re` value, as the stream compiles it (ECMAScript, no `u` flag: see
 * `compileRegex`), into RE2 syntax with the same meaning, for ClickHouse's `match`. RE2 is
 * not ECMAScript, and where they differ the rewrite says so instead of guessing:
 *
 * - `.` without `s` excludes \n, \r, U+2028 and U+2029 in ECMAScript, only \n in RE2: it is
 *   spelt out as a class.
 * - `\s` is ECMAScript's Unicode white space (ECMA-262 WhiteSpace and LineTerminator), ASCII
 *   in RE2: spelt out.
 * - Without `u`, ECMAScript reads text as UTF-16 code units and RE2 as code points, so `.`
 *   counts a character outside the BMP as two in one and one in the other; the haystack gets
 *   each such character as two U+FFFD (see `re2Haystack`), and a pattern that names one is
 *   refused.
 * - Under `i` ECMAScript compares simple uppercase forms except where that maps a non-ASCII
 *   character onto ASCII; RE2 uses Unicode simple case folding, by which the Kelvin sign is `k`
 *   and the long s is `s`. Those two are taken out of the haystack under `i`, and a pattern
 *   with non-ASCII characters under `i` is refused.
 * - `m` makes `^` and `$` match at \r, U+2028 and U+2029 too in ECMAScript, only at \n in RE2:
 *   refused when the pattern has an anchor.
 * - Lookaround and back-references do not exist in RE2: refused.
 */

/** A pattern the SQL back end cannot run as written, and why. */
export interface Re2Refusal {
  refused: string
}

/** ECMAScript's \s (WhiteSpace and LineTerminator code points), as RE2 class members. */
export const jsWhiteSpace =
  '\\t\\n\\x{0B}\\f\\r \\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}' +
  '\\x{205F}\\x{3000}\\x{FEFF}'

const lineTerminators = '\\n\\r\\x{2028}\\x{2029}'

/** RE2 repeats at most 1,000 times; a larger count is an error in ClickHouse. */
const maxRepeat = 1000

/**
 * @param source the pattern after `compileRegex`'s rewriting (leading inline flags taken
 *   out, `\A` and `\Z` made anchors)
 * @param flags the ECMAScript flags it was compiled with
 */
export function re2Source(source: string, flags: string): string | Re2Refusal {
  const dotAll = flags.includes('s')
  const multiline = flags.includes('m')
  const ignoreCase = flags.includes('i')
  let out = ''
  let inClass = false
  const refuse = (why: string): Re2Refusal => ({ refused: why })

  if (ignoreCase && /[^\p{ASCII}]/u.test(source)) {
    return refuse('a case-insensitive pattern with non-ASCII characters folds otherwise in RE2')
  }

  for (let i = 0; i < source.length; i++) {
    const c = source[i]!
    const code = c.charCodeAt(0)
    if (code >= 0xd800 && code <= 0xdfff) {
      return refuse('a character outside the BMP is two units in ECMAScript, one in RE2')
    }

    if (c === '\\') {
      const escaped = escape(source, i, inClass)
      if (typeof escaped !== 'string') return escaped
      out += escaped
      i += escapeLength(source, i) - 1
      continue
    }

    if (inClass) {
      if (c === ']') inClass = false
      out += c === ']' ? ']' : c === '[' ? '\\[' : c
      continue
    }

    switch (c) {
      case '[':
        if (source[i + 1] === ']' || source.startsWith('^]', i + 1)) {
          return refuse('an empty class ([] or [^]) has no RE2 spelling')
        }
        inClass = true
        out += '['
        if (source[i + 1] === '^') {
          out += '^'
          i++
        }
        break
      case '.':
        out += dotAll ? '.' : `[^${lineTerminators}]`
        break
      case '(': {
        const rest = source.slice(i)
        if (rest.startsWith('(?:')) {
          out += '(?:'
          i += 2
        } else if (/^\(\?<?[=!]/.test(rest)) {
          return refuse('RE2 has no lookahead or lookbehind')
        } else if (rest.startsWith('(?<')) {
          out += '(?P<'
          i += 2
        } else if (rest.startsWith('(?')) {
          return refuse(`group syntax ${rest.slice(0, 3)} is not ECMAScript`)
        } else out += '('
        break
      }
      case '^':
      case '$':
        if (multiline) {
          return refuse('under m, ECMAScript ends lines at \\r, U+2028 and U+2029 too; RE2 not')
        }
        out += c
        break
      case '{': {
        const quantifier = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(i))
        if (!quantifier) {
          out += '\\{'
          break
        }
        const counts = [quantifier[1], quantifier[3]].filter((n) => n !== undefined && n !== '')
        if (counts.some((n) => Number(n) > maxRepeat)) {
          return refuse(`RE2 repeats at most ${maxRepeat} times, got ${quantifier[0]}`)
        }
        out += quantifier[0]
        i += quantifier[0].length - 1
        break
      }
      case '}':
      case ']':
        out += `\\${c}`
        break
      default:
        out += c
    }
  }
  if (inClass) return refuse('an unclosed character class')
  return (dotAll ? '(?s)' : '') + (ignoreCase ? '(?i)' : '') + out
}

/** How many characters the escape at `i` takes, as `escape` reads it. */
function escapeLength(source: string, i: number): number {
  const d = source[i + 1]
  if (d === 'x' && /^[0-9a-fA-F]{2}$/.test(source.slice(i + 2, i + 4))) return 4
  if (d === 'u' && /^[0-9a-fA-F]{4}$/.test(source.slice(i + 2, i + 6))) return 6
  return 2
}

function escape(source: string, i: number, inClass: boolean): string | Re2Refusal {
  const d = source[i + 1]
  const refuse = (why: string): Re2Refusal => ({ refused: why })
  if (d === undefined) return refuse('a pattern ending in a backslash')
  switch (d) {
    case 's':
      return inClass ? jsWhiteSpace : `[${jsWhiteSpace}]`
    case 'S':
      if (inClass) return refuse('\\S inside a class has no RE2 spelling here')
      return `[^${jsWhiteSpace}]`
    case 'd':
    case 'D':
    case 'w':
    case 'W':
    case 'n':
    case 'r':
    case 't':
    case 'f':
      return `\\${d}`
    case 'b':
      // In a class, ECMAScript's \b is a backspace.
      return inClass ? '\\x{08}' : '\\b'
    case 'B':
      if (inClass) return refuse('\\B inside a class')
      return '\\B'
    case 'v':
      return '\\x{0B}'
    case '0':
      if (/[0-9]/.test(source[i + 2] ?? '')) return refuse('octal escapes are not RE2')
      return '\\x{00}'
    case 'c':
      return refuse('control escapes (\\cX) are not RE2')
    case 'k':
      return refuse('named back-references are not RE2')
    case 'x': {
      const hex = source.slice(i + 2, i + 4)
      return /^[0-9a-fA-F]{2}$/.test(hex) ? `\\x{${hex}}` : 'x'
    }
    case 'u': {
      const hex = source.slice(i + 2, i + 6)
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) return 'u'
      const code = parseInt(hex, 16)
      if (code >= 0xd800 && code <= 0xdfff) return refuse('a surrogate escape (\\uD8xx-\\uDFxx)')
      return `\\x{${hex}}`
    }
  }
  if (/[1-9]/.test(d)) return refuse('back-references are not RE2')
  // Without `u`, any other escaped character is itself (ECMA-262 Annex B, IdentityEscape).
  if (/[A-Za-z0-9_]/.test(d)) return d
  if (d.charCodeAt(0) >= 0x80) return d
  return `\\${d}`
}
