import { mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'

import QRCode from 'qrcode'
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { launchChromium } from '../helpers/chromium.ts'
import { addVirtualKey, axeFindings, startMfaEngine, totpAt } from '../helpers/mfa-page.ts'
import type { MfaEngine } from '../helpers/mfa-page.ts'
import { repoRoot } from '../helpers/test-engine.ts'

/**
 * The MFA set-up page in headless Chromium against a real Palisade. The steps of one person's
 * set-up run in order on one page (each needs the one before: codes are confirmed from the
 * app just enrolled, the key signs in once registered); each step leaves a screenshot in
 * artefacts/mfa-setup/.
 */
const artefacts = join(repoRoot, 'artefacts', 'mfa-setup')
const password = 'a long passphrase for alice'

let mfa: MfaEngine
let browser: Browser
let context: BrowserContext
let page: Page
let key: { cdp: CDPSession; id: string }
/** Console errors and CSP violations of every page, checked after each step. */
const pageProblems: string[] = []
let secret = ''
let recoveryCodes: string[] = []
let shot = 0

beforeAll(async () => {
  rmSync(artefacts, { recursive: true, force: true })
  mkdirSync(artefacts, { recursive: true })
  mfa = await startMfaEngine()
  await mfa.addPerson('alice', password)
  browser = await launchChromium()
  context = await browser.newContext({ acceptDownloads: true })
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: mfa.origin })
  page = await watchedPage()
  key = await addVirtualKey(page)
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await mfa?.close()
})

/** A new tab, in `within` (this person's browser unless told), whose errors are collected. */
async function watchedPage(within: BrowserContext = context): Promise<Page> {
  const opened = await within.newPage()
  opened.on('pageerror', (error) => pageProblems.push(`page error: ${error.message}`))
  opened.on('console', (message) => {
    // The API's 4xx answers are logged by Chromium as failed loads; they are the page's
    // expected errors, which each step checks on screen.
    if (message.type() === 'error' && !/status of 4\d\d/.test(message.text())) {
      pageProblems.push(`console: ${message.text()}`)
    }
  })
  return opened
}

async function screenshot(target: Page, name: string): Promise<void> {
  shot += 1
  await target.screenshot({
    path: join(artefacts, `${String(shot).padStart(2, '0')}-${name}.png`),
    fullPage: true,
  })
}

/** No serious or critical axe-core finding on the screen as it is now. */
async function expectAccessible(target: Page): Promise<void> {
  const findings = await axeFindings(target)
  const serious = findings.filter((f) => f.impact === 'serious' || f.impact === 'critical')
  expect(serious).toEqual([])
}

function expectNoPageProblems(): void {
  expect(pageProblems).toEqual([])
}

const heading = (target: Page, name: string) => target.getByRole('heading', { name, level: 1 })
const alertText = (target: Page | ReturnType<Page['getByRole']>) =>
  target.getByRole('alert').innerText()

/** What the API says of this browser's session, asked from the page as the page would. */
async function sessionAsApiSeesIt(target: Page) {
  return target.evaluate(async () => {
    const response = await fetch('/v1/session')
    return { status: response.status, body: await response.json() }
  })
}

async function storedKey() {
  return mfa.palisade.engine.state.db
    .selectFrom('webauthn_credentials')
    .select(['name', 'counter', 'last_used_at'])
    .executeTakeFirstOrThrow()
}

async function signInWithPassword(target: Page) {
  await heading(target, 'Sign in to Palisade').waitFor()
  await target.getByLabel('Name', { exact: true }).fill('alice')
  await target.getByLabel('Password', { exact: true }).fill(password)
  await target.getByRole('button', { name: 'Sign in' }).click()
  await heading(target, 'Confirm it is you').waitFor()
}

async function signOut() {
  await page.getByRole('button', { name: 'Sign out' }).click()
  await heading(page, 'Sign in to Palisade').waitFor()
}

describe('a person setting up second factors on the page, in Chromium', () => {
  it('serves the page under a strict CSP that refuses inline script', async () => {
    const response = await page.goto(mfa.page)
    const csp = response!.headers()['content-security-policy']
    expect(csp).toContain("script-src 'self'")
    expect(csp).not.toContain('unsafe-inline')
    await heading(page, 'Sign in to Palisade').waitFor()

    const ran = await page
      .addScriptTag({ content: 'window.inlineRan = true' })
      .then(() => page.evaluate(() => 'inlineRan' in window))
      .catch(() => false)
    expect(ran).toBe(false)
    pageProblems.length = 0 // the refused script's own report, which is the point here
    await screenshot(page, 'sign-in')

    // The scanner works under this CSP: it finds an image without text planted in the page.
    await page.evaluate(() => {
      const planted = document.createElement('img')
      planted.id = 'planted'
      planted.src = 'data:,'
      document.body.append(planted)
    })
    expect((await axeFindings(page)).map((f) => f.id)).toContain('image-alt')
    await page.evaluate(() => document.getElementById('planted')?.remove())
    await expectAccessible(page)
  })

  it('refuses a wrong password in plain words, then signs in with the right one', async () => {
    await page.getByLabel('Name', { exact: true }).fill('alice')
    await page.getByLabel('Password', { exact: true }).fill('not the password')
    await page.getByRole('button', { name: 'Sign in' }).click()
    expect(await alertText(page)).toContain('The name or the password is not right.')
    await screenshot(page, 'sign-in-wrong-password')

    await page.getByLabel('Password', { exact: true }).fill(password)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await heading(page, 'Sign-in security').waitFor()
    await expect(page.getByText('Signed in as alice').isVisible()).resolves.toBe(true)
    await screenshot(page, 'no-factors-yet')
    await expectAccessible(page)
    expectNoPageProblems()
  })

  it('enrols an authenticator app from the QR code, with the key shown to type by hand', async () => {
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click()
    const panel = page.getByRole('region', { name: 'Add Palisade to your authenticator app' })
    await panel.waitFor()
    // Focus moves to the new panel, so a screen reader reads it next.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe(
      'Add Palisade to your authenticator app',
    )

    const uri = await panel.getByRole('link', { name: /authenticator app on this device/ })
    const otpauth = (await uri.getAttribute('href'))!
    expect(otpauth).toMatch(/^otpauth:\/\/totp\/Palisade:alice\?/)
    secret = new URL(otpauth).searchParams.get('secret')!
    // The QR image is exactly the QR code of that otpauth URI (same encoder, same options as
    // the server), so an app scanning it reads this secret.
    const qr = panel.getByRole('img')
    const src = (await qr.getAttribute('src'))!
    const svg = decodeURIComponent(src.replace(/^data:image\/svg\+xml,/, ''))
    const expected = await QRCode.toString(otpauth, {
      type: 'svg',
      errorCorrectionLevel: 'M',
      margin: 2,
    })
    expect(svg).toBe(expected)
    expect(await qr.getAttribute('alt')).toMatch(/QR code .*type the setup key/)
    expect((await panel.locator('code.secret').innerText()).replace(/\s/g, '')).toBe(secret)
    await screenshot(page, 'totp-qr-code')
    await expectAccessible(page)

    const code = await totpAt(secret, mfa.serverNow())
    await page.getByLabel('Enter the 6-digit code the app shows').fill(code)
    await page.getByRole('button', { name: 'Turn on authenticator app' }).click()
    await page.getByText('Authenticator app turned on.').waitFor()
    // Its confirming code counts as its last use.
    const totpState = page.getByText('On: sign-in asks for a code from your app.')
    expect(await totpState.innerText()).toMatch(/Last used: (?!never)/)

    // Nothing of the secret stays behind: not on screen, not in any storage the page has.
    expect(await page.content()).not.toContain(secret)
    const storage = await page.evaluate(async () => ({
      local: Object.keys(localStorage).length,
      session: Object.keys(sessionStorage).length,
      cookies: document.cookie,
      databases: (await indexedDB.databases()).length,
      caches: (await caches.keys()).length,
    }))
    expect(storage).toEqual({ local: 0, session: 0, cookies: '', databases: 0, caches: 0 })
    await screenshot(page, 'totp-on')
    expectNoPageProblems()
  })

  it('shows new recovery codes once, to copy and to download', async () => {
    await page.getByRole('button', { name: 'Create new recovery codes' }).click()
    const list = page.getByRole('list', { name: 'Recovery codes' })
    await list.waitFor()
    recoveryCodes = (await list.getByRole('listitem').allInnerTexts()).map((c) => c.trim())
    expect(recoveryCodes).toHaveLength(10)
    for (const code of recoveryCodes) expect(code).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/)
    await screenshot(page, 'recovery-codes')
    await expectAccessible(page)

    await page.getByRole('button', { name: 'Copy codes' }).click()
    await page.getByText('Copied the 10 codes to the clipboard.').waitFor()
    const copied = await page.evaluate(() => navigator.clipboard.readText())
    expect(copied.trim().split('\n')).toEqual(recoveryCodes)

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download codes' }).click(),
    ])
    expect(download.suggestedFilename()).toBe('palisade-recovery-codes.txt')
    const saved = join(artefacts, 'downloaded-recovery-codes.txt')
    await download.saveAs(saved)
    expect(readFileSync(saved, 'utf8').trim().split('\n')).toEqual(recoveryCodes)

    await page.getByRole('button', { name: 'I have saved them' }).click()
    await page.getByText('10 unused recovery codes left.').waitFor()
    expect(await page.content()).not.toContain(recoveryCodes[0])
    // Not shown again after a reload either: the server keeps only their hashes.
    await page.reload()
    await heading(page, 'Sign-in security').waitFor()
    expect(await page.content()).not.toContain(recoveryCodes[0])
    expectNoPageProblems()
  })

  it('registers a security key under the name given, through the virtual authenticator', async () => {
    await page.getByLabel('Name for a new key').fill('Desk key')
    await page.getByRole('button', { name: 'Register a security key' }).click()
    await page.getByText('Security key “Desk key” registered.').waitFor()
    const row = page.getByRole('row', { name: /Desk key/ })
    expect(await row.getByRole('cell').nth(1).innerText()).toBe('Never')
    const { credentials } = await key.cdp.send('WebAuthn.getCredentials', {
      authenticatorId: key.id,
    })
    expect(credentials).toHaveLength(1)
    expect(credentials[0]!.rpId).toBe('localhost')
    await screenshot(page, 'security-key-registered')
    await expectAccessible(page)
    expectNoPageProblems()
  })

  it('signs out, then signs in with the keyboard alone and a code from the app', async () => {
    await signOut()
    // Focus starts on the heading; Tab walks the fields in order; Enter submits.
    await page.keyboard.press('Tab')
    await page.keyboard.type('alice')
    await page.keyboard.press('Tab')
    await page.keyboard.type(password)
    await page.keyboard.press('Enter')
    await heading(page, 'Confirm it is you').waitFor()
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Confirm it is you')
    await screenshot(page, 'second-factor')
    await expectAccessible(page)

    mfa.advance(30_000) // the next code: each code works once
    await page.keyboard.press('Tab')
    await page.keyboard.type(await totpAt(secret, mfa.serverNow()))
    await page.keyboard.press('Enter')
    await heading(page, 'Sign-in security').waitFor()
    expect((await sessionAsApiSeesIt(page)).body.mfa_method).toBe('totp')
    expectNoPageProblems()
  })

  it('signs in with the security key, which then shows when it was last used', async () => {
    await signOut()
    await signInWithPassword(page)
    await page.getByRole('button', { name: 'Use my security key' }).click()
    await heading(page, 'Sign-in security').waitFor()
    expect((await sessionAsApiSeesIt(page)).body.mfa_method).toBe('webauthn')
    const lastUsed = page
      .getByRole('row', { name: /Desk key/ })
      .getByRole('cell')
      .nth(1)
    expect(await lastUsed.innerText()).not.toBe('Never')
    await screenshot(page, 'signed-in-with-key')
    expectNoPageProblems()
  })

  it('signs in with a recovery code, which then works no more', async () => {
    await signOut()
    await signInWithPassword(page)
    await page.getByRole('textbox', { name: 'Recovery code' }).fill(recoveryCodes[0]!)
    await page.getByRole('button', { name: 'Use recovery code' }).click()
    await heading(page, 'Sign-in security').waitFor()
    await page.getByText('9 unused recovery codes left.').waitFor()
    await page.getByText('One was last used').waitFor()
    expect((await sessionAsApiSeesIt(page)).body.mfa_method).toBe('recovery_code')
    expectNoPageProblems()
  })
})

describe('what goes wrong, shown in plain words and changing nothing', () => {
  it('too many wrong passwords: says how long to wait', async () => {
    const guesser = await browser.newContext()
    try {
      const tab = await watchedPage(guesser)
      await tab.goto(mfa.page)
      await tab.getByLabel('Name', { exact: true }).fill('mallory')
      for (let attempt = 1; attempt <= 5; attempt += 1) {
        await tab.getByLabel('Password', { exact: true }).fill(`guess number ${attempt}`)
        await tab.getByRole('button', { name: 'Sign in' }).click()
        await tab.getByRole('alert').getByText('The name or the password is not right.').waitFor()
        await tab.getByRole('button', { name: 'Sign in' }).waitFor()
      }
      await tab.getByLabel('Password', { exact: true }).fill('guess number 6')
      await tab.getByRole('button', { name: 'Sign in' }).click()
      await tab.getByRole('alert').getByText('too many failed attempts', { exact: false }).waitFor()
      expect(await alertText(tab)).toContain('Wait 15 minutes and try again.')
      await screenshot(tab, 'locked-out')
      expect(await guesser.cookies()).toEqual([])
      expectNoPageProblems()
    } finally {
      await guesser.close()
    }
  })

  it('a wrong code from the app', async () => {
    await signOut()
    await signInWithPassword(page)
    mfa.advance(30_000)
    const right = await totpAt(secret, mfa.serverNow())
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0')
    await page.getByLabel('6-digit code').fill(wrong)
    await page.getByRole('button', { name: 'Confirm code' }).click()
    expect(await alertText(page)).toContain('That code is not right, or it is too old.')
    await screenshot(page, 'wrong-code')
    await expectAccessible(page)
    expect(await heading(page, 'Confirm it is you').isVisible()).toBe(true)
    expect((await sessionAsApiSeesIt(page)).body).toMatchObject({ mfa_required: true })
    expectNoPageProblems()
  })

  it('an answer from the key after its challenge expired', async () => {
    const before = await storedKey()
    // The person takes longer than the challenge's five minutes to touch the key: the server's
    // clock moves on while the page's answer is on its way.
    await page.route('**/v1/session/webauthn', async (route) => {
      mfa.advance(5 * 60_000 + 1000)
      await route.continue()
    })
    await page.getByRole('button', { name: 'Use my security key' }).click()
    expect(await alertText(page)).toContain(
      'The security key request expired or was already answered.',
    )
    await page.unroute('**/v1/session/webauthn')
    await screenshot(page, 'expired-challenge')
    expect((await sessionAsApiSeesIt(page)).body).toMatchObject({ mfa_required: true })
    expect(await storedKey()).toEqual(before)
    expectNoPageProblems()
  })

  it('a key prompt the person cancels', async () => {
    const before = await storedKey()
    // The key waits for a touch that never comes, until the person clicks Cancel.
    await key.cdp.send('WebAuthn.setAutomaticPresenceSimulation', {
      authenticatorId: key.id,
      enabled: false,
    })
    await page.getByRole('button', { name: 'Use my security key' }).click()
    await page.getByText('Touch your security key or confirm on your device now.').waitFor()
    await screenshot(page, 'key-prompt-waiting')
    await page.getByRole('button', { name: 'Cancel', exact: true }).click()
    expect(await alertText(page)).toContain('The security key prompt was cancelled.')
    await key.cdp.send('WebAuthn.setAutomaticPresenceSimulation', {
      authenticatorId: key.id,
      enabled: true,
    })
    await screenshot(page, 'key-prompt-cancelled')
    expect((await sessionAsApiSeesIt(page)).body).toMatchObject({ mfa_required: true })
    expect(await storedKey()).toEqual(before)
    expectNoPageProblems()
  })
})

describe('removing a factor', () => {
  it('asks to confirm it is you when the last factor is older than ten minutes', async () => {
    mfa.advance(30_000)
    await page.getByLabel('6-digit code').fill(await totpAt(secret, mfa.serverNow()))
    await page.getByRole('button', { name: 'Confirm code' }).click()
    await heading(page, 'Sign-in security').waitFor()

    mfa.advance(11 * 60_000)
    await page.getByRole('button', { name: 'Remove authenticator app' }).click()
    await page.getByRole('button', { name: 'Remove', exact: true }).click()
    const dialog = page.getByRole('dialog', { name: 'Confirm it is you' })
    await dialog.waitFor()
    expect(await dialog.innerText()).toContain('To remove your authenticator app, confirm')
    // Focus is inside the dialog, on its first field, for keyboard and screen-reader users.
    expect(await page.evaluate(() => document.activeElement?.closest('dialog') !== null)).toBe(true)
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('step-up-totp-code')
    await screenshot(page, 'step-up')
    await expectAccessible(page)
    // Nothing is removed while the dialog waits, nor when it is cancelled.
    expect((await sessionAsApiSeesIt(page)).body.factors.totp).toBe(true)
    await page.keyboard.press('Escape')
    expect(await alertText(page)).toContain(
      'You did not confirm it is you, so nothing was changed.',
    )
    expect(await dialog.count()).toBe(0)
    expect((await sessionAsApiSeesIt(page)).body.factors.totp).toBe(true)

    await page.getByRole('button', { name: 'Remove authenticator app' }).click()
    await page.getByRole('button', { name: 'Remove', exact: true }).click()
    await dialog.waitFor()
    await dialog.getByRole('button', { name: 'Use my security key' }).click()
    await page.getByText('Removed your authenticator app.').waitFor()
    expect(await dialog.count()).toBe(0)
    const session = (await sessionAsApiSeesIt(page)).body
    expect(session.factors.totp).toBe(false)
    expect(session.factors.webauthn).toHaveLength(1)
    await screenshot(page, 'factor-removed')
    expectNoPageProblems()
  })
})

describe('a second tab racing the first', () => {
  it('refuses the first tab’s code once the second started its own set-up, changing nothing', async () => {
    await mfa.addPerson('bob', password)
    const bob = await browser.newContext()
    try {
      const first = await watchedPage(bob)
      await first.goto(mfa.page)
      await first.getByLabel('Name', { exact: true }).fill('bob')
      await first.getByLabel('Password', { exact: true }).fill(password)
      await first.getByRole('button', { name: 'Sign in' }).click()
      await heading(first, 'Sign-in security').waitFor()
      const second = await watchedPage(bob)
      await second.goto(mfa.page)
      await heading(second, 'Sign-in security').waitFor()

      const start = async (tab: Page) => {
        await tab.getByRole('button', { name: 'Set up an authenticator app' }).click()
        const href = await tab
          .getByRole('link', { name: /authenticator app on this device/ })
          .getAttribute('href')
        return new URL(href!).searchParams.get('secret')!
      }
      const firstSecret = await start(first)
      const secondSecret = await start(second)
      expect(secondSecret).not.toBe(firstSecret)

      await first
        .getByLabel('Enter the 6-digit code the app shows')
        .fill(await totpAt(firstSecret, mfa.serverNow()))
      await first.getByRole('button', { name: 'Turn on authenticator app' }).click()
      const message = await alertText(first)
      expect(message).toContain('That code does not match the QR code on this page.')
      expect(message).toContain('If you started set-up in another tab or window')
      await screenshot(first, 'second-tab-race')
      expect((await sessionAsApiSeesIt(first)).body.factors).toMatchObject({ totp: false })

      // The tab that started last finishes as usual.
      await second
        .getByLabel('Enter the 6-digit code the app shows')
        .fill(await totpAt(secondSecret, mfa.serverNow()))
      await second.getByRole('button', { name: 'Turn on authenticator app' }).click()
      await second.getByText('Authenticator app turned on.').waitFor()
      expect((await sessionAsApiSeesIt(second)).body.factors).toMatchObject({ totp: true })
      expectNoPageProblems()
    } finally {
      await bob.close()
    }
  })
})

describe('requests forged from another origin', () => {
  it('are refused even with the session cookie, and change nothing', async () => {
    const cookie = (await context.cookies(mfa.origin)).find((c) => c.name === 'palisade_session')
    expect(cookie).toBeDefined()
    const headers = { cookie: `palisade_session=${cookie!.value}` }
    const factors = async () =>
      (await fetch(`${mfa.origin}/v1/me/factors`, { headers })).json() as Promise<any>
    const before = await factors()
    expect(before.recovery_codes_left).toBe(9)

    // A page on a sibling host of the same site: SameSite=Strict lets the cookie through.
    for (const forged of [
      { origin: 'http://evil.localhost', 'sec-fetch-site': 'same-site' },
      { origin: 'null', 'sec-fetch-site': 'cross-site' },
    ]) {
      const answer = await fetch(`${mfa.origin}/v1/me/recovery-codes`, {
        method: 'POST',
        headers: { ...headers, ...forged },
      })
      expect(answer.status).toBe(403)
      expect((await answer.json()).error.code).toBe('PAL_CROSS_ORIGIN')
    }
    const removal = await fetch(
      `${mfa.origin}/v1/me/webauthn/credentials/${encodeURIComponent(before.webauthn[0].id)}`,
      { method: 'DELETE', headers: { ...headers, origin: 'http://evil.localhost' } },
    )
    expect(removal.status).toBe(403)
    expect(await factors()).toEqual(before)
  })
})

describe('a second tab removing what the first removed', () => {
  it('says the key is gone already and shows the list as it is, removing nothing else', async () => {
    const other = await watchedPage()
    try {
      await page.reload()
      await other.goto(mfa.page)
      for (const tab of [page, other]) await tab.getByRole('row', { name: /Desk key/ }).waitFor()

      await page.getByRole('button', { name: 'Remove security key Desk key' }).click()
      await page.getByRole('button', { name: 'Remove', exact: true }).click()
      await page.getByText('Removed the security key “Desk key”.').waitFor()
      const after = (await sessionAsApiSeesIt(page)).body.factors

      await other.getByRole('button', { name: 'Remove security key Desk key' }).click()
      await other.getByRole('button', { name: 'Remove', exact: true }).click()
      expect(await alertText(other)).toContain('That security key is no longer on your account')
      await other.getByText('No security key or passkey yet.').waitFor()
      await screenshot(other, 'second-tab-removed-already')
      expect((await sessionAsApiSeesIt(other)).body.factors).toEqual(after)
      expectNoPageProblems()
    } finally {
      await other.close()
    }
  })
})

describe('a factor added on another device', () => {
  it('makes this device ask for it before any other change', async () => {
    await mfa.addPerson('carol', password)
    const [laptop, phone] = [await browser.newContext(), await browser.newContext()]
    try {
      const signIn = async (device: BrowserContext) => {
        const tab = await watchedPage(device)
        await tab.goto(mfa.page)
        await tab.getByLabel('Name', { exact: true }).fill('carol')
        await tab.getByLabel('Password', { exact: true }).fill(password)
        await tab.getByRole('button', { name: 'Sign in' }).click()
        await heading(tab, 'Sign-in security').waitFor()
        return tab
      }
      const [onLaptop, onPhone] = [await signIn(laptop), await signIn(phone)]
      await onLaptop.getByRole('button', { name: 'Set up an authenticator app' }).click()
      const href = await onLaptop
        .getByRole('link', { name: /authenticator app on this device/ })
        .getAttribute('href')
      const carolSecret = new URL(href!).searchParams.get('secret')!
      await onLaptop
        .getByLabel('Enter the 6-digit code the app shows')
        .fill(await totpAt(carolSecret, mfa.serverNow()))
      await onLaptop.getByRole('button', { name: 'Turn on authenticator app' }).click()
      await onLaptop.getByText('Authenticator app turned on.').waitFor()

      await onPhone.getByRole('button', { name: 'Set up an authenticator app' }).click()
      await heading(onPhone, 'Confirm it is you').waitFor()
      expect(await onPhone.getByLabel('6-digit code').isVisible()).toBe(true)
      expect((await sessionAsApiSeesIt(onPhone)).body.mfa_required).toBe(true)
      expectNoPageProblems()
    } finally {
      await laptop.close()
      await phone.close()
    }
  })
})

describe('a new person opening their enrolment link', () => {
  it('chooses a password, with the token gone from the address, then signs in', async () => {
    const link = await mfa.invite('dana')
    expect(link).toMatch(new RegExp(`^${mfa.origin}/enrol#pal_enrol_`))
    const newcomer = await browser.newContext()
    try {
      const tab = await watchedPage(newcomer)
      await tab.goto(link)
      await heading(tab, 'Choose your password').waitFor()
      expect(tab.url()).toBe(mfa.page)
      await screenshot(tab, 'enrolment')
      await expectAccessible(tab)

      const choose = async (password: string, again: string) => {
        await tab.getByLabel('New password').fill(password)
        await tab.getByLabel('The same password again').fill(again)
        await tab.getByRole('button', { name: 'Set password' }).click()
      }
      await choose('too short', 'too short')
      expect(await alertText(tab)).toContain('A password here is 12 to 256 characters long.')
      await choose('dana picks a long one', 'dana picks a long 1')
      expect(await alertText(tab)).toContain('The two passwords are not the same.')
      await choose('dana picks a long one', 'dana picks a long one')
      await heading(tab, 'Sign in to Palisade').waitFor()
      await tab.getByText('Your password is set.').waitFor()

      await tab.getByLabel('Name', { exact: true }).fill('dana')
      await tab.getByLabel('Password', { exact: true }).fill('dana picks a long one')
      await tab.getByRole('button', { name: 'Sign in' }).click()
      await heading(tab, 'Sign-in security').waitFor()

      // The link works once.
      const again = await watchedPage(newcomer)
      await again.goto(link)
      await heading(again, 'Choose your password').waitFor()
      await again.getByLabel('New password').fill('someone else entirely')
      await again.getByLabel('The same password again').fill('someone else entirely')
      await again.getByRole('button', { name: 'Set password' }).click()
      expect(await alertText(again)).toContain(
        'The enrolment link is unknown, already used or expired.',
      )
      await screenshot(again, 'enrolment-link-used')
      expectNoPageProblems()
    } finally {
      await newcomer.close()
    }
  })
})
