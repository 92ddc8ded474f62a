import { createServer } from 'node:net'

import { chromium } from 'playwright-core'
import type { Browser } from 'playwright-core'

/** Debian's Chromium (`apt-get install chromium`; .ci/run installs it). */
export const CHROMIUM_PATH = process.env['PALISADE_CHROMIUM'] ?? '/usr/bin/chromium'

/**
 * Headless Chromium as root on a machine without network: no sandbox (root), no GPU, and none
 * of the background services (updates, sync, QUIC probes) that would flood refused connections.
 * Close what this returns.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}

/**
 * A free TCP port on loopback, asked of the OS. The engine needs its port before it starts,
 * as WebAuthn's expected origin (http://localhost:PORT) is part of its configuration.
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      )
    })
  })
}
