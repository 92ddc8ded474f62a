import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { signerFailureRule } from '../../audit/signer-failure-alert.ts'
import { readAuditRows } from '../../platform/clickhouse/audit-repository.ts'
import { createSoftHsm, softHsmAvailable } from '../helpers/softhsm.ts'
import type { SoftHsm, TestToken } from '../helpers/softhsm.ts'
import { startTestEngine } from '../helpers/test-engine.ts'
import type { TestEngine } from '../helpers/test-engine.ts'

// Skipped only outside CI when SoftHSM2 is missing; under CI its absence fails (see helper).
const available = softHsmAvailable()

describe.skipIf(!available)('an engine whose HSM token goes away (SoftHSM2)', () => {
  let hsm: SoftHsm
  let token: TestToken
  let palisade: TestEngine

  const createTokens = async (count: number) => {
    for (let i = 0; i < count; i++) {
      const made = await palisade.request('POST', '/v1/tokens', {
        body: { name: `reader ${i}`, scopes: ['read'] },
      })
      expect(made.status).toBe(201)
    }
  }

  const signerAlerts = async () => {
    const listed = await palisade.request('GET', `/v1/alerts?rule_id=${signerFailureRule.id}`)
    expect(listed.status).toBe(200)
    return listed.body.items as { level: string; entity: object; message: string }[]
  }

  const signFailures = async () => {
    const rows = await readAuditRows(palisade.engine.store, 0, Number.MAX_SAFE_INTEGER)
    return rows
      .map((r) => JSON.parse(r.entry) as { action: string; outcome: string; details: object })
      .filter((e) => e.action === 'checkpoint.sign' && e.outcome === 'failure')
  }

  beforeAll(async () => {
    hsm = createSoftHsm()
    token = hsm.createToken('engine-alert', { pin: 'engine-pin-51' })
    process.env.ENGINE_ALERT_PIN = token.pin
    palisade = await startTestEngine({
      audit: {
        checkpoint: { everyEntries: 2 },
        signer: {
          kind: 'pkcs11',
          module: token.modulePath,
          tokenLabel: token.label,
          keyLabel: 'engine-alert-key',
          pinEnv: 'ENGINE_ALERT_PIN',
          generateKey: true,
        },
      },
    })
    // The test drives the ticks, so the outage begins and ends where it says.
    await palisade.engine.checkpointer.stop()
    expect(await palisade.engine.checkpointer.tick()).toBe('signed')
  })

  afterAll(async () => {
    await palisade?.close()
    hsm?.destroy()
    delete process.env.ENGINE_ALERT_PIN
  })

  it('stores one high alert and one audit entry per outage while appends go on', async () => {
    token.remove()
    await createTokens(2)
    expect(await palisade.engine.checkpointer.tick()).toBe('pending')
    await createTokens(2)
    expect(await palisade.engine.checkpointer.tick()).toBe('pending')

    const alerts = await signerAlerts()
    expect(alerts).toHaveLength(1)
    expect(alerts[0]).toMatchObject({
      level: 'high',
      rule: { id: signerFailureRule.id, kind: 'platform' },
      entity: { kind: 'checkpoint_signer', value: palisade.engine.signer.keyId },
    })
    expect(alerts[0]!.message).toContain('no other key signs')
    expect(await signFailures()).toHaveLength(1)
  })

  it('signs again once the token is back, with no new alert', async () => {
    token.restore()
    expect(await palisade.engine.checkpointer.tick()).toBe('signed')
    expect(palisade.engine.checkpointer.status().state).toBe('healthy')
    expect(await signerAlerts()).toHaveLength(1)
  })

  it('raises a new alert for a new outage', async () => {
    token.remove()
    await createTokens(2)
    expect(await palisade.engine.checkpointer.tick()).toBe('pending')
    expect(await signerAlerts()).toHaveLength(2)
    expect(await signFailures()).toHaveLength(2)
    token.restore()
  })
})
