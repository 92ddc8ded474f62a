import { readFileSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

import { SingleBar } from 'cli-progress'
import type { Command } from 'commander'

import { formatForFile, ingestFormatNames } from '../../api/ingest-formats.ts'
import type { IngestFormat } from '../../api/ingest-formats.ts'
import { splitConcatenatedJson, splitJsonArray } from '../../ingest/parsers/split-json.ts'
import { PalisadeError, ValidationError } from '../errors.ts'
import type { ApiClient } from './api-client.ts'

interface ReplayOptions {
  format?: IngestFormat
  batchSize: number
  json?: boolean
  progress: boolean
  retryFor: number
}

interface IngestAnswer {
  stored: number
  duplicates: number
  dead_lettered: number
  alerts: number
}

/** A slice of a file, sent as one request. */
interface Chunk {
  body: string
  records: number
  position: number
}

export function registerReplayCommand(program: Command, client: () => ApiClient): void {
  program
    .command('replay')
    .description('send files of events to a running Palisade, in batches, with a progress bar')
    .argument('<file...>', 'files to send (NDJSON, JSON array, EVTX JSON export, syslog lines)')
    .option(
      '--format <format>',
      `one of ${ingestFormatNames.join(', ')} (default: from the file name)`,
    )
    .option('--batch-size <n>', 'records per request', (v) => positiveInt(v, '--batch-size'), 500)
    .option(
      '--retry-for <seconds>',
      'keep retrying a batch this long while Palisade is unreachable',
      (v) => positiveInt(v, '--retry-for'),
      60,
    )
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print the totals as JSON')
    .action(async (files: string[], options: ReplayOptions) => {
      // A missing or unreadable file fails here, with its name, before anything is sent.
      for (const file of files) {
        if (!statSync(file).isFile()) throw new ValidationError(`${file}: expected a file`)
      }
      const totals = {
        files: 0,
        records: 0,
        stored: 0,
        duplicates: 0,
        dead_lettered: 0,
        alerts: 0,
        seconds: 0,
      }
      const started = performance.now()
      for (const file of files) {
        if (options.format && !ingestFormatNames.includes(options.format)) {
          throw new ValidationError(
            `--format: expected one of ${ingestFormatNames.join(', ')}, got ${JSON.stringify(options.format)}`,
          )
        }
        const format = options.format ?? formatForFile(file)
        if (!format) {
          throw new ValidationError(
            `${file}: cannot tell the format from the name; pass --format ${ingestFormatNames.join('|')}`,
          )
        }
        const result = await replayFile(client(), file, format, options)
        totals.files += 1
        totals.records += result.records
        totals.stored += result.stored
        totals.duplicates += result.duplicates
        totals.dead_lettered += result.dead_lettered
        totals.alerts += result.alerts
      }
      totals.seconds = Number(((performance.now() - started) / 1000).toFixed(3))
      if (options.json) {
        process.stdout.write(`${JSON.stringify(totals)}\n`)
      } else {
        const rate = Math.round(totals.records / Math.max(totals.seconds, 0.001))
        process.stdout.write(
          `${totals.records} records from ${totals.files} file(s) in ${totals.seconds}s (${rate}/s): ` +
            `${totals.stored} stored, ${totals.duplicates} already stored, ` +
            `${totals.dead_lettered} dead-lettered, ${totals.alerts} alerts\n`,
        )
      }
    })
}

async function replayFile(
  client: ApiClient,
  file: string,
  format: IngestFormat,
  options: ReplayOptions,
) {
  const path = resolve(file)
  const chunks = chunkFile(readFileSync(path, 'utf8'), format, options.batchSize, file)
  const records = chunks.reduce((n, c) => n + c.records, 0)
  const bar =
    options.progress && !options.json && process.stderr.isTTY
      ? new SingleBar({
          format: `${file} [{bar}] {percentage}% | {value}/{total} records | {rate}/s | eta {eta}s`,
          stream: process.stderr,
        })
      : undefined
  bar?.start(records, 0, { rate: 0 })

  const started = performance.now()
  const totals = { records, stored: 0, duplicates: 0, dead_lettered: 0, alerts: 0 }
  let sent = 0
  for (const chunk of chunks) {
    const answer = await sendWithRetry(client, chunk, format, path, options.retryFor)
    totals.stored += answer.stored
    totals.duplicates += answer.duplicates
    totals.dead_lettered += answer.dead_lettered
    totals.alerts += answer.alerts
    sent += chunk.records
    const rate = Math.round(sent / Math.max((performance.now() - started) / 1000, 0.001))
    bar?.update(sent, { rate })
  }
  bar?.stop()
  return totals
}

/**
 * Sends one chunk, retrying while the instance is unreachable or answers 5xx: delivery is at
 * least once, and ids are stable (the stream is the file's path and each chunk carries its
 * position), so a batch that was stored before a crash is not stored twice.
 */
async function sendWithRetry(
  client: ApiClient,
  chunk: Chunk,
  format: IngestFormat,
  path: string,
  retryFor: number,
): Promise<IngestAnswer> {
  const deadline = Date.now() + retryFor * 1000
  for (let attempt = 0; ; attempt++) {
    try {
      return await client.request<IngestAnswer>('POST', '/v1/events', {
        body: chunk.body,
        contentType:
          format === 'syslog'
            ? 'text/plain'
            : format === 'ndjson'
              ? 'application/x-ndjson'
              : 'application/json',
        query: { format, stream: `file:${path}`, position: chunk.position },
      })
    } catch (error) {
      const retriable = error instanceof PalisadeError && error.retriable
      if (!retriable || Date.now() > deadline) throw error
      await sleep(Math.min(200 * 2 ** attempt, 5000))
    }
  }
}

/** Splits a file into request bodies of at most `size` records, each knowing its position. */
function chunkFile(text: string, format: IngestFormat, size: number, file: string): Chunk[] {
  const chunks: Chunk[] = []
  if (format === 'syslog' || format === 'ndjson') {
    // Positions count every line, blank ones included, as the parsers do.
    const lines = text.split('\n')
    if (lines[lines.length - 1] === '') lines.pop()
    for (let i = 0; i < lines.length; i += size) {
      const slice = lines.slice(i, i + size)
      chunks.push({ body: slice.join('\n'), records: slice.length, position: i })
    }
    return chunks
  }

  // Records keep their bytes as they are in the file; a malformed one is sent as it is and
  // comes back as a dead letter with its reason, like any other bad record.
  const spans = format === 'json' ? splitJsonArray(text) : [...splitConcatenatedJson(text)]
  if (!spans) throw new ValidationError(`${file}: expected a JSON array of events (--format json)`)
  const pieces = spans.map((span) => text.slice(span.start, span.end))
  for (let i = 0; i < pieces.length; i += size) {
    const slice = pieces.slice(i, i + size)
    const body = format === 'json' ? `[${slice.join(',')}]` : slice.join('\n')
    chunks.push({ body, records: slice.length, position: i })
  }
  return chunks
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n <= 0) {
    throw new ValidationError(`${flag}: expected a positive integer, got ${JSON.stringify(value)}`)
  }
  return n
}
