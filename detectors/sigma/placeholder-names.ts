/**
 * The placeholder names a detection uses: `%name%` in the values of entries whose key has the
 * `expand` modifier (Sigma modifiers appendix, "expand"; `\%` is a plain percent sign). Read
 * before compiling, so a rule missing several values can name them all.
 */
export function placeholderNames(detection: Record<string, unknown>): string[] {
  const names = new Set<string>()
  const visit = (node: unknown, key: string | undefined): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item, key)
      return
    }

    if (node !== null && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) visit(v, k)
      return
    }

    if (typeof node === 'string' && key?.split('|').includes('expand')) {
      for (const name of namesIn(node)) names.add(name)
    }
  }
  for (const [id, value] of Object.entries(detection)) {
    if (id !== 'condition' && id !== 'timeframe') visit(value, undefined)
  }
  return [...names]
}

function namesIn(text: string): string[] {
  const out: string[] = []
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && text[i + 1] === '%') {
      i++
      continue
    }

    if (text[i] !== '%') continue
    const end = text.indexOf('%', i + 1)
    if (end < 0) break
    out.push(text.slice(i + 1, end))
    i = end
  }
  return out
}
