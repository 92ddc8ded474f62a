import type { Recogniser } from './recogniser.ts'

/**
 * E-mail addresses in the dot-atom form of RFC 5322 section 3.4.1 that mail actually uses:
 * a local part of letters, digits and `!#$%&*+=?^_{|}~-` with single inner dots, and a
 * domain of at least two LDH labels (RFC 1035 section 2.3.1) ending in an alphabetic TLD.
 * Quoted local parts, address literals and the atom characters `/`, `'` and `` ` `` are left
 * out: they are rare in addresses and common around them in logs (`https://git@host`, quotes).
 *
 * The search is for `@` alone; the local part is read backwards from it and the domain
 * forwards, so text without an `@` costs one search and a long word costs nothing.
 */

/** Characters of a dot-atom (RFC 5322 section 3.2.3) that the local part may hold here. */
const ATOM_UNIT = /[\w!#$%&*+=?^{|}~.-]/

/** The domain after an `@`, matched where it stands (`y`). */
const DOMAIN =
  /(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,63}(?![A-Za-z0-9-])/y

export const emailRecogniser: Recogniser = {
  name: 'email',
  type: 'EMAIL_ADDRESS',
  // Each `@` is a candidate; `accept` reads the local part before it and the domain after.
  pattern: /@/g,
  accept(match, text) {
    const at = match.index
    let start = at
    while (start > 0 && at - start < 64 * 9 && ATOM_UNIT.test(text[start - 1]!)) start--
    if (start > 0 && (text[start - 1] === '.' || ATOM_UNIT.test(text[start - 1]!))) {
      return undefined
    }
    // Single inner dots only, no atom longer than 64 (RFC 5321 section 4.5.3.1.1).
    const local = text.slice(start, at)
    if (local === '' || local.startsWith('.') || local.endsWith('.') || local.includes('..')) {
      return undefined
    }
    if (local.split('.').some((atom) => atom.length > 64)) return undefined
    DOMAIN.lastIndex = at + 1
    const domain = DOMAIN.exec(text)
    // RFC 5321 section 4.5.3.1.2: a domain is at most 255 octets.
    if (domain === null || domain[0].length > 255) return undefined
    return { start, end: at + 1 + domain[0].length, confidence: 0.9 }
  },
  context: { raise: ['email', 'mail', 'e', 'contact', 'from', 'to', 'cc'], weight: 0.05 },
}
