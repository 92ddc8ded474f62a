/**
 * `node bin/run-ts.js bench/correlation-checkpoint-bench.ts`: what one correlation checkpoint
 * costs when the state is full. The built-in pack is fed failed SSH logins from distinct
 * source addresses until the correlator holds `--groups` group keys (default: the
 * `sigma.correlation.maxGroups` default, 100 000), then the checkpoint is timed in its parts:
 * reading the state to JSON (which blocks the pipeline), writing it to a SQLite state store
 * (which does not), and at start reading it back into a new detector. Absolute times drift on
 * a shared machine, so each is also given as a ratio to feeding the events that built the
 * state, measured in the same run. Median of three runs each.
 *
 * Flags: `--groups N`; `--json` prints the results as JSON.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

import type { SavedCorrelations } from '../detectors/correlation-checkpointer.ts'
import { createDetector } from '../detectors/detector.ts'
import { correlationLimits } from '../detectors/sigma/correlation-engine.ts'
import { derivedId } from '../platform/event-id.ts'
import type { PalisadeEvent } from '../platform/event-model.ts'
import { createLogger } from '../platform/logger.ts'
import { openStateStore } from '../platform/state/state-store.ts'
import { writeStreamCheckpoint } from '../platform/state/stream-checkpoints.ts'
import { formatTable, median, timed } from './measure.ts'

const { values: flags } = parseArgs({
  options: { groups: { type: 'string' }, json: { type: 'boolean', default: false } },
})
const groups = Number(flags.groups ?? correlationLimits.maxGroups)
const builtin = join(import.meta.dirname, '..', 'rules', 'builtin')
const start = Date.now() - 60_000

/** One failed login from the i-th address: each opens a key in every SSH correlation. */
function failure(i: number): PalisadeEvent {
  return {
    id: derivedId('checkpoint-bench', String(i)),
    '@timestamp': new Date(start + (i % 1000)).toISOString(),
    event: {
      dataset: 'sshd',
      category: ['authentication'],
      action: 'ssh_login',
      outcome: 'failure',
    },
    source: { ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` },
    user: { name: 'root' },
    log: { syslog: { appname: 'sshd' } },
  }
}

const dir = mkdtempSync(join(tmpdir(), 'palisade-checkpoint-bench-'))
const state = await openStateStore({ dataDir: dir })
const runs: Record<string, number[]> = { feed: [], serialise: [], write: [], restore: [] }
let bytes = 0
let held = 0
try {
  for (let run = 0; run < 3; run++) {
    const options = { correlation: { maxGroups: groups } }
    const detector = createDetector([builtin], createLogger('silent'), options)
    const fed = await timed(() => {
      for (let i = 0; detector.correlator.groups() < groups; i += 100) {
        if (i > groups * 10) throw new Error('the events open no correlation group keys')
        detector.detect(Array.from({ length: 100 }, (_, k) => failure(i + k)))
      }
    })
    held = detector.correlator.groups()
    const { ruleSet, correlator } = detector.rules.live
    const serialised = await timed(() => {
      const saved: SavedCorrelations = {
        versions: Object.fromEntries(ruleSet.correlations.map((c) => [c.id, c.version])),
        correlator: correlator.state(),
      }
      return JSON.stringify(saved)
    })
    bytes = serialised.value.length
    const written = await timed(() =>
      writeStreamCheckpoint(state.db, {
        stream: 'embedded',
        position: String(run),
        state: serialised.value,
        writtenAt: new Date().toISOString(),
      }),
    )
    const next = createDetector([builtin], createLogger('silent'), options)
    const restored = await timed(() => {
      const saved = JSON.parse(serialised.value) as SavedCorrelations
      next.rules.restore(saved.correlator, saved.versions)
      return next.correlator.groups()
    })
    if (restored.value !== held) throw new Error(`restored ${restored.value} of ${held} keys`)
    runs.feed!.push(fed.seconds)
    runs.serialise!.push(serialised.seconds)
    runs.write!.push(written.seconds)
    runs.restore!.push(restored.seconds)
  }
} finally {
  await state.close()
  rmSync(dir, { recursive: true, force: true })
}

const feed = median(runs.feed!)
const result = {
  groups: held,
  megabytes: Number((bytes / 1e6).toFixed(1)),
  seconds: Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, median(v)])),
}
if (flags.json) {
  process.stdout.write(`${JSON.stringify(result)}\n`)
} else {
  process.stdout.write(
    `correlation checkpoint of ${held} group keys, ${result.megabytes} MB of JSON\n` +
      formatTable(
        ['step', 'ms', 'x feeding'],
        Object.entries(result.seconds).map(([step, s]) => [
          step,
          (s * 1000).toFixed(0),
          `${(s / feed).toFixed(2)}x`,
        ]),
      ) +
      '\n',
  )
}
