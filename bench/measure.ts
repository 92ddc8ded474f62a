import { parseArgs } from 'node:util'

/** Timing helpers for the benchmarks: wall-clock runs, medians and rates. */

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Runs `work` and returns how many seconds it took, and what it returned. */
export async function timed<T>(work: () => Promise<T> | T): Promise<{ seconds: number; value: T }> {
  const start = process.hrtime.bigint()
  const value = await work()
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, value }
}

/** Runs `work` once and returns how many seconds it took; for work that is not async. */
export function secondsOf(work: () => unknown): number {
  const start = process.hrtime.bigint()
  work()
  return Number(process.hrtime.bigint() - start) / 1e9
}

/** How many times a second `once` runs, called one after another for `seconds`. */
export async function callsPerSecond(
  seconds: number,
  once: (i: number) => Promise<unknown>,
): Promise<number> {
  const until = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9))
  const start = process.hrtime.bigint()
  let count = 0
  while (process.hrtime.bigint() < until) await once(count++)
  return count / (Number(process.hrtime.bigint() - start) / 1e9)
}

/**
 * `--json` and `--seconds S` (per measurement, default 1), the flags of the benches that count
 * calls per second; a bad flag is reported on stderr and exits 2.
 */
export function rateFlags(): { json: boolean; seconds: number } {
  let values
  try {
    ;({ values } = parseArgs({
      options: { json: { type: 'boolean', default: false }, seconds: { type: 'string' } },
    }))
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`)
    process.exit(2)
  }
  const seconds = Number(values.seconds ?? 1)
  if (!(seconds > 0)) {
    process.stderr.write(`expected --seconds to be a positive number, got ${values.seconds}\n`)
    process.exit(2)
  }
  return { json: values.json, seconds }
}

/** Runs `task` for every item with at most `concurrency` in flight, in item order per lane. */
export async function forEachConcurrent<T>(
  items: readonly T[],
  concurrency: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0
  const lane = async (): Promise<void> => {
    while (next < items.length) await task(items[next++]!)
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane))
}

/** `12345.6` as `12.3k`, for rates in a table. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '-'
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)}M`
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)}k`
  return perSecond.toFixed(0)
}

/** A plain text table, columns padded to their widest cell; numbers align right. */
export function formatTable(header: readonly string[], rows: readonly string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const numeric = header.map((_, i) => rows.every((r) => /^[-\d.,x%kM ]+$/.test(r[i]!)))
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}
