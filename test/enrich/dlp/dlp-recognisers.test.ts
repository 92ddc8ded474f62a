import { describe, expect, it } from 'vitest'

import { luhnValid } from '../../../enrich/dlp/card-recogniser.ts'
import { createDlpScanner } from '../../../enrich/dlp/create-dlp-scanner.ts'
import type { DlpType, Finding } from '../../../enrich/dlp/finding.ts'
import { ibanChecksumValid } from '../../../enrich/dlp/iban-recogniser.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

const scanner = createDlpScanner()
const random = seededRandom(9)
const digit = () => String(Math.floor(random() * 10))
const digits = (n: number) => Array.from({ length: n }, digit).join('')
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!

/** The types found in `text`, with the text each finding covers. */
function found(text: string, path = 'message'): { type: DlpType; text: string }[] {
  return scanner
    .scanText(text, path)
    .map((f) => ({ type: f.type, text: text.slice(f.start, f.end) }))
}

/** The check digit that makes `body` pass Luhn. */
function luhnDigit(body: string): string {
  for (let d = 0; d < 10; d++) if (luhnValid(body + d)) return String(d)
  throw new Error('unreachable')
}

function card(prefix: string, length: number): string {
  const body = prefix + digits(length - prefix.length - 1)
  return body + luhnDigit(body)
}

const CARD_SHAPES: readonly [string, number][] = [
  ['4', 16],
  ['4', 13],
  ['4', 19],
  ['51', 16],
  ['55', 16],
  ['2221', 16],
  ['2720', 16],
  ['34', 15],
  ['37', 15],
  ['6011', 16],
  ['65', 16],
  ['36', 14],
  ['3528', 16],
  ['62', 19],
  ['6759', 12],
  ['2200', 16],
]

describe('payment cards', () => {
  it('finds Luhn-valid numbers of every issuer range, bare, spaced and dashed', () => {
    for (let i = 0; i < 400; i++) {
      const [prefix, length] = pick(CARD_SHAPES)
      const number = card(prefix, length)
      const written = pick([
        number,
        number.replace(/(\d{4})(?=\d)/g, '$1 '),
        number.replace(/(\d{4})(?=\d)/g, '$1-'),
      ])
      expect(found(`paid with ${written} today`)).toEqual([{ type: 'CREDIT_CARD', text: written }])
    }
  })

  it('ignores numbers whose check digit is wrong', () => {
    for (let i = 0; i < 400; i++) {
      const [prefix, length] = pick(CARD_SHAPES)
      const number = card(prefix, length)
      const wrong = number.slice(0, -1) + String((Number(number.at(-1)) + 1 + (i % 9)) % 10)
      expect(found(`card ${wrong}`).filter((f) => f.type === 'CREDIT_CARD')).toEqual([])
    }
  })

  it('ignores Luhn-valid numbers outside every issuer range or at a wrong length', () => {
    for (let i = 0; i < 200; i++) {
      expect(found(`card ${card(pick(['7', '9', '00', '10']), 16)}`)).toEqual([])
      expect(found(`card ${card('4', pick([14, 15, 17, 18]))}`)).toEqual([])
      expect(found(`card ${card('34', 16)}`)).toEqual([])
    }
  })

  it('does not take Luhn-valid order ids, timestamps or mixed separators for cards', () => {
    const visa = card('4', 16)
    expect(found(`order id ${visa} shipped`)).toEqual([])
    expect(found(`invoice ${visa}`)).toEqual([])
    expect(scanner.scanValue({ order_id: Number(card('4', 16)) })).toEqual([])
    // Epoch milliseconds and microseconds start with 1 and pass Luhn one time in ten.
    const epochMs = card('17', 13)
    expect(found(`ts=${epochMs} took 12ms`)).toEqual([])
    expect(found(`${visa.slice(0, 4)} ${visa.slice(4, 8)}-${visa.slice(8)}`)).toEqual([])
    expect(found(`v${visa}`)).toEqual([])
  })

  it('raises confidence when the word card is near and lowers it when order is', () => {
    const visa = card('4', 16)
    const [plain] = scanner.scanText(`x ${visa}`, 'message')
    const [named] = scanner.scanText(`credit card ${visa}`, 'message')
    const lowered = createDlpScanner({ minConfidence: 0 }).scanText(`order ${visa}`, 'message')
    expect(named!.confidence).toBeGreaterThan(plain!.confidence)
    expect(lowered[0]!.confidence).toBeLessThan(plain!.confidence)
  })
})

const IBAN_COUNTRIES: readonly [string, number][] = [
  ['DE', 22],
  ['GB', 22],
  ['FR', 27],
  ['NL', 18],
  ['NO', 15],
  ['MT', 31],
  ['BE', 16],
  ['CH', 21],
]

function iban(country: string, length: number): string {
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'
  const bban = Array.from({ length: length - 4 }, (_, i) =>
    i < 4 && country === 'GB' ? pick([...letters]) : digit(),
  ).join('')
  for (let check = 2; check < 99; check++) {
    const candidate = `${country}${String(check).padStart(2, '0')}${bban}`
    if (ibanChecksumValid(candidate)) return candidate
  }
  throw new Error('unreachable')
}

describe('IBANs', () => {
  it('finds IBANs with a valid mod-97 check, electronic and printed in groups of four', () => {
    for (let i = 0; i < 300; i++) {
      const [country, length] = pick(IBAN_COUNTRIES)
      const value = iban(country, length)
      const written = i % 2 ? value : value.replace(/(.{4})(?=.)/g, '$1 ')
      expect(found(`transfer to ${written} please`)).toEqual([{ type: 'IBAN_CODE', text: written }])
    }
    expect(found('IBAN GB82 WEST 1234 5698 7654 32 AND MORE')).toEqual([
      { type: 'IBAN_CODE', text: 'GB82 WEST 1234 5698 7654 32' },
    ])
  })

  it('ignores IBANs with a wrong check digit or a wrong length for their country', () => {
    for (let i = 0; i < 300; i++) {
      const [country, length] = pick(IBAN_COUNTRIES)
      const value = iban(country, length)
      const check = (Number(value.slice(2, 4)) + 1 + (i % 90)) % 97
      const wrong = `${country}${String(check).padStart(2, '0')}${value.slice(4)}`
      if (!ibanChecksumValid(wrong)) expect(found(`iban ${wrong}`)).toEqual([])
      expect(found(`iban ${value.slice(0, -1)}`)).toEqual([])
    }
    expect(found('iban GB82WEST12345698765433')).toEqual([])
    expect(found('iban XX82WEST12345698765432')).toEqual([])
  })
})

describe('US social security numbers', () => {
  const valid = () => {
    let area = '000'
    while (area === '000' || area === '666' || area[0] === '9') area = digits(3)
    let group = '00'
    while (group === '00') group = digits(2)
    let serial = '0000'
    while (serial === '0000') serial = digits(4)
    return `${area}-${group}-${serial}`
  }

  it('finds numbers in issued ranges written with dashes', () => {
    for (let i = 0; i < 400; i++) {
      const ssn = valid()
      if (ssn === '123-45-6789') continue
      expect(found(`employee ${ssn} on file`)).toEqual([{ type: 'US_SSN', text: ssn }])
    }
  })

  it('finds bare nine digits only when the words around say social security', () => {
    expect(found('SSN: 536225819')).toEqual([{ type: 'US_SSN', text: '536225819' }])
    expect(found('batch 536225819 done')).toEqual([])
  })

  it('ignores area 000, 666 and 900-999, group 00, serial 0000 and the known invalid ones', () => {
    for (let i = 0; i < 100; i++) {
      const area = pick(['000', '666', `9${digits(2)}`])
      expect(found(`ssn ${area}-${digits(1)}1-1${digits(3)}`)).toEqual([])
      expect(found(`ssn 5${digits(2)}-00-1${digits(3)}`)).toEqual([])
      expect(found(`ssn 5${digits(2)}-1${digits(1)}-0000`)).toEqual([])
    }
    for (const known of ['078-05-1120', '219-09-9999', '123-45-6789']) {
      expect(found(`ssn ${known}`)).toEqual([])
    }
  })
})

describe('e-mail addresses', () => {
  it('finds generated addresses and nothing around them', () => {
    const letters = [...'abcdefghxyz0123']
    const word = () => Array.from({ length: 3 + Math.floor(random() * 8) }, () => pick(letters))
    for (let i = 0; i < 300; i++) {
      const [local, more, host] = [word().join(''), word().join(''), word().join('')]
      const tld = pick(['com', 'de', 'co.uk', 'example'])
      const address = `${local}${pick(['.', '+', '_', '-'])}${more}@${host}.${tld}`
      expect(found(`<${address}> wrote`)).toEqual([{ type: 'EMAIL_ADDRESS', text: address }])
    }
  })

  it('ignores an @ without a local part or a dotted domain', () => {
    expect(found('@example.com user@localhost a@b me@-bad-.com')).toEqual([])
  })
})

describe('IP addresses', () => {
  it('finds IPv4 and IPv6 addresses in their text forms', () => {
    for (let i = 0; i < 300; i++) {
      const v4 = Array.from({ length: 4 }, () => String(Math.floor(random() * 256))).join('.')
      expect(found(`from ${v4} port 22`)).toEqual([{ type: 'IP_ADDRESS', text: v4 }])
      const groups = Array.from({ length: 8 }, () => Math.floor(random() * 65536).toString(16))
      const v6 = groups.join(':')
      expect(found(`src=${v6} ok`)).toEqual([{ type: 'IP_ADDRESS', text: v6 }])
    }
    expect(found('client 2001:db8::8a2e:370:7334 and ::ffff:192.0.2.128')).toEqual([
      { type: 'IP_ADDRESS', text: '2001:db8::8a2e:370:7334' },
      { type: 'IP_ADDRESS', text: '::ffff:192.0.2.128' },
    ])
  })

  it('ignores octets over 255, longer dotted runs, times and MAC addresses', () => {
    expect(
      found('256.1.1.1 1.2.3.4.5 at 12:20:39 mac 00:1a:2b:3c:4d:5e 1:2:3:4:5:6:7:8:9'),
    ).toEqual([])
  })
})

describe('phone numbers', () => {
  it('finds international numbers, and national ones when words such as phone are near', () => {
    expect(found('call +44 20 7946 0958 now')).toEqual([
      { type: 'PHONE_NUMBER', text: '+44 20 7946 0958' },
    ])
    expect(found('Phone: (415) 555-2671')).toEqual([
      { type: 'PHONE_NUMBER', text: '(415) 555-2671' },
    ])
    expect(found('Fax: 030 901820')).toEqual([{ type: 'PHONE_NUMBER', text: '030 901820' }])
  })

  it('ignores dates, short numbers and house numbers', () => {
    expect(found('phone 2026-12-04, tel 12345, lives at 1600 2345 Main St')).toEqual([])
  })
})

describe('secrets', () => {
  const aws = 'AKIAZ7Q3XH4LMW2PB5NE'
  const github = `ghp_${'aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5'}`
  const jwt =
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvIn0.' +
    'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c'
  const pem =
    '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MaG\n' +
    '-----END RSA PRIVATE KEY-----'

  it('finds access keys and tokens inside JSON strings, URLs and base64', () => {
    expect(found(JSON.stringify({ config: `aws_access_key_id=${aws}` }))).toEqual([
      { type: 'CLOUD_ACCESS_KEY', text: aws },
    ])
    expect(found(`GET https://api.example.com/repos?access=${github}&page=2`)).toEqual([
      { type: 'PLATFORM_TOKEN', text: github },
    ])
    const encoded = Buffer.from(`{"aws_access_key_id": "${aws}"}`).toString('base64')
    expect(found(`data: ${encoded}`)).toEqual([{ type: 'CLOUD_ACCESS_KEY', text: encoded }])
    expect(found(`Authorization: Bearer ${jwt}`)).toEqual([{ type: 'JWT', text: jwt }])
  })

  it('finds a secret in base64 wherever the encoded run starts and however long it is', () => {
    for (let i = 0; i < 200; i++) {
      const padding = 'x'.repeat(Math.floor(random() * 40))
      const encoded = Buffer.from(`${padding}aws_key=${aws}`).toString('base64')
      const lead = 'word '.repeat(Math.floor(random() * 12)) + '.'.repeat(Math.floor(random() * 16))
      const text = `${lead}${encoded} tail`
      expect(found(text)).toEqual([{ type: 'CLOUD_ACCESS_KEY', text: encoded }])
    }
  })

  it('finds a PEM private key, also with its line breaks escaped in JSON', () => {
    expect(found(`key:\n${pem}`)).toEqual([{ type: 'PRIVATE_KEY', text: pem }])
    const json = JSON.stringify({ key: pem })
    expect(found(json).map((f) => f.type)).toEqual(['PRIVATE_KEY'])
  })

  it('reads many PEM headers in a row in linear time, each a key without its end', () => {
    // Each header used to search 64 KiB for its end line: 10,000 took about ten seconds.
    const header = '-----BEGIN PRIVATE KEY-----'
    expect(growth((n) => scanner.scanText(header.repeat(n), 'message'), 2_500)).toBeLessThan(8)
    expect(scanner.scanText(header.repeat(10_000), 'message')).toHaveLength(10_000)
    expect(found(`${header}${pem}`)).toEqual([
      { type: 'PRIVATE_KEY', text: header },
      { type: 'PRIVATE_KEY', text: pem },
    ])
  })

  it('weighs context words in a line of 400,000 characters in linear time', () => {
    // The line's end and start were searched for each match: this took about eight seconds.
    const line = (n: number) => `${'1 '.repeat(n)}card 4111 1111 1111 1111`
    expect(growth((n) => scanner.scanText(line(n), 'message'), 50_000)).toBeLessThan(8)
    const long = line(200_000)
    expect(
      scanner.scanText(long, 'message').map((f) => [f.type, long.slice(f.start, f.end)]),
    ).toEqual([['CREDIT_CARD', '4111 1111 1111 1111']])
  })

  it('finds passwords in URLs and connection strings, the password alone', () => {
    expect(found('dsn postgres://app:S3cr3t!x@db.internal:5432/app')).toEqual([
      { type: 'URL_PASSWORD', text: 'S3cr3t!x' },
    ])
    expect(found('Server=sql1;Database=crm;User Id=sa;Password=Tr0ub4dor&3;')).toEqual([
      { type: 'CONNECTION_STRING_PASSWORD', text: 'Tr0ub4dor' },
    ])
    expect(found('{"user":"bob","password":"hunter2 again"}')).toEqual([
      { type: 'CONNECTION_STRING_PASSWORD', text: 'hunter2 again' },
    ])
  })

  it('finds high-entropy values next to secret or token, not words or placeholders', () => {
    expect(found('client_secret: "q8Zr2LmX0vT4nB7wK1sD9fHj"')).toEqual([
      { type: 'HIGH_ENTROPY_SECRET', text: 'q8Zr2LmX0vT4nB7wK1sD9fHj' },
    ])
    expect(found('token=aaaaaaaaaaaaaaaa1111 secret: thisisnotrandomatall')).toEqual([])
    expect(found('password=******** url=https://user:${DB_PASSWORD}@db')).toEqual([])
  })
})

describe('findings', () => {
  it('hold type, confidence, path and span, never the value', () => {
    const ssn = '536-22-5819'
    const event = { user: { note: `ssn ${ssn}` }, tags: ['x', `4111 1111 1111 1111`] }
    const findings: Finding[] = scanner.scanValue(event)
    expect(findings.map((f) => [f.type, f.path, f.start, f.end])).toEqual([
      ['US_SSN', 'user.note', 4, 15],
      ['CREDIT_CARD', 'tags.1', 0, 19],
    ])
    const text = JSON.stringify(findings)
    expect(text).not.toContain(ssn)
    expect(text).not.toContain('4111')
  })

  it('finds a value used as a field name, at a path that does not repeat it', () => {
    const findings = scanner.scanValue({ cards: { '4111111111111111': { limit: 5000 } } })
    expect(findings).toMatchObject([{ type: 'CREDIT_CARD', path: 'cards.*', start: 0, end: 16 }])
  })

  it('scan card numbers and SSNs that arrive as JSON numbers', () => {
    const number = Number(card('4', 16))
    expect(scanner.scanValue({ payment: { card_number: number } })).toMatchObject([
      { type: 'CREDIT_CARD', path: 'payment.card_number' },
    ])
  })
})

/**
 * How much longer `work` takes on four times the input than on the input: about 4 for linear
 * work, 16 for quadratic. A ratio measured in one run, best of three each, so the machine's
 * load (which moves absolute times) cancels out; the cases above took seconds when quadratic.
 */
function growth(work: (n: number) => unknown, n: number): number {
  const best = (size: number): number => {
    let fastest = Infinity
    for (let run = 0; run < 3; run++) {
      const started = performance.now()
      work(size)
      fastest = Math.min(fastest, performance.now() - started)
    }
    return fastest
  }
  best(n) // warm-up: the first run compiles the scanner's paths
  return best(4 * n) / Math.max(best(n), 0.5)
}
