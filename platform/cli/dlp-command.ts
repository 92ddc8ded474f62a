import { type Command, InvalidArgumentError } from 'commander'

import { createDlpScanner } from '../../enrich/dlp/create-dlp-scanner.ts'
import { evaluateDlp } from '../../enrich/dlp/evaluate-dlp.ts'
import type { TypeScore } from '../../enrich/dlp/evaluate-dlp.ts'
import type { Finding } from '../../enrich/dlp/finding.ts'
import { readDlpInput, readPresidioSpans } from '../../enrich/dlp/read-presidio-spans.ts'
import { runOffline } from './offline-action.ts'

interface DlpOptions {
  json?: boolean
  minConfidence?: number
}

/**
 * `dlp scan` and `dlp eval`: offline tools that read files and open no data. Exit codes:
 * 0 when the command ran (findings or not), 2 on a hard error (a file that cannot be read,
 * a record that is not in the span format). Neither prints a matched value.
 */
export function registerDlpCommands(program: Command): void {
  const dlp = program.command('dlp').description('find sensitive data in files, offline')

  dlp
    .command('scan')
    .description(
      'print the sensitive data found in a file: type, confidence, line, column and length, ' +
        'never the value; a JSON or NDJSON file is scanned field by field',
    )
    .argument('<file>', 'a text, JSON or NDJSON file')
    .option('--min-confidence <n>', 'report findings at or above this confidence', unit, 0.5)
    .option('--json', 'print one finding per line as JSON')
    .action((file: string, options: DlpOptions) =>
      runOffline(options, () => {
        const scanner = createDlpScanner({ minConfidence: options.minConfidence })
        const lines = readDlpInput(file).split('\n')
        let count = 0
        for (const [i, line] of lines.entries()) {
          for (const finding of scanLine(scanner, line)) {
            count++
            const at = { line: i + 1, ...finding }
            if (options.json) process.stdout.write(`${JSON.stringify(at)}\n`)
            else process.stdout.write(`${describe(file, at)}\n`)
          }
        }
        if (!options.json) process.stdout.write(`${count} findings\n`)
      }),
    )

  dlp
    .command('eval')
    .description(
      'score the scanner against texts labelled in the Presidio span format (full_text, ' +
        'spans with entity_type, start_position, end_position): precision, recall and F1 ' +
        'per type, a finding counting when it has the labelled type and overlaps the span',
    )
    .argument('<file>', 'a JSON array of labelled records (or one per line)')
    .option('--min-confidence <n>', 'count findings at or above this confidence', unit, 0.5)
    .option('--json', 'print {file, records, entities: {TYPE: {precision, recall, f1, support}}}')
    .action((file: string, options: DlpOptions) =>
      runOffline(options, () => {
        const records = readPresidioSpans(file)
        const scanner = createDlpScanner({ minConfidence: options.minConfidence })
        const result = evaluateDlp(records, scanner)
        if (options.json) {
          process.stdout.write(`${JSON.stringify({ file, ...result })}\n`)
          return
        }
        process.stdout.write(`${file}: ${result.records} records\n`)
        process.stdout.write(
          `${'type'.padEnd(28)}${'precision'.padStart(10)}${'recall'.padStart(8)}` +
            `${'f1'.padStart(7)}${'support'.padStart(9)}${'found'.padStart(7)}\n`,
        )
        const entries = Object.entries(result.entities)
        for (const [type, s] of entries.filter(([, s]) => s.covered)) {
          process.stdout.write(`${row(type, s)}\n`)
        }
        const uncovered = entries.filter(([, s]) => !s.covered)
        if (uncovered.length > 0) {
          const list = uncovered.map(([type, s]) => `${type} (${s.support})`).join(', ')
          process.stdout.write(`not covered: ${list}\n`)
        }
      }),
    )
}

/** A JSON line is scanned as a value (with field paths), any other line as text. */
function scanLine(scanner: ReturnType<typeof createDlpScanner>, line: string): Finding[] {
  const trimmed = line.trimStart()
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return scanner.scanValue(JSON.parse(line))
    } catch {
      // Not JSON after all: scanned as the text it is.
    }
  }
  return scanner.scanText(line, '')
}

function describe(file: string, f: Finding & { line: number }): string {
  const where = f.path ? `${f.path}[${f.start}..${f.end})` : `col ${f.start + 1}`
  return (
    `${file}:${f.line}  ${f.type.padEnd(26)} ${f.confidence.toFixed(2)}  ${where}  ` +
    `(${f.end - f.start} chars, ${f.recogniser})`
  )
}

function row(type: string, s: TypeScore): string {
  const n = (v: number | null, width: number) => (v === null ? '-' : v.toFixed(3)).padStart(width)
  return (
    `${type.padEnd(28)}${n(s.precision, 10)}${n(s.recall, 8)}${n(s.f1, 7)}` +
    `${String(s.support).padStart(9)}${String(s.predicted).padStart(7)}`
  )
}

function unit(value: string): number {
  const n = Number(value)
  if (value.trim() === '' || !(n >= 0 && n <= 1)) {
    throw new InvalidArgumentError(`expected a number from 0 to 1, got ${JSON.stringify(value)}`)
  }
  return n
}
