import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'

import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsync } from 'fastify'

import { PalisadeError } from '../../platform/errors.ts'

/** Where `npm run build:client` writes the browser UI (never committed). */
export const CLIENT_BUILD_DIR = join(import.meta.dirname, '..', '..', 'dist', 'client')

/**
 * The page's Content-Security-Policy: scripts, styles and requests only from this origin, no
 * inline script or style, no plugins, frames or forms elsewhere, and Trusted Types so no
 * string ever reaches an HTML sink (OWASP CSP cheat sheet; CSP Level 3). Images may be data:
 * URLs: the TOTP QR code arrives as SVG markup and is shown as an <img>, never as markup.
 */
export const CLIENT_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ')

export interface ClientRouteDeps {
  /** The built client; absent, `/security/` answers 503 with how to build it. */
  root: string
}

/**
 * The MFA set-up page under `/security/` (and at `/enrol`, where enrolment links point), on
 * the API's own origin, so its requests carry the
 * SameSite=Strict session cookie and pass the cross-origin check. Every answer carries the
 * strict CSP and headers that keep the page out of frames and its address out of referrers.
 */
export const clientRoutes: FastifyPluginAsync<ClientRouteDeps> = async (app, { root }) => {
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('content-security-policy', CLIENT_CSP)
    reply.header('x-content-type-options', 'nosniff')
    reply.header('referrer-policy', 'no-referrer')
    reply.header('cross-origin-opener-policy', 'same-origin')
    reply.header('cross-origin-resource-policy', 'same-origin')
    // Hashed asset names change with their content; the page itself is always fetched anew.
    const immutable = request.url.startsWith('/security/assets/')
    reply.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
    return payload
  })

  app.get('/security', { schema: { hide: true } }, async (_request, reply) =>
    reply.redirect('/security/', 301),
  )

  if (!existsSync(join(root, 'index.html'))) {
    const notBuilt = async () => {
      throw new PalisadeError(
        'PAL_CLIENT_NOT_BUILT',
        `the MFA set-up page is not built (no ${join(root, 'index.html')}): ` +
          'run npm run build:client, then restart',
        { status: 503 },
      )
    }
    app.get('/security/*', { schema: { hide: true } }, notBuilt)
    app.get('/enrol', { schema: { hide: true } }, notBuilt)
    return
  }
  // The one-time link `palisade users add` prints opens the same page, which reads its token
  // from the fragment (never sent here).
  app.get('/enrol', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(await readFile(join(root, 'index.html'))),
  )
  await app.register(fastifyStatic, {
    root,
    prefix: '/security/',
    index: 'index.html',
    decorateReply: false,
    schemaHide: true,
  })
}
