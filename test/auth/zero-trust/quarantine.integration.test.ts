import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { AuditEntryInput } from '../../../audit/audit-log.ts'
import { DecisionPoint } from '../../../auth/zero-trust/decision-point.ts'
import { compilePolicySet, DEFAULT_POLICIES } from '../../../auth/zero-trust/policy-set.ts'
import { Responder } from '../../../auth/zero-trust/responder.ts'
import { RiskRegister } from '../../../auth/zero-trust/risk-register.ts'
import type { Alert } from '../../../platform/alert-model.ts'
import { createLogger } from '../../../platform/logger.ts'
import { openStateStore } from '../../../platform/state/state-store.ts'
import type { StateStore } from '../../../platform/state/state-store.ts'

const dir = mkdtempSync(join(tmpdir(), 'palisade-quarantine-'))
let state: StateStore
const audited: AuditEntryInput[] = []

beforeAll(async () => {
  state = await openStateStore({ dataDir: dir })
})

afterAll(async () => {
  await state?.close()
  rmSync(dir, { recursive: true, force: true })
})

const beaconing: Alert = {
  id: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a60',
  '@timestamp': '2026-12-04T12:00:00.000Z',
  rule: { id: 'c2-beacon', version: 'v1', title: 'Beaconing to a known C2', kind: 'sigma' },
  level: 'critical',
  tags: ['attack.t1071'],
  entity: { kind: 'host.name', value: 'laptop-7' },
  event_ids: [],
}

function responder(dryRun: boolean) {
  return Responder.open({
    db: state.db,
    audit: {
      record: async (entry) => {
        audited.push(entry)
        return { index: audited.length - 1, leaf_hash: '0'.repeat(64) }
      },
    },
    playbooks: [
      {
        id: 'isolate-host',
        match: { rule_ids: ['c2-beacon'] },
        actions: [
          { type: 'quarantine_device', approval: false },
          { type: 'lock_account', approval: false },
        ],
        dry_run: false,
      },
    ],
    dryRun,
    logger: createLogger('silent'),
  })
}

function decisionPoint(contains: Responder) {
  const set = compilePolicySet(DEFAULT_POLICIES)
  return new DecisionPoint({
    policies: () => ({ version: 1, set }),
    risk: new RiskRegister(),
    subject: async () => ({ role: 'analyst', disabled: false }),
    contains: (request) => contains.contains(request),
  })
}

const fromLaptop = {
  subject: { type: 'user', id: 'alice' },
  resource: { type: 'console', id: 'alerts', sensitivity: 'low' },
  action: { name: 'read' },
  context: {
    device: { id: 'asset-42', host: 'laptop-7', managed: true },
    network: { address: '198.51.100.20' },
    mfa: { method: 'webauthn', age_seconds: 5 },
  },
}

describe('quarantining a device', () => {
  it('only records the quarantine when every playbook runs dry', async () => {
    const rehearsal = await responder(true)
    await rehearsal.handle([{ ...beaconing, id: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a61' }])
    const rows = await rehearsal.list()
    expect(rows.map((r) => `${r.type} ${r.state}`).sort()).toEqual([
      'lock_account skipped',
      'quarantine_device dry_run',
    ])
    expect((await decisionPoint(rehearsal).decide(fromLaptop)).decision).toBe('allow')
  })

  it('denies every decision from the device, and skips what does not fit a host alert', async () => {
    const live = await responder(false)
    await live.handle([beaconing])
    const rows = (await live.list()).filter((r) => r.alert_id === beaconing.id)
    expect(rows.map((r) => `${r.type} ${r.state}`).sort()).toEqual([
      'lock_account skipped',
      'quarantine_device done',
    ])
    expect(rows.find((r) => r.type === 'lock_account')?.detail).toBe(
      'lock_account acts on user.name, not host.name',
    )
    const decision = await decisionPoint(live).decide(fromLaptop)
    expect(decision).toMatchObject({
      decision: 'deny',
      reasons: [{ code: 'device_quarantined', message: expect.stringContaining('laptop-7') }],
    })

    const quarantine = rows.find((r) => r.type === 'quarantine_device')!
    await live.undo(quarantine.id, { actor: { kind: 'user', id: 'u1', name: 'ana' } })
    expect((await decisionPoint(live).decide(fromLaptop)).decision).toBe('allow')
    expect(audited.filter((e) => e.action === 'response.undo')).toHaveLength(1)
  })
})

describe('a webhook that refuses the notice', () => {
  it('marks the action failed with the answer it got, and audits the failure', async () => {
    const refusing = createServer((_request, response) => response.writeHead(503).end())
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve))
    process.env.PALISADE_TEST_REFUSED_KEY = 'k'.repeat(32)
    try {
      const { port } = refusing.address() as AddressInfo
      const notifier = await Responder.open({
        db: state.db,
        audit: {
          record: async (entry) => {
            audited.push(entry)
            return { index: audited.length - 1, leaf_hash: '0'.repeat(64) }
          },
        },
        playbooks: [
          {
            id: 'tell-the-soc',
            match: { min_level: 'critical' },
            actions: [
              {
                type: 'notify',
                approval: false,
                url: `http://127.0.0.1:${port}/hook`,
                secret_env: 'PALISADE_TEST_REFUSED_KEY',
              },
            ],
            dry_run: false,
          },
        ],
        dryRun: false,
        logger: createLogger('silent'),
      })
      const alert = { ...beaconing, id: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a62' }
      await notifier.handle([alert])
      const row = (await notifier.list()).find((r) => r.alert_id === alert.id)
      expect(row).toMatchObject({ state: 'failed', detail: 'failed: the webhook answered 503' })
      const failure = audited.find(
        (e) => e.action === 'response.execute' && e.outcome === 'failure',
      )
      expect(failure?.details?.error).toBe('the webhook answered 503')
    } finally {
      await new Promise((resolve) => refusing.close(resolve))
    }
  })
})
