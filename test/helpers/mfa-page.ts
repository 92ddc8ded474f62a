import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'

import { generate } from 'otplib'
import type { CDPSession, Page } from 'playwright-core'

import { CLIENT_BUILD_DIR } from '../../api/routes/client-routes.ts'
import { freePort } from './chromium.ts'
import { startTestEngine } from './test-engine.ts'
import type { TestEngine } from './test-engine.ts'

/**
 * A real Palisade (embedded ClickHouse, SQLite state, the real API) serving the built MFA
 * set-up page at http://localhost:PORT/security/, whose people clock a test may move forward
 * (to expire a challenge or a step-up) without waiting.
 */
export interface MfaEngine {
  palisade: TestEngine
  /** http://localhost:PORT: the origin WebAuthn expects, as the browser writes it. */
  origin: string
  page: string
  serverNow(): Date
  advance(ms: number): void
  /** Adds a person through the admin API and sets their password as their link would. */
  addPerson(name: string, password: string): Promise<void>
  /** Adds a person through the admin API: the one-time enrolment link they are sent. */
  invite(name: string): Promise<string>
  close(): Promise<void>
}

export async function startMfaEngine(): Promise<MfaEngine> {
  if (!existsSync(join(CLIENT_BUILD_DIR, 'index.html'))) {
    throw new Error(`no built page in ${CLIENT_BUILD_DIR}: run npm run build:client first`)
  }
  const kekEnv = 'PALISADE_TEST_KEK_MFA_PAGE'
  process.env[kekEnv] = randomBytes(32).toString('base64')
  const port = await freePort()
  const origin = `http://localhost:${port}`
  const palisade = await startTestEngine({
    http: { port },
    people: { kekEnv, publicUrl: origin },
  })
  const people = palisade.engine.app.people!
  let offset = 0
  people.now = () => new Date(Date.now() + offset)

  return {
    palisade,
    origin,
    page: `${origin}/security/`,
    serverNow: () => people.now(),
    advance(ms) {
      offset += ms
    },
    async invite(name) {
      const added = await palisade.request('POST', '/v1/users', { body: { name, role: 'analyst' } })
      if (added.status !== 201) throw new Error(`users add: ${JSON.stringify(added.body)}`)
      return added.body.enrolment_url
    },
    async addPerson(name, password) {
      const added = await palisade.request('POST', '/v1/users', { body: { name, role: 'analyst' } })
      if (added.status !== 201) throw new Error(`users add: ${JSON.stringify(added.body)}`)
      const enrolled = await palisade.request('POST', '/v1/enrolment', {
        body: { token: added.body.enrolment_token, password },
        token: null,
      })
      if (enrolled.status !== 204) throw new Error(`enrolment: ${JSON.stringify(enrolled.body)}`)
    },
    close: () => palisade.close(),
  }
}

/** The TOTP code an authenticator app holding `secret` shows at `time`. */
export function totpAt(secret: string, time: Date): Promise<string> {
  return generate({ secret, epoch: Math.floor(time.getTime() / 1000) })
}

/**
 * A virtual CTAP2 security key with user verification, attached to `page` through the
 * DevTools Protocol's WebAuthn domain: Chromium's own WebAuthn code talks to it as to a USB key.
 */
export async function addVirtualKey(page: Page): Promise<{ cdp: CDPSession; id: string }> {
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('WebAuthn.enable')
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'usb',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  })
  return { cdp, id: authenticatorId }
}

const axeSource = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
)

export interface AxeFinding {
  id: string
  impact: string | null
  help: string
  targets: string[]
}

/** Runs axe-core (every rule but experimental ones) on the page as it is now. */
export async function axeFindings(page: Page): Promise<AxeFinding[]> {
  // Evaluated through the DevTools Protocol, which the page's CSP does not govern, so the
  // scan needs no exception in the policy it runs under.
  await page.evaluate(axeSource)
  return page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(c: Document): Promise<any> } }).axe
    const result = await axe.run(document)
    return result.violations.map((v: any) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n: any) => String(n.target)),
    }))
  })
}
