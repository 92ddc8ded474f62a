import { parsePhoneNumberFromString } from 'libphonenumber-js/max'
import type { CountryCode } from 'libphonenumber-js/max'

import type { Recogniser } from './recogniser.ts'

/**
 * Regions whose national formats a number without a country code is tried in, in order: the
 * North American plan first, then the European and other plans most common in logs of
 * English-speaking services. The first region where the number is valid decides.
 */
const REGIONS: readonly CountryCode[] = [
  'US',
  'GB',
  'DE',
  'FR',
  'CH',
  'SE',
  'NL',
  'BE',
  'IT',
  'ES',
  'AU',
  'IN',
  'ZA',
  'PT',
  'FI',
  'DK',
  'NO',
  'AT',
  'IE',
  'PL',
]

/**
 * Dates in digit-and-separator form and dotted-quad IPv4 addresses, which the phone pattern
 * also matches.
 */
const DATE_OR_ADDRESS =
  /^(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{4}|\d{1,3}(?:\.\d{1,3}){3})$/

/**
 * How sure a number is a phone number, from libphonenumber-js's metadata (the data of
 * Google's libphonenumber): valid with its own country code is strong evidence, valid or only
 * of a possible length in some region's national format is weak without words such as
 * `phone` or `call` near it.
 */
export function phoneConfidence(value: string): number | undefined {
  const international = value.startsWith('+')
  if (international) {
    const number = parsePhoneNumberFromString(value)
    if (number === undefined) return undefined
    return number.isValid() ? 0.7 : number.isPossible() ? 0.5 : undefined
  }
  let possible = false
  for (const region of REGIONS) {
    const number = parsePhoneNumberFromString(value, region)
    if (number === undefined) continue
    if (number.isValid()) return 0.45
    possible ||= number.isPossible()
  }
  return possible ? 0.35 : undefined
}

export const phoneRecogniser: Recogniser = {
  name: 'libphonenumber',
  type: 'PHONE_NUMBER',
  // Digits with the punctuation phone numbers are written with (spaces, dashes, dots,
  // parentheses, a leading plus) and an optional extension; libphonenumber-js decides.
  pattern:
    /(?<![\w+.\-/:])\+?\(?\d[\d().\- ]{5,24}\d(?:\s?(?:x|ext\.?)\s?\d{1,6})?(?![\w]|[.\-/:]\d)/g,
  family: 'digits',
  minDigits: 7,
  accept(match, _text, needed) {
    const value = match[0]
    let digits = 0
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i)
      if (c >= 48 && c <= 57) digits++
    }
    // E.164 numbers have at most 15 digits; local numbers at least 7 (an extension adds some).
    if (digits < 7 || digits > 21 || DATE_OR_ADDRESS.test(value) || value.includes('  ')) {
      return undefined
    }
    // Dots part groups of two or more digits (030.901.820); a lone digit between dots is a
    // version or an address.
    if (/(?:^|\D)\d\.|\.\d(?:\D|$)/.test(value)) {
      return undefined
    }
    // The library is the costly part: skip it when even a valid number would not be reported.
    if (needed() > (value.startsWith('+') ? 0.7 : 0.45)) return undefined
    const confidence = phoneConfidence(value)
    if (confidence === undefined) return undefined
    return { start: match.index, end: match.index + value.length, confidence }
  },
  context: {
    raise: [
      'phone',
      'phones',
      'tel',
      'telephone',
      'mobile',
      'mob',
      'cell',
      'cellphone',
      'fax',
      'desk',
      'office',
      'home',
      'call',
      'calls',
      'calling',
      'called',
      'dial',
      'sms',
      'whatsapp',
      'contact',
      'reach',
      'ring',
      'number',
      'answering',
      'voicemail',
      'hotline',
      'ext',
    ],
    lower: [
      'zip',
      'postal',
      'postcode',
      'order',
      'invoice',
      'ssn',
      'iban',
      'card',
      'amount',
      'price',
      'total',
      'port',
      'pid',
      'uid',
      'gid',
      'bytes',
      'size',
      'version',
      'id',
      'serial',
      'license',
      'licence',
      'passport',
      // A number next to a street word is a house number or a postcode.
      'address',
      'addresses',
      'street',
      'st',
      'str',
      'ave',
      'av',
      'avenue',
      'rd',
      'road',
      'dr',
      'drive',
      'lane',
      'la',
      'blvd',
      'apt',
      'suite',
      'pl',
      'floor',
    ],
    weight: 0.4,
  },
}
