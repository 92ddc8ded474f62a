import type { DlpScanner, DlpType } from './finding.ts'

/** Top-level members the scan skips: what identifies and times the event, and what is sealed. */
const UNSCANNED = new Set(['id', '@timestamp', 'sealed', 'dlp'])

/**
 * The paths of an event's fields whose text holds a finding of one of `types`: what an emitter
 * seals rather than sends in the clear (`sealEventFields` in `crypto/`). Like the scanner, it
 * imports nothing of Node, so a browser or a service can choose with the pipeline's code.
 *
 * @example
 *   fieldsToSeal(createDlpScanner(), { message: 'card 4111 1111 1111 1111' }, ['CREDIT_CARD'])
 *   // ['message']
 */
export function fieldsToSeal(
  scanner: DlpScanner,
  event: Record<string, unknown>,
  types: readonly DlpType[],
): string[] {
  const wanted = new Set<string>(types)
  const paths = new Set<string>()
  for (const [key, value] of Object.entries(event)) {
    if (UNSCANNED.has(key)) continue
    for (const finding of scanner.scanValue(value, key)) {
      if (wanted.has(finding.type)) paths.add(finding.path)
    }
  }
  return [...paths]
}
