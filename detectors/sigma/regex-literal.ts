/**
 * The longest run of plain characters that every match of a regular expression contains, so
 * that a rule whose `re` value is, say, `ipconfig\s+/all` is run only on events whose field
 * holds `ipconfig`. Conservative by construction: whatever it cannot read for sure (a group, a
 * class, an escape that is not a plain character, an alternation) ends a run or gives up, so
 * the literal it returns is in every match; it may miss a literal, never invent one.
 *
 * The source is read as ECMAScript without the `u` flag reads it (as `compileRegex` compiles
 * it): a `{` that does not start a quantifier is a plain character.
 */
export function requiredLiteral(source: string): string | undefined {
  let best = ''
  let run = ''
  const endRun = () => {
    if (run.length > best.length) best = run
    run = ''
  }

  for (let i = 0; i < source.length; i++) {
    const c = source[i]!
    if (c === '|') return undefined // an alternation at the top: no one literal is certain

    if (c === '(' || c === '[') {
      const close = c === '(' ? groupEnd(source, i) : classEnd(source, i)
      if (close < 0) return undefined
      endRun()
      i = close
      continue
    }

    if (c === '\\') {
      const escaped = readEscape(source, i)
      if (escaped === undefined) return undefined
      if (escaped.char === undefined) endRun()
      else run += escaped.char
      i = escaped.end
      continue
    }

    if (c === '.' || c === '^' || c === '$') {
      endRun()
      continue
    }

    if (c === '*' || c === '?') {
      // The character before may be absent; a run cannot go across it either way.
      run = run.slice(0, -1)
      endRun()
      continue
    }

    if (c === '+') {
      endRun()
      continue
    }

    if (c === '{') {
      const quantifier = /^\{(\d+)(,\d*)?\}/.exec(source.slice(i))
      if (quantifier) {
        if (Number(quantifier[1]) === 0) run = run.slice(0, -1)
        endRun()
        i += quantifier[0].length - 1
        continue
      }
    }

    run += c
  }
  endRun()
  return best === '' ? undefined : best
}

/** What a backslash at `at` stands for: one plain character, or something else (undefined). */
function readEscape(source: string, at: number): { char?: string; end: number } | undefined {
  const n = source[at + 1]
  if (n === undefined) return undefined
  if (/[\\^$.*+?()[\]{}|/\-:'"#%&,;<=>@`~!\s]/.test(n)) return { char: n, end: at + 1 }
  if (n === 'x')
    return /^[0-9a-fA-F]{2}$/.test(source.slice(at + 2, at + 4)) ? { end: at + 3 } : undefined
  if (n === 'u') {
    if (/^[0-9a-fA-F]{4}$/.test(source.slice(at + 2, at + 6))) return { end: at + 5 }
    return undefined
  }
  if (n === 'c') return { end: at + 2 }
  if (n === 'p' || n === 'P' || n === 'k') return undefined
  if (/\d/.test(n)) {
    let end = at + 1
    while (/\d/.test(source[end + 1] ?? '')) end++
    return { end }
  }
  // \d \w \s \b \n \t and the like: a class or a position, not a character to look for.
  return { end: at + 1 }
}

/** The index of the `)` closing the group opened at `at`, or -1. */
function groupEnd(source: string, at: number): number {
  let depth = 0
  for (let i = at; i < source.length; i++) {
    const c = source[i]
    if (c === '\\') i++
    else if (c === '[') {
      const close = classEnd(source, i)
      if (close < 0) return -1
      i = close
    } else if (c === '(') depth++
    else if (c === ')' && --depth === 0) return i
  }
  return -1
}

/** The index of the `]` closing the class opened at `at`, or -1. */
function classEnd(source: string, at: number): number {
  // ECMAScript, unlike PCRE, reads `[]` as an empty class: the first `]` always closes.
  for (let i = at + 1; i < source.length; i++) {
    if (source[i] === '\\') i++
    else if (source[i] === ']') return i
  }
  return -1
}

/**
 * A lower bound on the length of any match of a regular expression, in UTF-16 code units, so
 * that a text too short to match is not handed to the engine at all. `.{1000,}` (SigmaHQ's
 * "Unusually Long PowerShell CommandLine") is what it is for: on a 300-character command line
 * V8 tries it at every position, each try reading to the end, where a length check is one
 * comparison. Each character, class and escape that consumes counts one (a code point is one
 * or two units); positions, lookarounds and back-references count nothing; an alternation
 * counts its shortest branch, a quantifier its least repeat. Read as `requiredLiteral` reads
 * (no `u` flag); whatever it cannot read counts nothing, which keeps the bound safe.
 */
export function shortestMatch(source: string): number {
  return shortestIn(source, 0, source.length)
}

function shortestIn(source: string, start: number, end: number): number {
  let shortest = Infinity
  let total = 0
  // The length of the last atom, which a quantifier after it multiplies.
  let last = 0
  const atom = (length: number): void => {
    total += length
    last = length
  }

  for (let i = start; i < end; i++) {
    const c = source[i]!
    if (c === '|') {
      shortest = Math.min(shortest, total)
      total = 0
      last = 0
    } else if (c === '(') {
      const close = groupEnd(source, i)
      if (close < 0 || close >= end) return 0
      const head = source.slice(i, i + 4)
      if (/^\(\?<?[=!]/.test(head)) atom(0)
      else if (head.startsWith('(?:')) atom(shortestIn(source, i + 3, close))
      else if (head.startsWith('(?<')) {
        const named = source.indexOf('>', i)
        atom(named < 0 || named > close ? 0 : shortestIn(source, named + 1, close))
      } else atom(shortestIn(source, i + 1, close))
      i = close
    } else if (c === '[') {
      const close = classEnd(source, i)
      if (close < 0 || close >= end) return 0
      atom(1)
      i = close
    } else if (c === '\\') {
      const n = source[i + 1]
      const named = n === 'k' && source[i + 2] === '<' ? source.indexOf('>', i) : -1
      if (named >= 0 && named < end) {
        atom(0) // \k<name> refers back to a named group
        i = named
        continue
      }
      const escaped = readEscape(source, i)
      if (escaped === undefined) return 0
      // \b and \B are positions; \1-\9 refer back to a group, which may have matched nothing.
      atom(n === 'b' || n === 'B' || /[1-9]/.test(n ?? '') ? 0 : 1)
      i = escaped.end
    } else if (c === '^' || c === '$') {
      atom(0)
    } else if (c === '*' || c === '?' || c === '+' || c === '{') {
      const quantifier = c === '{' ? /^\{(\d+)(,\d*)?\}/.exec(source.slice(i, end)) : null
      if (c === '{' && !quantifier) {
        atom(1)
        continue
      }
      const least = c === '+' ? 1 : quantifier ? Number(quantifier[1]) : 0
      total += last * (least - 1)
      last *= least
      if (quantifier) i += quantifier[0].length - 1
      if (source[i + 1] === '?') i++ // lazy: the same least count
    } else {
      atom(1)
    }
  }
  return Math.min(shortest, total)
}
