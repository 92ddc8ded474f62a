import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, beforeEach, describe, expect, it } from 'vitest'

import { CorrelationCheckpointer } from '../../detectors/correlation-checkpointer.ts'
import type { SavedCorrelations } from '../../detectors/correlation-checkpointer.ts'
import { createDetector } from '../../detectors/detector.ts'
import { derivedId } from '../../platform/event-id.ts'
import type { PalisadeEvent } from '../../platform/event-model.ts'
import { createLogger } from '../../platform/logger.ts'
import { openStateStore } from '../../platform/state/state-store.ts'
import type { StateStore } from '../../platform/state/state-store.ts'
import { readStreamCheckpoint } from '../../platform/state/stream-checkpoints.ts'

const root = mkdtempSync(join(tmpdir(), 'palisade-correlation-checkpointer-'))
let state: StateStore

afterAll(async () => {
  await state?.close()
  rmSync(root, { recursive: true, force: true })
})

const COUNT = '4d5e6f70-8192-4a34-9c5d-6e7f80910213'
const rulesDir = join(root, 'rules')
mkdirSync(rulesDir)
writeFileSync(
  join(rulesDir, 'rules.yml'),
  [
    'title: Failed login',
    'id: 5e6f7081-92a3-4b45-8d6e-7f8091021324',
    'name: failed_login',
    'logsource: { product: linux, service: sshd }',
    'detection: { selection: { event.outcome: failure }, condition: selection }',
    '---',
    'title: Failed logins from one address',
    `id: ${COUNT}`,
    'correlation:',
    '  type: event_count',
    '  rules: [failed_login]',
    '  group-by: [source.ip]',
    '  timespan: 10m',
    '  condition: { gte: 5 }',
    '',
  ].join('\n'),
)

let n = 0
function failure(): PalisadeEvent {
  n++
  return {
    id: derivedId('checkpointer-test', String(n)),
    '@timestamp': new Date(Date.UTC(2026, 0, 5, 8, 0, n)).toISOString(),
    event: { dataset: 'sshd', outcome: 'failure' },
    source: { ip: '198.51.100.9' },
  }
}

/** What the pipeline would say: detected through `position`, stored when `settle` says. */
function pipelineAt(position: number) {
  let settle!: (ok: boolean) => void
  const stored = new Promise<boolean>((resolve) => (settle = resolve))
  return { pipeline: { detectedThrough: () => ({ position, stored }) }, settle }
}

async function saved(): Promise<{ position: string; state: SavedCorrelations } | null> {
  const row = await readStreamCheckpoint(state.db, 'embedded')
  return row && { position: row.position, state: JSON.parse(row.state) as SavedCorrelations }
}

function checkpointer(pipeline: ReturnType<typeof pipelineAt>['pipeline'], position = 0) {
  const detector = createDetector([rulesDir], createLogger('silent'))
  const outcomes: string[] = []
  const checkpoints = new CorrelationCheckpointer({
    db: state.db,
    pipeline,
    detector,
    everyBatches: 2,
    everySeconds: 3600,
    logger: createLogger('silent'),
    position,
    onOutcome: (outcome) => outcomes.push(outcome),
  })
  return { detector, checkpoints, outcomes }
}

beforeEach(async () => {
  await state?.close()
  state = await openStateStore({ dataDir: mkdtempSync(join(root, 'state-')) })
})

describe('the correlation checkpointer', () => {
  it('saves the state with its position once the batches detected before it are stored', async () => {
    const { pipeline, settle } = pipelineAt(3)
    const { detector, checkpoints, outcomes } = checkpointer(pipeline)
    detector.detect([failure(), failure(), failure()])

    checkpoints.batchDone()
    expect(outcomes).toEqual([])
    checkpoints.batchDone() // the second of `everyBatches`: a checkpoint waits for the store
    await new Promise((resolve) => setImmediate(resolve))
    expect(await saved()).toBeNull()
    settle(true)
    await checkpoints.checkpoint()

    const row = await saved()
    expect(row?.position).toBe('3')
    // gte 5 slides (SLIDING.md, section A): the three failures wait in their group for more.
    expect(Object.values(row!.state.correlator.slides).map((g) => g.events.length)).toEqual([3])
    expect(row!.state.versions).toEqual({ [COUNT]: detector.ruleSet.correlations[0]!.version })
    expect(outcomes).toEqual(['written'])
    expect(checkpoints.position).toBe('3')
  })

  it('skips a checkpoint when a batch before it failed to store, keeping the last one', async () => {
    const first = pipelineAt(2)
    const { checkpoints, outcomes } = checkpointer(first.pipeline)
    first.settle(true)
    await checkpoints.checkpoint()

    const failed = pipelineAt(5)
    const again = checkpointer(failed.pipeline, 2)
    failed.settle(false)
    await again.checkpoints.checkpoint()
    expect(outcomes).toEqual(['written'])
    expect(again.outcomes).toEqual(['skipped'])
    expect((await saved())?.position).toBe('2')
  })

  it('writes nothing while the position has not moved from the one resumed', async () => {
    const { pipeline, settle } = pipelineAt(7)
    const { checkpoints, outcomes } = checkpointer(pipeline, 7)
    settle(true)
    await checkpoints.stop()
    expect(outcomes).toEqual([])
    expect(await saved()).toBeNull()
  })
})
