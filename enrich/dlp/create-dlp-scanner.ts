import { cardRecogniser } from './card-recogniser.ts'
import { emailRecogniser } from './email-recogniser.ts'
import type { DlpScanner, Finding } from './finding.ts'
import { ibanRecogniser } from './iban-recogniser.ts'
import { ipv4Recogniser, ipv6Recogniser } from './ip-recogniser.ts'
import { phoneRecogniser } from './phone-recogniser.ts'
import type { Recogniser } from './recogniser.ts'
import { weighContext } from './recogniser.ts'
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
const BASE64_RUN = /(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{32,}={0,2}/g

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

  function candidates(text: string, path: string, from: readonly Recogniser[]): Ranked[] {
    const fieldName = path.slice(path.lastIndexOf('.') + 1)
    const found: Ranked[] = []
    for (let rank = 0; rank < from.length; rank++) {
      const recogniser = from[rank]!
      if (recogniser.hint && !recogniser.hint(text)) continue
      const pattern = recogniser.pattern
      pattern.lastIndex = 0
      for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
        const candidate = recogniser.accept(match, text)
        if (candidate === undefined) continue
        const { start, end } = candidate
        const confidence = weighContext(
          text,
          start,
          end,
          candidate.confidence,
          recogniser.context,
          fieldName,
        )
        if (confidence < minConfidence) continue
        found.push({
          type: recogniser.type,
          confidence: Math.round(confidence * 100) / 100,
          path,
          start,
          end,
          recogniser: recogniser.name,
          rank,
        })
      }
    }
    return found
  }

  /**
   * Secrets hidden in base64 (a key in a Kubernetes secret, a token in a basic-auth header
   * or a cookie): each long base64 run that no finding covers yet is decoded and, when it
   * reads as text, scanned for secrets; a secret inside marks the whole run.
   */
  function encodedSecrets(text: string, path: string, found: readonly Ranked[]): Ranked[] {
    if (secrets.length === 0 || text.length < 32) return []
    const extra: Ranked[] = []
    BASE64_RUN.lastIndex = 0
    for (let match = BASE64_RUN.exec(text); match !== null; match = BASE64_RUN.exec(text)) {
      const start = match.index
      const end = start + match[0].length
      if (found.some((f) => f.start < end && start < f.end)) continue
      const decoded = decodeBase64(match[0])
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
    found.push(...encodedSecrets(text, path, found))
    return resolve(found).map(({ rank: _rank, ...finding }) => finding)
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

/** Keeps, of overlapping findings, the one of the first recogniser; returns them by start. */
function resolve(found: Ranked[]): Ranked[] {
  if (found.length < 2) return found
  const byPrecedence = [...found].sort((a, b) => a.rank - b.rank || b.confidence - a.confidence)
  const kept: Ranked[] = []
  for (const finding of byPrecedence) {
    if (!kept.some((k) => k.start < finding.end && finding.start < k.end)) kept.push(finding)
  }
  return kept.sort((a, b) => a.start - b.start)
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

/** Calls `visit` with every string (and number, as decimal text) in `value` and its path. */
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
      walk(child, path === '' ? String(key) : `${path}.${key}`, depth + 1, visit)
    }
  }
}
