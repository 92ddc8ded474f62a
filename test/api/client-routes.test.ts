import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import Fastify from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'

import { handleError } from '../../api/error-handler.ts'
import { CLIENT_CSP, clientRoutes } from '../../api/routes/client-routes.ts'

const root = mkdtempSync(join(tmpdir(), 'palisade-client-'))

afterAll(() => rmSync(root, { recursive: true, force: true }))

async function serve(dir: string) {
  const app = Fastify()
  app.setErrorHandler(handleError)
  await app.register(clientRoutes, { root: dir })
  return app
}

describe('the MFA set-up page served by the API', () => {
  it('answers the built page under /security/ with the strict CSP and no caching', async () => {
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>page</title>')
    mkdirSync(join(root, 'assets'), { recursive: true })
    writeFileSync(join(root, 'assets', 'index-abc.js'), 'export {}')
    const app = await serve(root)
    const page = await app.inject({ method: 'GET', url: '/security/' })
    expect(page.statusCode).toBe(200)
    expect(page.body).toContain('<title>page</title>')
    expect(page.headers['content-security-policy']).toBe(CLIENT_CSP)
    expect(CLIENT_CSP).toContain("script-src 'self'")
    expect(CLIENT_CSP).not.toMatch(/unsafe-(inline|eval)/)
    expect(page.headers['x-content-type-options']).toBe('nosniff')
    expect(page.headers['cache-control']).toBe('no-cache')
    const asset = await app.inject({ method: 'GET', url: '/security/assets/index-abc.js' })
    expect(asset.headers['cache-control']).toContain('immutable')
    const bare = await app.inject({ method: 'GET', url: '/security' })
    expect(bare.statusCode).toBe(301)
    expect(bare.headers.location).toBe('/security/')
    const enrol = await app.inject({ method: 'GET', url: '/enrol' })
    expect(enrol.statusCode).toBe(200)
    expect(enrol.body).toBe(page.body)
    expect(enrol.headers['content-security-policy']).toBe(CLIENT_CSP)
    await app.close()
  })

  it('says how to build the page when it was not built', async () => {
    const app = await serve(join(root, 'nothing-here'))
    const page = await app.inject({ method: 'GET', url: '/security/' })
    expect(page.statusCode).toBe(503)
    expect(page.json().error.code).toBe('PAL_CLIENT_NOT_BUILT')
    expect(page.json().error.message).toContain('npm run build:client')
    expect((await app.inject({ method: 'GET', url: '/enrol' })).statusCode).toBe(503)
    await app.close()
  })
})
