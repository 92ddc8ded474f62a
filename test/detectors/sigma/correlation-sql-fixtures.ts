import type { PalisadeEvent } from '../../../platform/event-model.ts'

/**
 * What the two correlation SQL tests share: two sshd detection rules (failed passwords and
 * invalid users) with a filter on the second, a time to start from, and a maker of events.
 */

export const base = Date.UTC(2025, 2, 1, 12)

export const detections = `title: failed password
id: 10000000-0000-4000-a000-000000000001
name: failed_password
logsource: {product: linux, service: sshd}
detection:
    sel: {message|contains: Failed password}
    condition: sel
---
title: invalid user
id: 10000000-0000-4000-a000-000000000002
name: invalid_user
logsource: {product: linux, service: sshd}
detection:
    sel: {message|contains: Invalid user}
    condition: sel
---
title: not admin
logsource: {product: linux, service: sshd}
filter:
    rules: [invalid_user]
    admin: {user.name: admin}
    condition: not admin
`

/**
 * Makes sshd events with `fields`: each id's first part from `random`, its last part the
 * number of events made, so ids sort in the order made after their random part.
 */
export function eventMaker(): (
  random: () => number,
  t: number,
  fields: Record<string, unknown>,
) => PalisadeEvent {
  let count = 0
  return (random, t, fields) => {
    count++
    const hex = Math.floor(random() * 2 ** 32)
      .toString(16)
      .padStart(8, '0')
    return {
      id: `${hex}-0000-4000-8000-${String(count).padStart(12, '0')}`,
      '@timestamp': new Date(t).toISOString(),
      event: { dataset: 'sshd' },
      ...fields,
    } as PalisadeEvent
  }
}
