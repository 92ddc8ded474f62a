import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { createDetector } from '../../detectors/detector.ts'
import type { Alert } from '../../platform/alert-model.ts'
import { derivedId } from '../../platform/event-id.ts'
import type { PalisadeEvent } from '../../platform/event-model.ts'
import { createLogger } from '../../platform/logger.ts'
import { repoRoot } from '../helpers/test-engine.ts'

const builtin = join(repoRoot, 'rules', 'builtin')
const NEW_ADMIN_THEN_CLEARED = '4a18c905-b93a-40fc-9abe-3d6fabe4ac2c'
const start = Date.UTC(2026, 2, 14, 22, 0)

/** A Windows event as the EVTX JSON parser normalises it, `minutes` after `start`. */
function windowsEvent(
  minutes: number,
  channel: string,
  eventId: number,
  data: Record<string, unknown>,
  computer = 'dc01.corp.example',
): PalisadeEvent {
  return {
    id: derivedId('test', `${channel}-${eventId}-${computer}-${minutes}`),
    '@timestamp': new Date(start + minutes * 60_000).toISOString(),
    host: { name: computer },
    winlog: {
      channel,
      computer_name: computer,
      event_id: eventId,
      provider_name:
        eventId === 1102 || eventId === 104
          ? 'Microsoft-Windows-Eventlog'
          : 'Microsoft-Windows-Security-Auditing',
      event_data: data,
    },
  }
}

const administrators = { TargetSid: 'S-1-5-32-544', TargetUserName: 'Administrators' }

/** Event 4732: an account added to a local group, Administrators unless told otherwise. */
function adminAdded(minutes: number, computer?: string, group = administrators): PalisadeEvent {
  const member = { MemberName: '-', MemberSid: 'S-1-5-21-1-2-3-1109' }
  return windowsEvent(minutes, 'Security', 4732, { ...member, ...group }, computer)
}

/** Event 1102: the Security log cleared. */
const securityCleared = (minutes: number, computer?: string) =>
  windowsEvent(minutes, 'Security', 1102, {}, computer)

/** Event 104 in System: a log cleared (here the Application log). */
const systemCleared = (minutes: number) =>
  windowsEvent(minutes, 'System', 104, { Channel: 'Application' })

function alertsOf(events: PalisadeEvent[]): Alert[] {
  const detector = createDetector([builtin], createLogger('silent'))
  const alerts = [...detector.detect(events), ...detector.flush(Date.now())]
  return alerts.filter((a) => a.rule.id === NEW_ADMIN_THEN_CLEARED)
}

describe('the built-in rule: a new Windows administrator followed by a log clearing', () => {
  it('fires when a member is added to Administrators and the Security log is cleared after', () => {
    const events = [adminAdded(0), securityCleared(20)]
    const alerts = alertsOf(events)
    expect(alerts).toHaveLength(1)
    expect(alerts[0]).toMatchObject({
      level: 'critical',
      entity: { kind: 'Computer', value: 'dc01.corp.example' },
      event_ids: events.map((e) => e.id),
    })
  })

  it('fires on a log cleared as the System channel records it (event 104)', () => {
    expect(alertsOf([adminAdded(0), systemCleared(59)])).toHaveLength(1)
  })

  it('fires for Domain Admins (4728), recognised by its SID whatever the group is called', () => {
    const added = windowsEvent(0, 'Security', 4728, {
      TargetSid: 'S-1-5-21-3623811015-3361044348-30300820-512',
      TargetUserName: 'Domänen-Admins',
    })
    expect(alertsOf([added, securityCleared(5)])).toHaveLength(1)
  })

  it('stays quiet when the log is cleared before the member is added', () => {
    expect(alertsOf([securityCleared(0), adminAdded(20)])).toEqual([])
  })

  it('stays quiet when the clearing comes more than an hour after the new member', () => {
    expect(alertsOf([adminAdded(0), securityCleared(61)])).toEqual([])
  })

  it('stays quiet when the two happen on different hosts', () => {
    expect(alertsOf([adminAdded(0, 'srv1'), securityCleared(10, 'srv2')])).toEqual([])
  })

  it('stays quiet for a member added to a group without administrative rights', () => {
    const printOperators = { TargetSid: 'S-1-5-32-550', TargetUserName: 'Print Operators' }
    expect(alertsOf([adminAdded(0, undefined, printOperators), securityCleared(10)])).toEqual([])
  })
})
