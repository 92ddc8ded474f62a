/**
 * Case folding for Sigma's case-insensitive matching (rules specification, "Value Modifiers":
 * values match case-insensitively unless `cased` is given). The specification does not say
 * how non-ASCII text folds, so Palisade keeps what it has always done for wildcard,
 * `contains`, `startswith` and `endswith` values, which were regular expressions with the `i`
 * flag: two UTF-16 code units are equal when their simple uppercase forms are (ECMA-262,
 * "Canonicalize" without the `u` flag). `foldCase` maps each code unit to one representative
 * of that class, so a folded needle can be searched for in a folded haystack with `includes`.
 *
 * Consequences worth knowing, all as before:
 * - The fold is one code unit for one code unit: lengths and `?` positions do not move, and no
 *   character depends on its neighbours (unlike `toLowerCase`, which turns a final `Σ` into
 *   `ς` and `İ` into two code units).
 * - A character whose uppercase form is several characters (`ß`, `ŉ`) only equals itself.
 * - No non-ASCII character folds onto an ASCII one: the Kelvin sign `K` does not match `k`, nor
 *   the dotless `ı` `I`, so a lookalike does not pass for the letter it imitates.
 *
 * Exact values without wildcards were compared with `toLowerCase` instead, and still are (see
 * `compilePattern`); for ASCII text both comparisons agree.
 */

const asciiOnly = /^\p{ASCII}*$/u

/** Non-ASCII code units whose folded form differs from themselves, found on first use. */
const folded = new Map<number, string>()

/** Whether `text` has only ASCII characters, so `toLowerCase` is its fold. */
export function isAscii(text: string): boolean {
  return asciiOnly.test(text)
}

/** The folded form of `text`: equal folds mean equal under case-insensitive comparison. */
export function foldCase(text: string): string {
  if (asciiOnly.test(text)) return text.toLowerCase()
  let out = ''
  for (let i = 0; i < text.length; i++) out += foldUnit(text.charCodeAt(i))
  return out
}

function foldUnit(code: number): string {
  const ch = String.fromCharCode(code)
  if (code < 0x80) return ch.toLowerCase()
  let f = folded.get(code)
  if (f === undefined) {
    const upper = ch.toUpperCase()
    // ECMA-262 Canonicalize: keep the unit when its uppercase is several units, or ASCII.
    f = upper.length !== 1 || upper.charCodeAt(0) < 0x80 ? ch : upper
    folded.set(code, f)
  }
  return f
}
