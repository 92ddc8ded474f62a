import { derivedId } from '../../../platform/event-id.ts'
import type { PalisadeEvent } from '../../../platform/event-model.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

/** Monday 2025-12-01 00:00 UTC: the synthetic month starts here and lasts four weeks. */
export const MONTH_START = Date.UTC(2025, 11, 1)
export const HOUR = 3_600_000
export const DAY = 24 * HOUR

export interface SyntheticMonth {
  users: string[]
  /** Events of the four normal weeks, in time order, in batches of one hour. */
  batches: PalisadeEvent[][]
}

/**
 * A month of normal activity: each user works weekdays from 08:00 to 18:00 UTC on two hosts of
 * their own and a shared file server, at their own rate (5 to 20 events an hour, give or take
 * 30 %), with a few failures, three processes and three destinations of their own, and some
 * bytes per event. Seeded: the same seed makes the same month.
 */
export function syntheticMonth(seed: number, userCount = 40): SyntheticMonth {
  const random = seededRandom(seed)
  const users = Array.from({ length: userCount }, (_, i) => `user-${String(i).padStart(2, '0')}`)
  const rate = users.map(() => 5 + Math.floor(random() * 16))
  const batches: PalisadeEvent[][] = []
  for (let hour = 0; hour < 28 * 24; hour++) {
    const at = MONTH_START + hour * HOUR
    const day = new Date(at).getUTCDay()
    const h = new Date(at).getUTCHours()
    if (day === 0 || day === 6 || h < 8 || h >= 18) continue
    const batch: PalisadeEvent[] = []
    users.forEach((user, u) => {
      const n = Math.round(rate[u]! * (0.7 + 0.6 * random()))
      for (let k = 0; k < n; k++) {
        batch.push(
          event(user, at + Math.floor(random() * HOUR), {
            host: random() < 0.2 ? 'fileserver' : `ws-${u}-${random() < 0.5 ? 'a' : 'b'}`,
            outcome: random() < 0.03 ? 'failure' : 'success',
            process: `proc-${u}-${Math.floor(random() * 3)}`,
            destination: `10.${u}.0.${Math.floor(random() * 3)}`,
            bytes: 1000 + Math.floor(random() * 4000),
          }),
        )
      }
    })
    batches.push(batch.sort((a, b) => a['@timestamp'].localeCompare(b['@timestamp'])))
  }
  return { users, batches }
}

/**
 * One user's changed hour: at 03:00 on the Monday after the month, signs in to 30 hosts it has
 * never used, failing on most, from processes it never ran.
 */
export function changedHour(user: string, at = MONTH_START + 28 * DAY + 3 * HOUR): PalisadeEvent[] {
  return Array.from({ length: 60 }, (_, k) =>
    event(user, at + k * 55_000, {
      host: `server-${k % 30}`,
      outcome: k % 3 === 0 ? 'success' : 'failure',
      process: k % 2 === 0 ? 'psexec' : 'wmic',
      destination: `10.200.0.${k % 30}`,
      bytes: 2000,
    }),
  )
}

export function event(
  user: string,
  t: number,
  f: { host: string; outcome: string; process: string; destination: string; bytes: number },
): PalisadeEvent {
  return {
    id: derivedId('test', `${user}-${t}-${f.host}-${f.process}`),
    '@timestamp': new Date(t).toISOString(),
    event: { category: ['authentication'], outcome: f.outcome },
    user: { name: user },
    host: { name: f.host },
    process: { name: f.process },
    destination: { ip: f.destination },
    network: { bytes: f.bytes },
  } as PalisadeEvent
}
