import type { Candidate, Recogniser } from './recogniser.ts'

/** The span of capture group `group` of a match made with the `d` flag. */
function groupSpan(match: RegExpExecArray, group: number, confidence: number): Candidate {
  const [start, end] = match.indices?.[group] ?? [match.index, match.index + match[0].length]
  return { start, end, confidence }
}

/** The whole match as a candidate. */
function whole(match: RegExpExecArray, confidence: number): Candidate {
  return { start: match.index, end: match.index + match[0].length, confidence }
}

/**
 * Values that stand in for a secret rather than being one: masks, template variables, format
 * placeholders and the words people type into examples.
 */
export function isPlaceholder(value: string): boolean {
  const unquoted = value.replace(/^["']|["']$/g, '')
  if (unquoted.length === 0) return true
  if (/^[*x•.#-]+$/i.test(unquoted)) return true
  if (
    /^(?:\$\{.*\}|\$\(.*\)|\{\{.*\}\}|<.*>|%[sd]|\$[A-Z_]+|null|none|undefined)$/i.test(unquoted)
  ) {
    return true
  }
  return /^(?:redacted|hidden|masked|secret|password|changeme|your[_-]?\w*)$/i.test(unquoted)
}

/** Shannon entropy of `value` in bits per character. */
export function shannonEntropy(value: string): number {
  const counts = new Map<string, number>()
  for (const c of value) counts.set(c, (counts.get(c) ?? 0) + 1)
  let bits = 0
  for (const n of counts.values()) {
    const p = n / value.length
    bits -= p * Math.log2(p)
  }
  return bits
}

/** Decodes base64 or base64url text, or returns undefined when it is not that. */
export function decodeBase64(value: string): string | undefined {
  try {
    const standard = value.replace(/-/g, '+').replace(/_/g, '/')
    const padded = standard + '='.repeat((4 - (standard.length % 4)) % 4)
    // atob is a web platform global (Node 16+ and every browser): no Node import needed.
    return atob(padded)
  } catch {
    return undefined
  }
}

/**
 * Cloud provider access keys: AWS access key ids (the four-letter prefixes AWS documents for
 * users, roles, temporary credentials and certificates, then 16 base-32 characters), Google
 * API keys (`AIza` and 35 characters) and Azure storage account keys in connection strings.
 */
export const cloudKeyRecogniser: Recogniser = {
  name: 'cloud-access-key',
  type: 'CLOUD_ACCESS_KEY',
  pattern: new RegExp(
    [
      /(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}/,
      /(?<![A-Za-z0-9])AIza[0-9A-Za-z_-]{35}/,
      /AccountKey=([A-Za-z0-9+/]{86}==)/,
    ]
      .map((part) => `${part.source}(?![A-Za-z0-9])`)
      .join('|'),
    'dg',
  ),
  family: 'secret',
  hint: (text) => text.includes('A'),
  accept: (match) => (match[1] ? groupSpan(match, 1, 0.9) : whole(match, 0.9)),
  context: {
    raise: ['aws', 'key', 'access', 'azure', 'google', 'gcp', 'credentials'],
    weight: 0.05,
  },
}

/**
 * Tokens whose issuers give them a fixed prefix so they can be found (GitHub's `ghp_` and
 * friends and fine-grained `github_pat_`, GitLab's `glpat-`, Slack's `xox?-`, Stripe's secret
 * and restricted keys, npm, PyPI, SendGrid, Shopify, OpenAI and Anthropic API keys).
 */
export const platformTokenRecogniser: Recogniser = {
  name: 'platform-token',
  type: 'PLATFORM_TOKEN',
  pattern: new RegExp(
    '(?<![A-Za-z0-9_])(?:' +
      [
        'gh[pousr]_[A-Za-z0-9]{36,255}',
        'github_pat_[A-Za-z0-9_]{60,255}',
        'glpat-[A-Za-z0-9_-]{20,}',
        'xox[abposr]-[A-Za-z0-9-]{10,}',
        '[sr]k_(?:live|test)_[A-Za-z0-9]{20,}',
        'npm_[A-Za-z0-9]{36}',
        'pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}',
        'SG\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}',
        'shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}',
        'sk-(?:proj-|ant-(?:api\\d\\d-)?)?[A-Za-z0-9_-]{32,}',
      ].join('|') +
      ')(?![A-Za-z0-9_-])',
    'g',
  ),
  family: 'secret',
  hint: (text) => /[_-]|SG\./.test(text),
  accept: (match) => whole(match, 0.9),
}

/** PEM private keys (RFC 7468 section 10 and the PKCS#1, SEC 1, OpenSSH and PGP variants). */
export const privateKeyRecogniser: Recogniser = {
  name: 'pem-private-key',
  type: 'PRIVATE_KEY',
  pattern: new RegExp(
    /-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK)?-----/.source +
      // The body stops at another header: else each of many headers in a row would search
      // 64 KiB for its end, and a megabyte of them would hold the event loop for minutes.
      String.raw`(?:(?:(?!-----BEGIN )[\s\S]){0,65536}?-----END \1PRIVATE KEY\2-----)?`,
    'g',
  ),
  family: 'secret',
  hint: (text) => text.includes('-----BEGIN'),
  // A header without its end still marks a key, cut by a line limit or a log truncation.
  accept: (match) => whole(match, match[0].includes('-----END') ? 0.95 : 0.8),
}

/**
 * JSON Web Tokens in compact serialisation (RFC 7519 section 3): three base64url parts of
 * which the first two are JSON objects, the header naming an `alg` (RFC 7515 section 4.1.1).
 */
export const jwtRecogniser: Recogniser = {
  name: 'jwt',
  type: 'JWT',
  pattern: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g,
  family: 'secret',
  hint: (text) => text.includes('eyJ'),
  accept(match) {
    const header = decodeBase64(match[0].slice(0, match[0].indexOf('.')))
    if (header === undefined) return undefined
    try {
      const parsed: unknown = JSON.parse(header)
      if (typeof parsed !== 'object' || parsed === null || !('alg' in parsed)) return undefined
    } catch {
      return undefined
    }
    return whole(match, 0.9)
  },
}

/**
 * A password in a URL's userinfo (`scheme://user:password@host`, RFC 3986 section 3.2.1,
 * which deprecates the form for exactly this reason). The span is the password alone.
 */
export const urlPasswordRecogniser: Recogniser = {
  name: 'url-userinfo-password',
  type: 'URL_PASSWORD',
  // Starts at `://`, a literal the search finds fast; `accept` checks the scheme before it.
  pattern: /:\/\/[^\s/?#@:"'<>]{0,256}:([^\s/?#@"'<>]{1,256})@/dg,
  family: 'secret',
  hint: (text) => text.includes('://'),
  accept(match, text) {
    const password = match[1] ?? ''
    // RFC 3986 section 3.1: a scheme is a letter, then letters, digits, `+`, `-` and `.`.
    let start = match.index
    while (start > 0 && /[A-Za-z0-9+.-]/.test(text[start - 1]!)) start--
    if (start === match.index || !/[A-Za-z]/.test(text[start]!)) return undefined
    if (isPlaceholder(password)) return undefined
    return groupSpan(match, 1, 0.85)
  },
}

/**
 * A password assigned in a connection string or configuration text: `Password=...;` of
 * ADO.NET and ODBC strings, `password=` in JDBC and libpq key-value strings, and the same
 * key in JSON, YAML or a query string. The span is the value alone.
 */
export const passwordAssignmentRecogniser: Recogniser = {
  name: 'password-assignment',
  type: 'CONNECTION_STRING_PASSWORD',
  pattern: new RegExp(
    /(?<![A-Za-z0-9])(?:password|passwd|pwd|pass)["']?[ \t]*[:=][ \t]*/.source +
      /("[^"\r\n]{1,256}"|'[^'\r\n]{1,256}'|[^\s;&,'"}]{1,256})/.source,
    'dgi',
  ),
  family: 'secret',
  hint: (text) => /pass|pwd/i.test(text),
  accept(match) {
    const value = match[1] ?? ''
    if (isPlaceholder(value)) return undefined
    const quoted = value.startsWith('"') || value.startsWith("'")
    const candidate = groupSpan(match, 1, 0.6)
    if (quoted) return { ...candidate, start: candidate.start + 1, end: candidate.end - 1 }
    return candidate
  },
  context: {
    raise: ['server', 'host', 'database', 'db', 'uid', 'user', 'username', 'source', 'jdbc'],
    weight: 0.2,
  },
}

/**
 * A high-entropy value assigned to a key that names a secret (`client_secret`, `api_key`,
 * `x-auth-token`): at least 16 characters of letters and digits at 3.5 bits or more per
 * character, which words and ids rarely reach while random keys do.
 */
export const entropySecretRecogniser: Recogniser = {
  name: 'keyed-high-entropy',
  type: 'HIGH_ENTROPY_SECRET',
  // Starts at the word, so the search runs on a literal; the rest of the key may follow it.
  pattern: new RegExp(
    /(?:secret|token|api[_-]?key|apikey|credential|(?:access|auth|private)[_-]?key|signature)/
      .source +
      /[A-Za-z0-9_.-]{0,32}["']?[ \t]*[:=][ \t]*(?:bearer[ \t]+)?["']?/.source +
      /([A-Za-z0-9+/=_\-.~]{16,1024})/.source,
    'dgi',
  ),
  family: 'secret',
  hint: (text) => /secret|token|key|credential|signature/i.test(text),
  accept(match) {
    const value = match[1] ?? ''
    if (!/[0-9]/.test(value) || !/[A-Za-z]/.test(value)) return undefined
    if (shannonEntropy(value) < 3.5 || isPlaceholder(value)) return undefined
    return groupSpan(match, 1, 0.75)
  },
}

/** Every secret recogniser, in order of precedence: specific shapes before keyed guesses. */
export const secretRecognisers: readonly Recogniser[] = [
  privateKeyRecogniser,
  cloudKeyRecogniser,
  platformTokenRecogniser,
  jwtRecogniser,
  urlPasswordRecogniser,
  passwordAssignmentRecogniser,
  entropySecretRecogniser,
]
