import fastifyCookie from '@fastify/cookie'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { crossOriginCheck } from '../../api/cross-origin-check.ts'
import { handleError } from '../../api/error-handler.ts'

let app: FastifyInstance
let changes = 0

beforeAll(async () => {
  app = Fastify()
  app.setErrorHandler(handleError)
  await app.register(fastifyCookie)
  app.addHook('onRequest', crossOriginCheck('https://palisade.example'))
  app.post('/v1/me/recovery-codes', async () => ({ changed: ++changes }))
  app.get('/v1/me/factors', async () => ({ changes }))
  await app.ready()
})

afterAll(async () => {
  await app.close()
})

const post = (headers: Record<string, string>) =>
  app.inject({
    method: 'POST',
    url: '/v1/me/recovery-codes',
    headers: { host: 'palisade.internal:8470', cookie: 'palisade_session=x', ...headers },
  })

describe('the cross-origin check on state-changing requests', () => {
  it.each([
    ['a same-origin fetch (Sec-Fetch-Site)', { 'sec-fetch-site': 'same-origin' }],
    ['the public URL as Origin', { origin: 'https://palisade.example' }],
    ['the host it was sent to as Origin', { origin: 'http://palisade.internal:8470' }],
    ['a client that is not a browser (neither header)', {}],
    [
      'a bearer token without a session cookie',
      { authorization: 'Bearer pal_x', origin: 'https://elsewhere.example', cookie: 'theme=dark' },
    ],
  ])('lets through %s', async (_name, headers) => {
    const answer = await post(headers)
    expect(answer.statusCode).toBe(200)
  })

  it.each([
    ['a sibling host of the same site', { origin: 'https://evil.palisade.example' }],
    ['another site', { origin: 'https://elsewhere.example', 'sec-fetch-site': 'cross-site' }],
    ['an opaque origin (a sandboxed frame, a data: page)', { origin: 'null' }],
    ['a same-site request without Origin', { 'sec-fetch-site': 'same-site' }],
    ['another scheme of the public host', { origin: 'http://palisade.example' }],
    // The session routes read only the cookie, and the others fall back to it when the header
    // is empty: a header alone must not switch the check off while the cookie still signs in.
    ['an empty Authorization header beside the cookie', { authorization: '', origin: 'null' }],
    [
      'a bearer header beside the cookie',
      { authorization: 'Bearer pal_x', origin: 'https://evil.palisade.example' },
    ],
  ])('refuses %s with 403 PAL_CROSS_ORIGIN, before the route runs', async (_name, headers) => {
    const before = changes
    const answer = await post(headers)
    expect(answer.statusCode).toBe(403)
    expect(answer.json().error.code).toBe('PAL_CROSS_ORIGIN')
    expect(answer.json().error.message).toContain('https://palisade.example')
    expect(changes).toBe(before)
  })

  it('leaves reads alone, whatever their origin', async () => {
    const answer = await app.inject({
      method: 'GET',
      url: '/v1/me/factors',
      headers: { origin: 'https://elsewhere.example', 'sec-fetch-site': 'cross-site' },
    })
    expect(answer.statusCode).toBe(200)
  })
})
