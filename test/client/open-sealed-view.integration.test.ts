import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import type { Browser, Page, Request } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { toBase64Url } from '../../crypto/bytes.ts'
import { sealEventFields } from '../../crypto/seal-event-fields.ts'
import { generateSealingKeyPair, publicHalf } from '../../crypto/sealing-key-pair.ts'
import { wrapPrivateKey } from '../../crypto/wrap-private-key.ts'
import { CLIENT_BUILD_DIR } from '../../api/routes/client-routes.ts'
import { launchChromium } from '../helpers/chromium.ts'
import { axeFindings } from '../helpers/mfa-page.ts'
import { repoRoot, startTestEngine } from '../helpers/test-engine.ts'
import type { TestEngine } from '../helpers/test-engine.ts'

/**
 * The view that opens sealed fields on the analyst's machine, in headless Chromium against a
 * real Palisade serving the built page: events sealed in Node, ingested and exported through
 * the API, opened in the page with a key file as `palisade sealing-key generate` writes it.
 * Screenshots go to artefacts/open-sealed/.
 */
const artefacts = join(repoRoot, 'artefacts', 'open-sealed')
const passphrase = `a long passphrase ${crypto.randomUUID()}`
const card = '4539 1488 0343 6467'

let palisade: TestEngine
let browser: Browser
let dir: string
let keyPath: string
let eventsPath: string
let privateKeySpellings: string[]
let eventId: string

beforeAll(async () => {
  if (!existsSync(join(CLIENT_BUILD_DIR, 'open-sealed.html'))) {
    throw new Error(`no built view in ${CLIENT_BUILD_DIR}: run npm run build:client first`)
  }
  rmSync(artefacts, { recursive: true, force: true })
  mkdirSync(artefacts, { recursive: true })
  dir = mkdtempSync(join(tmpdir(), 'palisade-open-sealed-'))
  palisade = await startTestEngine({ dataDir: join(dir, 'data') })

  const owner = await generateSealingKeyPair()
  const key = Buffer.from(owner.privateKey)
  privateKeySpellings = [toBase64Url(owner.privateKey), key.toString('hex'), key.toString('base64')]
  keyPath = join(dir, 'soc.key.json')
  writeFileSync(keyPath, JSON.stringify(await wrapPrivateKey(owner, passphrase)))

  eventId = crypto.randomUUID()
  const { event } = await sealEventFields(
    {
      id: eventId,
      '@timestamp': new Date().toISOString(),
      event: { dataset: 'billing.payment', outcome: 'failure' },
      message: `charge declined for card ${card}`,
      user: { name: 'alice' },
    },
    { recipient: publicHalf(owner), fields: ['message'] },
  )
  const posted = await palisade.request('POST', '/v1/events', { body: [event] })
  expect(posted.status).toBe(202)
  const stored = await palisade.request('GET', `/v1/events/${eventId}`)
  expect(stored.status).toBe(200)
  expect(JSON.stringify(stored.body)).not.toContain('4539')
  eventsPath = join(dir, 'events.json')
  writeFileSync(eventsPath, JSON.stringify([stored.body]))

  browser = await launchChromium()
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await palisade?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/** A fresh page on the view, with every request it makes and every problem it logs. */
async function openView(): Promise<{ page: Page; requests: Request[]; problems: string[] }> {
  const context = await browser.newContext()
  const page = await context.newPage()
  const requests: Request[] = []
  const problems: string[] = []
  page.on('request', (request) => requests.push(request))
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`)
  })
  const response = await page.goto(`${palisade.url}/security/open-sealed.html`)
  // The same strict policy as the MFA page: same-origin scripts only, and Trusted Types.
  expect(response?.headers()['content-security-policy']).toContain("trusted-types 'none'")
  await page.getByRole('heading', { name: 'Open sealed fields' }).waitFor()
  return { page, requests, problems }
}

async function fillIn(page: Page, phrase: string): Promise<void> {
  await page.getByLabel('Key file').setInputFiles(keyPath)
  await page.getByLabel('Load events from a file').setInputFiles(eventsPath)
  await page.getByLabel('Passphrase').fill(phrase)
  await page.getByRole('button', { name: 'Open' }).click()
}

describe('opening sealed fields in the page, on the analyst machine', () => {
  it('shows a value sealed in Node opened, and no request carries the key or the passphrase', async () => {
    const { page, requests, problems } = await openView()
    await fillIn(page, passphrase)

    await page.getByRole('heading', { name: '1 event, 1 field opened' }).waitFor({
      timeout: 60_000,
    })
    await expect(page.locator('pre').textContent()).resolves.toContain(
      `"message": "charge declined for card ${card}"`,
    )
    await page.screenshot({ path: join(artefacts, '01-opened.png'), fullPage: true })
    const serious = (await axeFindings(page)).filter((f) => /serious|critical/.test(f.impact ?? ''))
    expect(serious).toEqual([])

    const secrets = [passphrase, ...privateKeySpellings]
    for (const request of requests) {
      const carried = [request.url(), request.postData() ?? '', JSON.stringify(request.headers())]
      for (const secret of secrets) expect(carried.join('\n')).not.toContain(secret)
      expect(request.method()).toBe('GET')
      expect(new URL(request.url()).pathname).toMatch(/^\/security\//)
    }

    const stored = await page.evaluate(async () => ({
      local: localStorage.length,
      session: sessionStorage.length,
      databases: (await indexedDB.databases()).length,
      caches: (await caches.keys()).length,
    }))
    expect(stored).toEqual({ local: 0, session: 0, databases: 0, caches: 0 })
    await expect(page.getByLabel('Passphrase').inputValue()).resolves.toBe('')
    expect(problems).toEqual([])
    await page.context().close()
  })

  it('says in plain words that a wrong passphrase does not open the key file', async () => {
    const { page, problems } = await openView()
    await fillIn(page, 'not the passphrase')

    const alert = page.getByRole('alert')
    await alert.waitFor({ timeout: 60_000 })
    await expect(alert.textContent()).resolves.toContain(
      'The passphrase does not open this key file.',
    )
    await expect(page.locator('pre').count()).resolves.toBe(0)
    await page.screenshot({ path: join(artefacts, '02-wrong-passphrase.png'), fullPage: true })
    const serious = (await axeFindings(page)).filter((f) => /serious|critical/.test(f.impact ?? ''))
    expect(serious).toEqual([])
    expect(problems).toEqual([])
    await page.context().close()
  })
})
