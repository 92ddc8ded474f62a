/**
 * `npm run bench:dlp`: the DLP scanner's throughput in megabytes of event text per second on
 * one core, with every recogniser. The text is realistic event text read in place from the
 * shared corpora: the four loghub logs (Apache, Linux, OpenSSH, Windows CBS) line by line,
 * the Presidio synthetic sentences (card numbers, IBANs, phone numbers, addresses), and
 * application log lines generated from a seed with the secrets a leaky service writes
 * (connection strings, bearer tokens, cloud keys), repeated to `--mb` megabytes (default 16).
 *
 * The baseline, in the same run over the same texts, runs the same recognisers' regular
 * expressions one after another over each text and calls each match's validation, with no
 * hint to skip a pattern, no context words and no overlap resolution: what a plain scanner
 * made of the same patterns costs. Each is timed three times, interleaved, after an untimed
 * warm-up pass, in CPU time (see `cpuSecondsOf`); the median counts. Absolute figures drift
 * on a shared machine; the ratio is
 * what to compare.
 *
 * Flags: `--json` prints the results as JSON; `--mb N` sets the amount of text.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

import { createDlpScanner, RECOGNISERS } from '../enrich/dlp/create-dlp-scanner.ts'
import { seededRandom } from '../test/helpers/seeded-random.ts'
import { corporaDir } from './bench-inputs.ts'
import { median, secondsOf } from './measure.ts'

const RUNS = 3
const TARGET_MB_PER_SECOND = 50

function options(): { json: boolean; mb: number } {
  const { values } = parseArgs({
    options: { json: { type: 'boolean', default: false }, mb: { type: 'string', default: '16' } },
  })
  const mb = Number(values.mb)
  if (!(mb > 0)) {
    process.stderr.write(`expected --mb to be a positive number, got ${values.mb}\n`)
    process.exit(2)
  }
  return { json: values.json, mb }
}

/** Application log lines with secrets in them, as a leaky service writes them. */
function appLines(count: number): string[] {
  const random = seededRandom(42)
  const hex = (n: number) =>
    Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join('')
  const alnum = (n: number) =>
    Array.from(
      { length: n },
      () => 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789'[Math.floor(random() * 57)],
    ).join('')
  const octet = () => Math.floor(random() * 250)
  const shapes = [
    () => `INFO  db connect url=postgres://svc:${alnum(12)}@10.0.3.${octet()}:5432/orders`,
    () =>
      `DEBUG request GET /api/v2/orders/${hex(24)} ` +
      `headers={"authorization":"Bearer ghp_${alnum(36)}"}`,
    () =>
      `WARN  config loaded {"aws_access_key_id":"AKIA${alnum(16).toUpperCase()}",` +
      `"region":"eu-west-1"}`,
    () =>
      `INFO  user ${alnum(8)}@example.com signed in from 192.0.2.${octet()} ` +
      `session=${hex(32)}`,
    () => `ERROR payment failed order=${hex(12)} amount=42.10 currency=EUR trace=${hex(16)}`,
    () =>
      `INFO  GET /healthz 200 1.2ms ua="kube-probe/1.29" ` +
      `x-request-id=${hex(8)}-${hex(4)}-${hex(4)}`,
  ]
  return Array.from({ length: count }, () => shapes[Math.floor(random() * shapes.length)]!())
}

function corpusTexts(): string[] {
  const logs = ['Apache_2k.log', 'Linux_2k.log', 'OpenSSH_2k.log', 'Windows_2k.log'].flatMap(
    (name) => readFileSync(join(corporaDir, 'logs', name), 'utf8').split('\n'),
  )
  const presidio = (
    JSON.parse(readFileSync(join(corporaDir, 'dlp', 'presidio_synth_dev.json'), 'utf8')) as {
      full_text: string
    }[]
  ).map((r) => r.full_text)
  return [...logs, ...presidio, ...appLines(2000)].filter((t) => t !== '')
}

/** The texts repeated until they hold `mb` megabytes of UTF-8. */
function repeatTo(texts: readonly string[], mb: number): { texts: string[]; bytes: number } {
  const out: string[] = []
  let bytes = 0
  while (bytes < mb * 1e6) {
    for (const text of texts) {
      out.push(text)
      bytes += Buffer.byteLength(text)
      if (bytes >= mb * 1e6) break
    }
  }
  return { texts: out, bytes }
}

const { json, mb } = options()
const { texts, bytes } = repeatTo(corpusTexts(), mb)
const scanner = createDlpScanner()

let findings = 0
const full = () => {
  findings = 0
  for (const text of texts) findings += scanner.scanText(text, 'message').length
}

let accepted = 0
const baseline = () => {
  accepted = 0
  for (const text of texts) {
    for (const recogniser of RECOGNISERS) {
      const pattern = recogniser.pattern
      pattern.lastIndex = 0
      for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
        if (recogniser.accept(m, text, () => 0)) accepted++
      }
    }
  }
}

/**
 * A SHA-256 over every finding of one pass (type, path, span, confidence, recogniser, in
 * order), so a change meant only to make the scanner faster can show it decides the same.
 */
function findingsChecksum(): string {
  const hash = createHash('sha256')
  for (const text of texts) {
    for (const f of scanner.scanText(text, 'message')) {
      hash.update(`${f.type}\t${f.path}\t${f.start}\t${f.end}\t${f.confidence}\t${f.recogniser}\n`)
    }
    hash.update('\n')
  }
  return hash.digest('hex').slice(0, 16)
}

const checksum = findingsChecksum()
full()
baseline()
/**
 * CPU seconds the process spent on `work` (user and system, GC threads included, so a little
 * more than the one core's share): on a machine shared with other work, wall time also counts
 * the time this process waited for a core, which says nothing about the scanner.
 */
function cpuSecondsOf(work: () => void): number {
  const before = process.cpuUsage()
  work()
  const used = process.cpuUsage(before)
  return (used.user + used.system) / 1e6
}

// Interleaved, so a neighbour's burst of load on the shared machine hits both alike.
const fullRuns: number[] = []
const baselineRuns: number[] = []
const fullWall: number[] = []
for (let run = 0; run < RUNS; run++) {
  let cpu = 0
  fullWall.push(secondsOf(() => (cpu = cpuSecondsOf(full))))
  fullRuns.push(cpu)
  baselineRuns.push(cpuSecondsOf(baseline))
}
const fullSeconds = median(fullRuns)
const baselineSeconds = median(baselineRuns)
const result = {
  texts: texts.length,
  megabytes: bytes / 1e6,
  recognisers: RECOGNISERS.length,
  findings,
  findings_checksum: checksum,
  scanner_mb_per_second: bytes / 1e6 / fullSeconds,
  scanner_mb_per_wall_second: bytes / 1e6 / median(fullWall),
  baseline_mb_per_second: bytes / 1e6 / baselineSeconds,
  baseline_candidates_accepted: accepted,
  speed_up: baselineSeconds / fullSeconds,
  target_mb_per_second: TARGET_MB_PER_SECOND,
}
if (json) {
  process.stdout.write(`${JSON.stringify(result)}\n`)
} else {
  process.stdout.write(
    `DLP scan of ${result.texts} texts, ${result.megabytes.toFixed(1)} MB, ` +
      `${result.recognisers} recognisers, one core, MB per CPU second (median of ${RUNS})\n` +
      `  scanner   ${result.scanner_mb_per_second.toFixed(1)} MB/s  (${findings} findings; ` +
      `${result.scanner_mb_per_wall_second.toFixed(1)} MB per wall-clock second)\n` +
      `  findings checksum ${checksum} (SHA-256 of every finding, first 16 hex digits)\n` +
      `  baseline  ${result.baseline_mb_per_second.toFixed(1)} MB/s  ` +
      `(same patterns one after another, ${accepted} candidates accepted)\n` +
      `  scanner / baseline: ${result.speed_up.toFixed(2)}x; ` +
      `target ${TARGET_MB_PER_SECOND} MB/s: ` +
      `${result.scanner_mb_per_second >= TARGET_MB_PER_SECOND ? 'met' : 'not met'}\n`,
  )
}
