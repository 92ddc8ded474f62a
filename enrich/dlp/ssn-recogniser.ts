import type { Recogniser } from './recogniser.ts'

/**
 * Numbers the Social Security Administration says were never validly issued although their
 * ranges allow them: 078-05-1120 (printed on sample cards in wallets sold in 1938),
 * 219-09-9999 (an SSA pamphlet's example) and 123-45-6789 (the advertising example).
 */
const KNOWN_INVALID = new Set(['078051120', '219099999', '123456789'])

/**
 * True when an area, group and serial can belong to an issued SSN. The SSA never issues area
 * 000, 666 or 900-999 (900-999 are ITINs and test numbers), group 00 or serial 0000; since
 * randomisation (25 June 2011) every other area up to 899 can be issued.
 */
export function ssnValid(area: string, group: string, serial: string): boolean {
  if (area === '000' || area === '666' || area[0] === '9') return false
  if (group === '00' || serial === '0000') return false
  return !KNOWN_INVALID.has(area + group + serial)
}

export const ssnRecogniser: Recogniser = {
  name: 'us-ssn',
  type: 'US_SSN',
  pattern: /(?<![\w.+-])(\d{3})([- ]?)(\d{2})\2(\d{4})(?![\w]|[.-]\d)/g,
  family: 'digits',
  minDigits: 9,
  accept(match) {
    const [value, area = '', separator = '', group = '', serial = ''] = match
    if (!ssnValid(area, group, serial)) return undefined
    // Dashes are how SSNs are written; nine bare digits are as likely any other number.
    let confidence = separator === '-' ? 0.6 : separator === ' ' ? 0.4 : 0.3
    if (/^(\d)\1{8}$/.test(area + group + serial)) confidence -= 0.2
    return { start: match.index, end: match.index + value.length, confidence }
  },
  context: {
    raise: ['ssn', 'ssns', 'social', 'security', 'ss', 'ssa', 'taxpayer', 'tin'],
    lower: ['phone', 'tel', 'fax', 'mobile', 'order', 'invoice', 'zip', 'routing', 'isbn'],
  },
}
