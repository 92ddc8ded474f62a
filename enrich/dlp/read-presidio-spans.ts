import { readFileSync } from 'node:fs'

import { z } from 'zod'

import { ValidationError } from '../../platform/errors.ts'

/**
 * One labelled text of the Presidio span format (as presidio-evaluator writes its synthetic
 * data): the text and the spans of its entities, `end_position` exclusive. Other keys
 * (`masked`, `template_id`, `entity_value`) are allowed and ignored.
 */
const spanRecord = z.object({
  full_text: z.string(),
  spans: z.array(
    z.object({
      entity_type: z.string().min(1),
      start_position: z.number().int().nonnegative(),
      end_position: z.number().int().nonnegative(),
    }),
  ),
})

export type SpanRecord = z.infer<typeof spanRecord>

/**
 * Reads a Presidio span file: a JSON array of records (or one record per line).
 *
 * @throws ValidationError `PAL_DLP_EVAL_INPUT` naming the file, the record's index and field
 *   path, what was expected and what arrived, when a record does not have the format or a
 *   span lies outside its text.
 */
export function readPresidioSpans(file: string): SpanRecord[] {
  const text = readDlpInput(file)
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    raw = parseLines(file, text, error as Error)
  }
  if (!Array.isArray(raw)) raw = [raw]
  const records: SpanRecord[] = []
  for (const [index, value] of (raw as unknown[]).entries()) {
    const parsed = spanRecord.safeParse(value)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!
      const path = [index, ...issue.path].join('.')
      throw invalid(file, path, `${issue.message}`)
    }
    for (const [i, span] of parsed.data.spans.entries()) {
      if (
        span.end_position <= span.start_position ||
        span.end_position > parsed.data.full_text.length
      ) {
        throw invalid(
          file,
          `${index}.spans.${i}`,
          `expected 0 <= start_position < end_position <= ${parsed.data.full_text.length} ` +
            `(the text's length), got ${span.start_position}..${span.end_position}`,
        )
      }
    }
    records.push(parsed.data)
  }
  return records
}

function parseLines(file: string, text: string, arrayError: Error): unknown[] {
  const lines = text.split('\n')
  if (lines.filter((l) => l.trim() !== '').length < 2) {
    throw invalid(file, '', `expected a JSON array of records: ${arrayError.message}`)
  }
  return lines.flatMap((line, i) => {
    if (line.trim() === '') return []
    try {
      return [JSON.parse(line) as unknown]
    } catch (error) {
      throw invalid(file, `line ${i + 1}`, `expected one JSON record: ${(error as Error).message}`)
    }
  })
}

/**
 * A file's text for `dlp scan` and `dlp eval`; one that cannot be read (missing, a folder, no
 * permission) is refused naming it, with exit 2 like any other bad input, not exit 1 with
 * Node's message (which for a folder names no file).
 */
export function readDlpInput(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    const message = `expected a readable file, got one that cannot be read (${(error as Error).message})`
    throw invalid(file, '', message)
  }
}

function invalid(file: string, path: string, message: string): ValidationError {
  return new ValidationError(
    `${file}${path ? ` at ${path}` : ''}: ${message}`,
    { file, path },
    'PAL_DLP_EVAL_INPUT',
  )
}
