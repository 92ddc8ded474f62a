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
