/**
 * What the DLP scanner reports. A finding names a type, how sure the scanner is, where the
 * value sits (the field path and the span inside that field's text) and never the value itself,
 * so findings can be stored, logged and shown to analysts who must not see the data.
 *
 * This module and the scanner beside it import nothing from Node or the platform: emitting
 * services (the ingest producer, the end-to-end encryption library) scan a payload before it
 * leaves them with the same code the pipeline runs.
 */

/**
 * The types the scanner recognises. The first six keep the entity names of the Presidio span
 * format, so `palisade dlp eval` compares like with like; secrets are split by kind because
 * policies treat a PEM private key and an e-mail address differently.
 */
export const DLP_TYPES = [
  'CREDIT_CARD',
  'IBAN_CODE',
  'US_SSN',
  'EMAIL_ADDRESS',
  'PHONE_NUMBER',
  'IP_ADDRESS',
  'CLOUD_ACCESS_KEY',
  'PLATFORM_TOKEN',
  'PRIVATE_KEY',
  'JWT',
  'URL_PASSWORD',
  'CONNECTION_STRING_PASSWORD',
  'HIGH_ENTROPY_SECRET',
] as const

export type DlpType = (typeof DLP_TYPES)[number]

export interface Finding {
  type: DlpType
  /** 0 to 1: the recogniser's own certainty, raised or lowered by context words nearby. */
  confidence: number
  /** Dotted path of the field the text came from (`message`, `url.full`, `labels.note`). */
  path: string
  /** Span in UTF-16 code units of that field's text: `start` inclusive, `end` exclusive. */
  start: number
  end: number
  /** Which recogniser found it, for tuning (`luhn-card`, `aws-access-key`, ...). */
  recogniser: string
}

export interface DlpScanner {
  /** Findings in one text, in the order of their spans; `path` is copied onto each. */
  scanText(text: string, path: string): Finding[]
  /**
   * Findings in every string of a JSON-like value (an event, a payload), with the dotted path
   * of each string. Numbers are scanned as their decimal text, since card numbers and SSNs
   * arrive as JSON numbers too.
   */
  scanValue(value: unknown, path?: string): Finding[]
}
