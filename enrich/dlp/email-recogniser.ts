import type { Recogniser } from './recogniser.ts'

/**
 * E-mail addresses in the dot-atom form of RFC 5322 section 3.4.1 that mail actually uses:
 * a local part of letters, digits and `!#$%&*+=?^_{|}~-` with single inner dots, and a
 * domain of at least two LDH labels (RFC 1035 section 2.3.1) ending in an alphabetic TLD.
 * Quoted local parts, address literals and the atom characters `/`, `'` and `` ` `` are left
 * out: they are rare in addresses and common around them in logs (`https://git@host`, quotes).
 *
 * The local part is bounded to 64 characters (RFC 5321 section 4.5.3.1.1) so a long run of
 * word characters before an `@` costs no more than 64 steps per `@`.
 */
const ATOM = '[\\w!#$%&*+=?^{|}~-]{1,64}'
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
const EMAIL = new RegExp(
  `(?<![\\w.!#$%&*+=?^{|}~-])${ATOM}(?:\\.${ATOM}){0,8}@(?:${LABEL}\\.){1,8}[A-Za-z]{2,63}` +
    '(?![A-Za-z0-9-])',
  'g',
)

export const emailRecogniser: Recogniser = {
  name: 'email',
  type: 'EMAIL_ADDRESS',
  pattern: EMAIL,
  hint: (text) => text.includes('@'),
  accept(match) {
    const value = match[0]
    // RFC 5321 section 4.5.3.1.2: a domain is at most 255 octets.
    if (value.length - value.indexOf('@') - 1 > 255) return undefined
    return { start: match.index, end: match.index + value.length, confidence: 0.9 }
  },
  context: { raise: ['email', 'mail', 'e', 'contact', 'from', 'to', 'cc'], weight: 0.05 },
}
