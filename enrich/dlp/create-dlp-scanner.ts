import { cardRecogniser } from './card-recogniser.ts'
import { emailRecogniser } from './email-recogniser.ts'
import type { DlpScanner, Finding } from './finding.ts'
import { ibanRecogniser } from './iban-recogniser.ts'
import { ipv4Recogniser, ipv6Recogniser } from './ip-recogniser.ts'
import { phoneRecogniser } from './phone-recogniser.ts'
import type { ContextWords, Recogniser } from './recogniser.ts'
import { contextDelta } from './recogniser.ts'
import { decodeBase64, secretRecognisers } from './secret-recognisers.ts'
import { ssnRecogniser } from './ssn-recogniser.ts'

/**
 * Every recogniser, in order of precedence: where two findings overlap, the one whose
 * recogniser comes first wins. Secrets come first because their shapes are the most specific
 * (a password in a URL also looks like an e-mail address), then the checksummed types (an
 * IBAN before a card, as a printed IBAN holds card-shaped digit groups), then the ones that
 * rest on shape alone (IPv6 before IPv4, which it may end with); phone numbers last, since
 * almost any digits can be one.
 */
export const RECOGNISERS: readonly Recogniser[] = [
  ...secretRecognisers,
  ibanRecogniser,
  cardRecogniser,
  ssnRecogniser,
  emailRecogniser,
  ipv6Recogniser,
  ipv4Recogniser,
  phoneRecogniser,
]

export interface DlpScannerOptions {
  /** Findings below this confidence are not reported (default 0.5). */
  minConfidence?: number
  /** The recognisers to run, in order of precedence (default all of them). */
  recognisers?: readonly Recogniser[]
}

/** Base64 runs long enough to hide a key or token (24 bytes once decoded). */
const BASE64_MIN = 32

/** Which UTF-16 units can be part of base64 or base64url text (RFC 4648 sections 4 and 5). */
const BASE64_UNIT = new Uint8Array(128)
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_') {
  BASE64_UNIT[c.charCodeAt(0)] = 1
}

function isBase64Unit(text: string, i: number): boolean {
  const c = text.charCodeAt(i)
  return c < 128 && BASE64_UNIT[c] === 1
}

/**
 * Runs of base64 units at least BASE64_MIN long (with their `=` padding), as pairs. Such a run
 * covers two neighbouring multiples of half that length, so only those positions are read
 * until two in a row are base64: a text without long runs costs a sixteenth of its length.
 */
function base64Runs(text: string): number[] {
  const runs: number[] = []
  const stride = BASE64_MIN / 2
  for (let p = 0; p + stride < text.length; p += stride) {
    if (!isBase64Unit(text, p) || !isBase64Unit(text, p + stride)) continue
    let start = p
    while (start > 0 && isBase64Unit(text, start - 1)) start--
    let end = p + 1
    while (end < text.length && isBase64Unit(text, end)) end++
    if (end > p + stride && end - start >= BASE64_MIN) {
      let padded = end
      while (padded < text.length && padded - end < 2 && text.charCodeAt(padded) === 61) padded++
      runs.push(start, padded)
    }
    // Go on from the stride point at or before the run's end (the loop adds one stride).
    p = Math.max(p, end - (end % stride) - stride)
  }
  return runs
}
/**
 * Prefixes (case as written) and words (any case) of which every secret recogniser's match
 * holds one: a text with none of them is spared all secret patterns in two searches. The
 * words are spelt out as `[Kk][Ee][Yy]` rather than searched with the `i` flag, which the
 * regular expression engine runs about a third slower here (measured with bench:dlp's texts).
 */
const SECRET_PREFIX = new RegExp(
  [
    '-----BEGIN',
    'A(?:KIA|SIA|BIA|CCA|GPA|IDA|ROA|IPA|NPA|NVA|PKA|Iza|ccountKey=)',
    'gh[pousr]_|github_pat_|glpat-|xox[abposr]-|[sr]k_(?:live|test)_|npm_|pypi-|SG\\.|shp|sk-',
    'eyJ|://',
  ].join('|'),
)
const SECRET_WORD = new RegExp(
  ['pass', 'pwd', 'secret', 'token', 'key', 'credential', 'signature']
    .map((word) => [...word].map((c) => `[${c.toUpperCase()}${c}]`).join(''))
    .join('|'),
)

/**
 * Which UTF-16 units a run of digits and phone punctuation is made of: 2 for a digit, 1 for
 * `(`, `)`, `.`, `-` and space.
 */
const RUN_UNIT = new Uint8Array(128)
for (const c of '().- ') RUN_UNIT[c.charCodeAt(0)] = 1
for (const c of '0123456789') RUN_UNIT[c.charCodeAt(0)] = 2

/** How far apart the units read in search of a run are: no more than a run's shortest length. */
const RUN_STRIDE = 7

function runUnit(text: string, i: number): number {
  const c = text.charCodeAt(i)
  return c < 128 ? RUN_UNIT[c]! : 0
}

/** How deep `scanValue` follows nested objects; events are refused deeper than 64 levels. */
const MAX_DEPTH = 128

interface Ranked extends Finding {
  rank: number
}

/**
 * Makes a scanner over the recognisers. It holds no state between calls, imports nothing
 * from Node, and never copies a matched value into a finding.
 *
 * @example
 * const scanner = createDlpScanner()
 * scanner.scanText('card 4111 1111 1111 1111', 'message')
 * // [{ type: 'CREDIT_CARD', confidence: 0.95, path: 'message', start: 5, end: 24, ... }]
 */
export function createDlpScanner(options: DlpScannerOptions = {}): DlpScanner {
  const minConfidence = options.minConfidence ?? 0.5
  const recognisers = options.recognisers ?? RECOGNISERS
  const secrets = recognisers.filter((r) => secretRecognisers.includes(r))

  // The match being weighed; the scanner is synchronous, so one set of these serves every
  // call, and no closure or object is made per match.
  let currentText = ''
  let currentField = ''
  let currentContext: ContextWords | undefined
  let matchStart = 0
  let matchEnd = 0
  let delta = Number.NaN
  const weigh = (): number => {
    if (Number.isNaN(delta)) {
      delta = contextDelta(currentText, matchStart, matchEnd, currentContext, currentField)
    }
    return delta
  }
  const needed = (): number => minConfidence - weigh()

  function candidates(text: string, path: string, from: readonly Recogniser[]): Ranked[] {
    const fieldName = path.slice(path.lastIndexOf('.') + 1)
    const found: Ranked[] = []
    let secretHint: boolean | undefined
    let digitFamily: number[] | undefined
    currentText = text
    currentField = fieldName
    for (let rank = 0; rank < from.length; rank++) {
      const recogniser = from[rank]!
      if (recogniser.family === 'digits') {
        ;(digitFamily ??= []).push(rank)
        continue
      }
      if (recogniser.family === 'secret') {
        secretHint ??= SECRET_PREFIX.test(text) || SECRET_WORD.test(text)
        if (!secretHint) continue
      }
      if (recogniser.hint && !recogniser.hint(text)) continue
      currentContext = recogniser.context
      matchIn(recogniser, rank, text, 0, Infinity, path, found)
    }
    if (digitFamily === undefined) return found

    // The digit family runs over each run of digits once, with the run cut out once; a run
    // with too few digits (or no dot) for a recogniser is not given to it. A run is what
    // `/\d[\d().\- ]{5,}\d/g` finds: in each stretch of digits and phone punctuation, from
    // its first digit to its last, when they are six or more units apart. A run is seven units
    // or more, so it covers a multiple of RUN_STRIDE: only those are read until one is part of
    // a stretch, which is then read whole, counting its digits on the way.
    let probe = 0
    while (probe < text.length) {
      if (runUnit(text, probe) === 0) {
        probe += RUN_STRIDE
        continue
      }
      let stretchStart = probe
      while (stretchStart > 0 && runUnit(text, stretchStart - 1) !== 0) stretchStart--
      let firstDigit = -1
      let lastDigit = -1
      let firstDot = -1
      let digits = 0
      let i = stretchStart
      for (; i < text.length; i++) {
        const unit = runUnit(text, i)
        if (unit === 0) break
        if (unit === 2) {
          if (firstDigit < 0) firstDigit = i
          lastDigit = i
          digits++
        } else if (firstDot < 0 && firstDigit >= 0 && text.charCodeAt(i) === 46) {
          firstDot = i
        }
      }
      probe = Math.ceil(i / RUN_STRIDE) * RUN_STRIDE
      if (firstDigit < 0 || lastDigit - firstDigit < 6) continue
      const runStart = firstDigit
      const runEnd = lastDigit + 1
      // Punctuation after the last digit is not part of the run.
      const dot = firstDot >= 0 && firstDot < lastDigit
      const offset = Math.max(0, runStart - 2)
      let slice: string | undefined
      for (const rank of digitFamily) {
        const recogniser = from[rank]!
        if (digits < (recogniser.minDigits ?? 0) || (recogniser.needsDot && !dot)) continue
        slice ??= text.slice(offset, runEnd + 16)
        currentContext = recogniser.context
        matchIn(recogniser, rank, slice, offset, runEnd, path, found)
      }
    }
    return found
  }

  /** Runs a recogniser over `slice`, which starts at `offset` in `currentText`. */
  function matchIn(
    recogniser: Recogniser,
    rank: number,
    slice: string,
    offset: number,
    runEnd: number,
    path: string,
    found: Ranked[],
  ): void {
    const pattern = recogniser.pattern
    pattern.lastIndex = 0
    for (let m = pattern.exec(slice); m !== null; m = pattern.exec(slice)) {
      // A match starting past its run belongs to the next run's slice.
      if (offset + m.index >= runEnd) break
      matchStart = offset + m.index
      matchEnd = matchStart + m[0].length
      delta = Number.NaN
      const candidate = recogniser.accept(m, slice, needed)
      if (candidate === undefined) continue
      const confidence = Math.min(1, Math.max(0, candidate.confidence + weigh()))
      if (confidence < minConfidence) continue
      found.push({
        type: recogniser.type,
        confidence: Math.round(confidence * 100) / 100,
        path,
        start: offset + candidate.start,
        end: offset + candidate.end,
        recogniser: recogniser.name,
        rank,
      })
    }
  }

  /**
   * Secrets hidden in base64 (a key in a Kubernetes secret, a token in a basic-auth header
   * or a cookie): each long base64 run that no finding covers yet is decoded and, when it
   * reads as text, scanned for secrets; a secret inside marks the whole run.
   */
  function encodedSecrets(text: string, path: string, found: readonly Ranked[]): Ranked[] {
    if (secrets.length === 0 || text.length < BASE64_MIN) return []
    const extra: Ranked[] = []
    const runs = base64Runs(text)
    for (let i = 0; i < runs.length; i += 2) {
      const start = runs[i]!
      const end = runs[i + 1]!
      if (found.some((f) => f.start < end && start < f.end)) continue
      const decoded = decodeBase64(text.slice(start, end))
      if (decoded === undefined || !mostlyText(decoded)) continue
      const inner = resolve(candidates(decoded, path, secrets))[0]
      if (inner === undefined) continue
      const confidence = Math.round(inner.confidence * 95) / 100
      if (confidence < minConfidence) continue
      const recogniser = `base64/${inner.recogniser}`
      extra.push({ ...inner, confidence, start, end, recogniser })
    }
    return extra
  }

  function scanText(text: string, path: string): Finding[] {
    const found = candidates(text, path, recognisers)
    const encoded = encodedSecrets(text, path, found)
    if (found.length === 0 && encoded.length === 0) return []
    found.push(...encoded)
    return resolve(found).map(withoutRank)
  }

  function scanValue(value: unknown, path = ''): Finding[] {
    const findings: Finding[] = []
    walk(value, path, 0, (text, at) => {
      for (const finding of scanText(text, at)) findings.push(finding)
    })
    return findings
  }

  return { scanText, scanValue }
}

/** The finding as the scanner reports it (spelt out: an object rest is slower here). */
function withoutRank(f: Ranked): Finding {
  const { type, confidence, path, start, end, recogniser } = f
  return { type, confidence, path, start, end, recogniser }
}

/** Keeps, of overlapping findings, the one of the first recogniser; returns them by start. */
function resolve(found: Ranked[]): Ranked[] {
  if (found.length < 2) return found
  const byPrecedence = [...found].sort((a, b) => a.rank - b.rank || b.confidence - a.confidence)
  // Kept findings never overlap, so in order of start they are in order of end too: the one
  // kept finding a candidate can overlap is the first that ends after the candidate starts,
  // found by halving. Testing every kept finding made a line of 40,000 PEM headers take
  // seconds (quadratic); a recogniser's findings arrive left to right, so most insertions
  // are at the end.
  const kept: Ranked[] = []
  for (const finding of byPrecedence) {
    let low = 0
    let high = kept.length
    while (low < high) {
      const mid = (low + high) >>> 1
      if (kept[mid]!.end <= finding.start) low = mid + 1
      else high = mid
    }
    if (low < kept.length && kept[low]!.start < finding.end) continue
    kept.splice(low, 0, finding)
  }
  return kept
}

/** True when at least 90 % of `decoded` is printable ASCII or white space. */
function mostlyText(decoded: string): boolean {
  let printable = 0
  for (let i = 0; i < decoded.length; i++) {
    const c = decoded.charCodeAt(i)
    if ((c >= 32 && c < 127) || c === 9 || c === 10 || c === 13) printable++
  }
  return printable >= decoded.length * 0.9
}

/**
 * Calls `visit` with every string (and number, as decimal text) in `value` and its path, and
 * every object key (a map keyed by card number or address holds the value in its field name),
 * whose path ends in `*` rather than the key, as a finding never holds the value.
 */
function walk(
  value: unknown,
  path: string,
  depth: number,
  visit: (text: string, path: string) => void,
): void {
  if (typeof value === 'string') {
    visit(value, path)
  } else if (typeof value === 'number' || typeof value === 'bigint') {
    if (typeof value === 'bigint' || Number.isFinite(value)) visit(String(value), path)
  } else if (value !== null && typeof value === 'object' && depth < MAX_DEPTH) {
    const entries = Array.isArray(value) ? value.entries() : Object.entries(value)
    for (const [key, child] of entries) {
      if (typeof key === 'string') visit(key, path === '' ? '*' : `${path}.*`)
      walk(child, path === '' ? String(key) : `${path}.${key}`, depth + 1, visit)
    }
  }
}
