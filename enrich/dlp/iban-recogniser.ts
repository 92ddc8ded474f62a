import type { Recogniser } from './recogniser.ts'

/**
 * IBAN length per country code, from the SWIFT IBAN Registry (release 99, 2025), plus the
 * experimental lengths of countries that use IBANs outside the registry (Algeria, Angola,
 * Benin, ...), since their banks send them anyway.
 */
const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24,
  AE: 23,
  AL: 28,
  AT: 20,
  AZ: 28,
  BA: 20,
  BE: 16,
  BG: 22,
  BH: 22,
  BI: 27,
  BR: 29,
  BY: 28,
  CH: 21,
  CR: 22,
  CY: 28,
  CZ: 24,
  DE: 22,
  DJ: 27,
  DK: 18,
  DO: 28,
  EE: 20,
  EG: 29,
  ES: 24,
  FI: 18,
  FK: 18,
  FO: 18,
  FR: 27,
  GB: 22,
  GE: 22,
  GI: 23,
  GL: 18,
  GR: 27,
  GT: 28,
  HN: 28,
  HR: 21,
  HU: 28,
  IE: 22,
  IL: 23,
  IQ: 23,
  IS: 26,
  IT: 27,
  JO: 30,
  KW: 30,
  KZ: 20,
  LB: 28,
  LC: 32,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  LY: 25,
  MC: 27,
  MD: 24,
  ME: 22,
  MK: 19,
  MN: 20,
  MR: 27,
  MT: 31,
  MU: 30,
  NI: 28,
  NL: 18,
  NO: 15,
  OM: 23,
  PK: 24,
  PL: 28,
  PS: 29,
  PT: 25,
  QA: 29,
  RO: 24,
  RS: 22,
  RU: 33,
  SA: 24,
  SC: 31,
  SD: 18,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  SO: 23,
  ST: 25,
  SV: 28,
  TL: 23,
  TN: 24,
  TR: 26,
  UA: 29,
  VA: 22,
  VG: 24,
  XK: 20,
  YE: 30,
  // Experimental: in use, not (yet) in the registry.
  AO: 25,
  BF: 28,
  BJ: 28,
  CF: 27,
  CG: 27,
  CI: 28,
  CM: 27,
  CV: 25,
  DZ: 26,
  GA: 27,
  GQ: 27,
  GW: 25,
  IR: 26,
  KM: 27,
  MA: 28,
  MG: 27,
  ML: 28,
  MZ: 25,
  NE: 28,
  SN: 28,
  TD: 27,
  TG: 28,
}

/** The expected length of an IBAN of country `code`, or undefined when it issues none. */
export function ibanLength(code: string): number | undefined {
  return IBAN_LENGTHS[code]
}

/**
 * The ISO 7064 mod 97-10 check of ISO 13616: the first four characters move to the end,
 * letters become 10 to 35, and the number must leave 1 when divided by 97. Computed piecewise
 * so no big integer is needed.
 */
export function ibanChecksumValid(compact: string): boolean {
  const rearranged = compact.slice(4) + compact.slice(0, 4)
  let remainder = 0
  for (let i = 0; i < rearranged.length; i++) {
    const c = rearranged.charCodeAt(i)
    if (c >= 48 && c <= 57) remainder = (remainder * 10 + (c - 48)) % 97
    else if (c >= 65 && c <= 90) remainder = (remainder * 100 + (c - 55)) % 97
    else return false
  }
  return remainder === 1
}

export const ibanRecogniser: Recogniser = {
  name: 'iban-mod97',
  type: 'IBAN_CODE',
  // Country, check digits, then the BBAN in the electronic form or printed in groups of four
  // with single spaces (ISO 13616-1 section 5.2).
  pattern: /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![a-z0-9])/g,
  accept(match) {
    const value = match[0]
    const length = ibanLength(value.slice(0, 2))
    if (length === undefined) return undefined
    // The greedy pattern may run on into the next word: keep exactly the country's length.
    let compact = ''
    let end = 0
    while (end < value.length && compact.length < length) {
      if (value[end] !== ' ') compact += value[end]
      end++
    }
    if (compact.length !== length || !ibanChecksumValid(compact)) return undefined
    return { start: match.index, end: match.index + end, confidence: 0.85 }
  },
  context: { raise: ['iban', 'bank', 'account', 'transfer', 'sepa', 'bic', 'swift'], weight: 0.1 },
}
