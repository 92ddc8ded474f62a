import { describe, expect, it } from 'vitest'

import type { AuditEntryInput, AuditLog } from '../../../audit/audit-log.ts'
import { Responder } from '../../../auth/zero-trust/responder.ts'
import type { Alert } from '../../../platform/alert-model.ts'
import { createLogger } from '../../../platform/logger.ts'
import {
  insertAccessPolicies,
  latestAccessPolicies,
  listRiskClearances,
  saveRiskClearance,
} from '../../../platform/state/access-policies.ts'
import { findUserByName, hashEnrolmentToken, insertUser } from '../../../platform/state/users.ts'
import { bothStateStores } from '../../helpers/state-stores.ts'

const { stores, postgres } = bothStateStores('access-policies')

/** An audit log that keeps entries in memory: this file tests the state tables, not the log. */
function memoryAudit(entries: AuditEntryInput[]): AuditLog {
  return {
    record: async (entry) => {
      entries.push(entry)
      return { index: entries.length - 1, leaf_hash: '0'.repeat(64) }
    },
  }
}

const alert: Alert = {
  id: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
  '@timestamp': '2026-12-04T12:00:00.000Z',
  rule: { id: 'brute', version: 'v1', title: 'Brute force', kind: 'correlation' },
  level: 'high',
  tags: ['attack.t1110.001'],
  entity: { kind: 'user.name', value: 'carol' },
  event_ids: [],
}

describe.each(stores)('zero-trust state (migration 0011) on %s', (kind, open) => {
  it.skipIf(kind === 'PostgreSQL' && !postgres)(
    'numbers policy versions in order and keeps the latest in force across a reopen',
    async () => {
      const state = await open()
      try {
        const row = { policies: 'p', digest: 'd', created_at: 'now', created_by: 'token:1' }
        expect((await insertAccessPolicies(state.db, row)).version).toBe(1)
        expect((await insertAccessPolicies(state.db, { ...row, policies: 'q' })).version).toBe(2)
        await saveRiskClearance(state.db, {
          entity_kind: 'user',
          entity_value: 'carol',
          cleared_at: '2026-12-04T12:00:00.000Z',
          cleared_by: 'user:1',
          reason: 'first',
        })
        await saveRiskClearance(state.db, {
          entity_kind: 'user',
          entity_value: 'carol',
          cleared_at: '2026-12-04T13:00:00.000Z',
          cleared_by: 'user:2',
          reason: 'second',
        })
      } finally {
        await state.close()
      }
      const again = await open()
      try {
        expect(await latestAccessPolicies(again.db)).toMatchObject({ version: 2, policies: 'q' })
        expect(await listRiskClearances(again.db)).toEqual([
          expect.objectContaining({ cleared_by: 'user:2', reason: 'second' }),
        ])
      } finally {
        await again.close()
      }
    },
  )

  it.skipIf(kind === 'PostgreSQL' && !postgres)(
    'records a playbook action once for an alert delivered twice, and undo restores it',
    async () => {
      const state = await open()
      const entries: AuditEntryInput[] = []
      try {
        await insertUser(state.db, {
          name: 'carol',
          role: 'analyst',
          enrolmentHash: hashEnrolmentToken(`carol-${kind}`),
          enrolmentExpiresAt: new Date(Date.now() + 60_000),
        })
        const responder = await Responder.open({
          db: state.db,
          audit: memoryAudit(entries),
          playbooks: [
            {
              id: 'lock',
              match: { min_level: 'high' },
              actions: [{ type: 'lock_account', approval: false }],
              dry_run: false,
            },
          ],
          dryRun: false,
          logger: createLogger('silent'),
        })
        await responder.handle([alert])
        await responder.handle([alert])
        const rows = await responder.list()
        expect(rows.map((r) => r.state)).toEqual(['done'])
        expect((await findUserByName(state.db, 'carol'))?.disabled_at).not.toBeNull()
        await responder.undo(rows[0]!.id, { actor: { kind: 'user', id: 'u1' } })
        expect((await findUserByName(state.db, 'carol'))?.disabled_at).toBeNull()
        expect(entries.map((e) => e.action)).toEqual([
          'response.start',
          'response.execute',
          'response.undo',
        ])
      } finally {
        await state.close()
      }
    },
  )
})
