import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'

import { build } from 'esbuild'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { fromBase64Url, toBase64Url } from '../../crypto/bytes.ts'
import { openSealedField, sealField } from '../../crypto/sealed-field.ts'
import type { SealedField } from '../../crypto/sealed-field.ts'
import { generateSealingKeyPair } from '../../crypto/sealing-key-pair.ts'
import { restorePrivateKey } from '../../crypto/split-private-key.ts'
import type { KeyShare } from '../../crypto/split-private-key.ts'
import { wrapPrivateKey } from '../../crypto/wrap-private-key.ts'
import { launchChromium } from '../helpers/chromium.ts'

const eventId = '0193a0f4-7c2e-7b4d-9a31-5f2d8e6c1a07'

let server: Server
let browser: Browser
let page: Page
let bundleWarnings: string[]

beforeAll(async () => {
  // crypto/ bundled for the browser platform, as a web client would ship it: esbuild refuses
  // to resolve a static import of a Node module there, so this build is itself a check that
  // none is reached. (@hpke/common keeps a dynamic `import("crypto")` for Node 18 and older,
  // taken only when `globalThis.crypto` is missing, so never in a browser; esbuild leaves it
  // as it is.) esbuild comes with tsx and vite rather than as a dependency of its own.
  const bundle = await build({
    entryPoints: [join(import.meta.dirname, '../../crypto/index.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  })
  bundleWarnings = bundle.warnings.map((w) => w.text)
  const script = bundle.outputFiles[0]!.text
  server = createServer((request, response) => {
    if (request.url === '/crypto.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(script)
    } else {
      response
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<!doctype html><title>p</title>')
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  browser = await launchChromium()
  page = await browser.newPage()
  // 127.0.0.1 is a secure context, so the page has Web Crypto as a user's browser would.
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)
  // A string, so vitest's transform leaves the page's own dynamic import alone.
  await page.evaluate("import('/crypto.js').then((m) => { globalThis.palisade = m })")
})

afterAll(async () => {
  await browser?.close()
  await new Promise((resolve) => server?.close(resolve))
})

describe('crypto/ in Chromium and in Node, one sealing the other opening', () => {
  it('bundles for the browser with no Node module and no warning', () => {
    expect(bundleWarnings).toEqual([])
  })

  it('opens in Node a field sealed in the page to a key made in Node', async () => {
    const owner = await generateSealingKeyPair()
    const recipient = {
      kid: owner.kid,
      suite: owner.suite,
      publicKey: toBase64Url(owner.publicKey),
    }
    const sealed = await page.evaluate(
      async ({ recipient, eventId }) => {
        const p = (globalThis as any).palisade
        return p.sealField({
          recipient: { ...recipient, publicKey: p.fromBase64Url(recipient.publicKey) },
          eventId,
          field: 'user.email',
          value: { email: 'alice@example.com', seen: 3 },
        })
      },
      { recipient, eventId },
    )
    expect(await openSealedField(sealed, eventId, owner)).toEqual({
      email: 'alice@example.com',
      seen: 3,
    })
    await expect(openSealedField(sealed, 'another-event', owner)).rejects.toThrow(/did not open/)
  })

  it('opens in the page a field sealed in Node to a key made in the page', async () => {
    const recipient = await page.evaluate(async () => {
      const p = (globalThis as any).palisade
      const pair = await p.generateSealingKeyPair()
      ;(globalThis as any).pair = pair
      return { kid: pair.kid, suite: pair.suite, publicKey: p.toBase64Url(pair.publicKey) }
    })
    const sealed: SealedField = await sealField({
      recipient: { ...recipient, publicKey: fromBase64Url(recipient.publicKey) },
      eventId,
      field: 'message',
      value: 'the flagged message body',
    })
    const opened = await page.evaluate(
      async ({ sealed, eventId }) => {
        const p = (globalThis as any).palisade
        const value = await p.openSealedField(sealed, eventId, (globalThis as any).pair)
        const moved = await p
          .openSealedField({ ...sealed, field: 'user.name' }, eventId, (globalThis as any).pair)
          .then(
            () => 'opened',
            (e: { code: string }) => e.code,
          )
        return { value, moved }
      },
      { sealed, eventId },
    )
    expect(opened).toEqual({ value: 'the flagged message body', moved: 'PAL_CRYPTO_OPEN_FAILED' })
  })

  it('unwraps in the page a key file wrapped in Node, and restores in Node shares split in the page', async () => {
    const owner = await generateSealingKeyPair()
    const file = await wrapPrivateKey(owner, 'passphrase in both places', {
      scrypt: { N: 2 ** 12, r: 8, p: 1 },
    })
    const result = await page.evaluate(async (file) => {
      const p = (globalThis as any).palisade
      const pair = await p.unwrapPrivateKey(file, 'passphrase in both places')
      const shares = await p.splitPrivateKey(pair, 3, 2)
      return { privateKey: p.toBase64Url(pair.privateKey), shares }
    }, file)
    expect(result.privateKey).toBe(toBase64Url(owner.privateKey))
    const restored = await restorePrivateKey((result.shares as KeyShare[]).slice(1))
    expect(restored.privateKey).toEqual(owner.privateKey)
  })
})
