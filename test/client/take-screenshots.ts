// `npm run screenshots`: a PNG of each screen of the MFA set-up page, taken in headless
// Chromium against a real Palisade with a made-up person, into a folder it prints. Nothing is
// asserted here; the browser tests (mfa-setup.integration.test.ts) check the same screens.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import type { Page } from 'playwright-core'

import { sealEventFields } from '../../crypto/seal-event-fields.ts'
import { generateSealingKeyPair, publicHalf } from '../../crypto/sealing-key-pair.ts'
import { wrapPrivateKey } from '../../crypto/wrap-private-key.ts'
import { launchChromium } from '../helpers/chromium.ts'
import { addVirtualKey, startMfaEngine, totpAt } from '../helpers/mfa-page.ts'
import { repoRoot } from '../helpers/test-engine.ts'

const out = join(repoRoot, 'artefacts', 'screenshots')
const password = 'a long passphrase for the screenshots'

rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })
const mfa = await startMfaEngine()
const browser = await launchChromium()
try {
  const enrolmentLink = await mfa.invite('robin')
  const page = await browser.newPage({ viewport: { width: 1024, height: 768 } })
  const key = await addVirtualKey(page)
  let count = 0
  const shoot = async (name: string) => {
    count += 1
    await page.screenshot({
      path: join(out, `${String(count).padStart(2, '0')}-${name}.png`),
      fullPage: true,
    })
  }
  const button = (name: string) => page.getByRole('button', { name, exact: true })
  const heading = (name: string) => page.getByRole('heading', { name, level: 1 }).waitFor()
  const signIn = async (p: Page, pass: string) => {
    await p.getByLabel('Name', { exact: true }).fill('robin')
    await p.getByLabel('Password', { exact: true }).fill(pass)
    await button('Sign in').click()
  }

  await page.goto(enrolmentLink)
  await heading('Choose your password')
  await shoot('enrolment-link')
  await page.getByLabel('New password').fill(password)
  await page.getByLabel('The same password again').fill(password)
  await button('Set password').click()
  await heading('Sign in to Palisade')
  await shoot('sign-in')
  await signIn(page, 'a wrong password')
  await page.getByRole('alert').waitFor()
  await shoot('sign-in-refused')
  await signIn(page, password)
  await heading('Sign-in security')
  await shoot('no-second-factor-yet')

  await button('Set up an authenticator app').click()
  const link = page.getByRole('link', { name: /authenticator app on this device/ })
  const secret = new URL((await link.getAttribute('href'))!).searchParams.get('secret')!
  await shoot('authenticator-app-qr-code')
  await page.getByLabel('Enter the 6-digit code the app shows').fill('000000')
  await button('Turn on authenticator app').click()
  await page.getByRole('alert').waitFor()
  await shoot('authenticator-app-wrong-code')
  await page
    .getByLabel('Enter the 6-digit code the app shows')
    .fill(await totpAt(secret, mfa.serverNow()))
  await button('Turn on authenticator app').click()
  await page.getByText('Authenticator app turned on.').waitFor()
  await shoot('authenticator-app-on')

  await button('Create new recovery codes').click()
  await page.getByRole('list', { name: 'Recovery codes' }).waitFor()
  await shoot('recovery-codes-shown-once')
  await button('I have saved them').click()

  await page.getByLabel('Name for a new key').fill('Blue key on my keyring')
  await button('Register a security key').click()
  await page.getByText('registered.').waitFor()
  await shoot('security-key-registered')

  await button('Sign out').click()
  await heading('Sign in to Palisade')
  await signIn(page, password)
  await heading('Confirm it is you')
  await shoot('second-factor')
  await key.cdp.send('WebAuthn.setAutomaticPresenceSimulation', {
    authenticatorId: key.id,
    enabled: false,
  })
  await button('Use my security key').click()
  await page.getByText('Touch your security key').waitFor()
  await shoot('security-key-prompt')
  await button('Cancel').click()
  await page.getByRole('alert').waitFor()
  await shoot('security-key-prompt-cancelled')
  await key.cdp.send('WebAuthn.setAutomaticPresenceSimulation', {
    authenticatorId: key.id,
    enabled: true,
  })
  await button('Use my security key').click()
  await heading('Sign-in security')
  await shoot('signed-in')

  mfa.advance(11 * 60_000)
  await page.getByRole('button', { name: 'Remove security key Blue key on my keyring' }).click()
  await shoot('remove-confirmation')
  await button('Remove').click()
  await page.getByRole('dialog').waitFor()
  await shoot('step-up')
  await page.getByRole('dialog').getByRole('button', { name: 'Use my security key' }).click()
  await page.getByText('Removed the security key').waitFor()
  await shoot('security-key-removed')

  // The sealed-field view, opening an event sealed here to a made-up key.
  const files = mkdtempSync(join(tmpdir(), 'palisade-screenshots-'))
  try {
    const owner = await generateSealingKeyPair()
    const keyPath = join(files, 'soc.key.json')
    writeFileSync(keyPath, JSON.stringify(await wrapPrivateKey(owner, password)))
    const { event } = await sealEventFields(
      {
        id: '0193a0f4-7c2e-7b4d-9a31-5f2d8e6c1a07',
        '@timestamp': '2026-12-04T10:00:00Z',
        event: { dataset: 'billing.payment', outcome: 'failure' },
        message: 'charge declined for card 4111 1111 1111 1111',
        user: { name: 'robin', email: 'robin@example.com' },
      },
      { recipient: publicHalf(owner), fields: ['message', 'user.email'] },
    )
    await page.goto(`${mfa.origin}/security/open-sealed.html`)
    await page.getByLabel('Key file').setInputFiles(keyPath)
    await page
      .getByLabel('Events (a JSON export, or one event a line)')
      .fill(JSON.stringify([event]))
    await page.getByLabel('Passphrase').fill(password)
    await shoot('sealed-view-filled-in')
    await button('Open').click()
    await page.getByRole('heading', { name: '1 event, 2 fields opened' }).waitFor()
    await shoot('sealed-view-opened')
  } finally {
    rmSync(files, { recursive: true, force: true })
  }

  process.stdout.write(`${count} screenshots of the MFA page and the sealed-field view in ${out}\n`)
} finally {
  await browser.close()
  await mfa.close()
}
