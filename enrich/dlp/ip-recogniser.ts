import type { Recogniser } from './recogniser.ts'

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)'

export const ipv4Recogniser: Recogniser = {
  name: 'ipv4',
  type: 'IP_ADDRESS',
  // Dotted decimal with no leading zeros (RFC 6943 section 3.1.1 warns that 010 is octal to
  // some parsers), not part of a longer dotted run such as a version 1.2.3.4.5 or an OID.
  pattern: new RegExp(`(?<![\\w.])${OCTET}(?:\\.${OCTET}){3}(?![\\w]|\\.\\d)`, 'g'),
  family: 'digits',
  minDigits: 4,
  needsDot: true,
  accept(match) {
    return { start: match.index, end: match.index + match[0].length, confidence: 0.75 }
  },
  context: {
    raise: ['ip', 'ipv4', 'address', 'addr', 'host', 'src', 'dst', 'source', 'client', 'from'],
    lower: ['version', 'ver', 'v', 'release', 'build', 'oid', 'snmp'],
    weight: 0.2,
  },
}

/** True when `value` is an IPv6 address in RFC 4291 section 2.2 text form. */
export function ipv6Valid(value: string): boolean {
  let head = value
  let groupsWanted = 8
  // An embedded IPv4 address takes the place of the last two groups (form 3).
  const lastColon = value.lastIndexOf(':')
  const tail = value.slice(lastColon + 1)
  if (tail.includes('.')) {
    if (!new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`).test(tail)) return false
    head = value.slice(0, lastColon + 1) + '0'
    groupsWanted = 7
  }
  const halves = head.split('::')
  if (halves.length > 2) return false
  const groups = halves.map((half) => (half === '' ? [] : half.split(':')))
  for (const group of groups.flat()) if (!/^[0-9A-Fa-f]{1,4}$/.test(group)) return false
  const count = groups.reduce((n, g) => n + g.length, 0)
  // `::` stands for one or more groups of zeros (section 2.2, form 2).
  return halves.length === 2 ? count < groupsWanted : count === groupsWanted
}

export const ipv6Recogniser: Recogniser = {
  name: 'ipv6',
  type: 'IP_ADDRESS',
  // Each run of hex digits, colons and dots that holds two colons is matched once, from its
  // first colon; `accept` takes in the hex digits before it. Most runs are a time (`12:20`) or
  // a key (`host:`) with one colon: the pattern skips them rather than hand each to `accept`.
  pattern: /:[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*/g,
  hint: (text) => text.includes(':'),
  accept(match, text) {
    let start = match.index
    while (start > 0 && start > match.index - 4 && isHex(text.charCodeAt(start - 1))) start--
    if (start > 0 && /[\w.]/.test(text[start - 1]!)) return undefined
    let end = match.index + match[0].length
    // A sentence's full stop or a key's colon ends the run, not the address.
    while (text[end - 1] === '.' || (text[end - 1] === ':' && text[end - 2] !== ':')) end--
    if (end < text.length && /\w/.test(text[end]!)) return undefined
    // Cheap shape checks first: an address has `::` or seven colons (RFC 4291 section 2.2).
    let colons = 0
    for (let i = start; i < end; i++) if (text.charCodeAt(i) === 58) colons++
    if (colons < 2 || (colons < 7 && !text.slice(start, end).includes('::'))) return undefined
    const value = text.slice(start, end)
    if (!ipv6Valid(value)) return undefined
    // Bare `::` and short forms such as `a::b` are mostly code (`std::vector` never matches,
    // but `dead::beef` would): an address of fewer than three hex groups counts for less.
    const groups = value.split(/:+/).filter((g) => g !== '').length
    const confidence = groups >= 3 || value.includes('.') ? 0.8 : 0.45
    return { start, end, confidence }
  },
  context: ipv4Recogniser.context,
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102)
}
