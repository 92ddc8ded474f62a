import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { createDetector } from '../../detectors/detector.ts'
import type { PalisadeEvent } from '../../platform/event-model.ts'
import { createLogger } from '../../platform/logger.ts'
import { derivedId } from '../../platform/event-id.ts'
import { repoRoot } from '../helpers/test-engine.ts'

const builtin = join(repoRoot, 'rules', 'builtin')
const BRUTE_FORCE = 'dbc9f7ff-1f83-4fa8-bd48-a06e250c39a6'

/** A failed SSH password attempt from 198.51.100.9, `second` seconds into a 2025 minute. */
function failure(second: number): PalisadeEvent {
  return {
    id: derivedId('test', `failure-${second}`),
    '@timestamp': new Date(Date.UTC(2025, 11, 10, 7, 0, second)).toISOString(),
    event: {
      dataset: 'sshd',
      category: ['authentication'],
      action: 'ssh_login',
      outcome: 'failure',
    },
    source: { ip: '198.51.100.9' },
    user: { name: 'root' },
    log: { syslog: { appname: 'sshd' } },
  }
}

describe('the stream detector', () => {
  it('counts a burst split across batches of an old log, while the clock ticks between them', () => {
    const detector = createDetector([builtin], createLogger('silent'))
    const first = detector.detect([0, 5, 10, 15, 20].map(failure))
    // The engine's ticker runs between batches with today's time, years after the events.
    const ticked = detector.flush(Date.now())
    const second = detector.detect([25, 30, 35, 40, 45].map(failure))

    const fired = [...first, ...ticked, ...second].filter((a) => a.rule.id === BRUTE_FORCE)
    expect(fired).toHaveLength(1)
    expect(fired[0]!.entity).toEqual({ kind: 'source.ip', value: '198.51.100.9' })
    expect(fired[0]!.event_ids).toHaveLength(10)
  })

  it('lets the clock close windows once the stream has been quiet long enough', () => {
    const detector = createDetector([builtin], createLogger('silent'), { idleMs: 0 })
    detector.detect([0, 5, 10, 15, 20].map(failure))
    detector.flush(Date.now())
    const after = detector.detect([25, 30, 35, 40, 45].map(failure))
    // The clock closed the quiet stream's window, so the second half starts a new count:
    // exactly what happened to every replay before the detector waited for quiet.
    expect(after.filter((a) => a.rule.id === BRUTE_FORCE)).toEqual([])
  })
})
