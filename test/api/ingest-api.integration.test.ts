import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { startTestEngine } from '../helpers/test-engine.ts'
import type { TestEngine } from '../helpers/test-engine.ts'

let palisade: TestEngine

beforeAll(async () => {
  palisade = await startTestEngine({ http: { bodyLimitBytes: 64 * 1024 } })
})

afterAll(async () => {
  await palisade?.close()
})

const event = (n: number, extra: Record<string, unknown> = {}) => ({
  '@timestamp': `2026-11-30T10:00:${String(n).padStart(2, '0')}.000Z`,
  event: { kind: 'event', dataset: 'test.app', action: 'login' },
  user: { name: `user${n}` },
  message: `test event ${n}`,
  ...extra,
})

describe('POST /v1/events', () => {
  it('stores a JSON array and answers 202 with a result per record', async () => {
    const res = await palisade.request('POST', '/v1/events', { body: [event(1), event(2)] })
    expect(res.status).toBe(202)
    expect(res.body.stored).toBe(2)
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(['stored', 'stored'])

    const id = res.body.results[0].id
    const one = await palisade.request('GET', `/v1/events/${id}`)
    expect(one.status).toBe(200)
    expect(one.body.user.name).toBe('user1')
  })

  it('keeps the valid records of a batch and dead-letters the invalid one with its reason', async () => {
    const body = [
      JSON.stringify(event(3)),
      '{"@timestamp": "not a time", "message": "bad"}',
      '{not json',
      JSON.stringify(event(4)),
    ].join('\n')
    const res = await palisade.request('POST', '/v1/events', {
      body,
      contentType: 'application/x-ndjson',
    })
    expect(res.status).toBe(202)
    expect(res.body.stored).toBe(2)
    expect(res.body.dead_lettered).toBe(2)
    const [, badTime, badJson] = res.body.results
    expect(badTime.status).toBe('dead_letter')
    expect(badTime.error.message).toMatch(/@timestamp/)
    expect(badJson.status).toBe('dead_letter')

    const letters = await palisade.request('GET', '/v1/dead-letters?limit=10')
    const raws = letters.body.items.map((l: { raw: string }) => l.raw)
    expect(raws).toContain('{not json')
    expect(raws).toContain('{"@timestamp": "not a time", "message": "bad"}')
  })

  it('keeps an emitter UUIDv7 id as it is', async () => {
    const id = '01936f0e-7a3b-7cc2-9a51-3f2d6c1e8b40'
    const res = await palisade.request('POST', '/v1/events', { body: [event(5, { id })] })
    expect(res.body.results[0].id).toBe(id)
    expect((await palisade.request('GET', `/v1/events/${id}`)).status).toBe(200)
  })

  it('keeps an event from years ago: retention counts from ingestion, not event time', async () => {
    const old = { ...event(12), '@timestamp': '2019-05-01T00:00:00Z', message: 'old forensic log' }
    const res = await palisade.request('POST', '/v1/events', { body: [old] })
    const stored = await palisade.request('GET', `/v1/events/${res.body.results[0].id}`)
    expect(stored.status).toBe(200)
    expect(stored.body['@timestamp']).toBe('2019-05-01T00:00:00.000Z')
  })

  it('creates no visible duplicate when the same batch is sent twice', async () => {
    const batch = [event(6, { message: 'resent batch' }), event(7, { message: 'resent batch' })]
    const first = await palisade.request('POST', '/v1/events', { body: batch })
    const second = await palisade.request('POST', '/v1/events', { body: batch })
    expect(first.body.stored).toBe(2)
    expect(second.body).toMatchObject({ stored: 0, duplicates: 2 })
    expect(second.body.results.map((r: { id: string }) => r.id)).toEqual(
      first.body.results.map((r: { id: string }) => r.id),
    )
    const found = await palisade.request('GET', '/v1/events?q=resent%20batch')
    expect(found.body.items).toHaveLength(2)
  })

  it('answers 400 for a body that cannot be framed and keeps it whole as a dead letter', async () => {
    const res = await palisade.request('POST', '/v1/events', { body: 'this is not json' })
    expect(res.status).toBe(400)
    expect(res.body.error.code).toBe('PAL_UNFRAMEABLE')
    expect(res.body.error.message).toMatch(/expected/)
    expect(res.body.error.dead_letter_id).toBeTruthy()
    const letters = await palisade.request('GET', '/v1/dead-letters?limit=50')
    const kept = letters.body.items.find(
      (l: { id: string }) => l.id === res.body.error.dead_letter_id,
    )
    expect(kept.raw).toBe('this is not json')
  })

  it('answers 401 without a token and for an unknown one', async () => {
    const none = await palisade.request('POST', '/v1/events', { body: [event(8)], token: null })
    expect(none.status).toBe(401)
    expect(none.body.error.message).toMatch(/Authorization: Bearer/)
    const unknown = await palisade.request('POST', '/v1/events', {
      body: [event(8)],
      token: 'pal_nope',
    })
    expect(unknown.status).toBe(401)
  })

  it('answers 403 for a token without the ingest scope', async () => {
    const made = await palisade.request('POST', '/v1/tokens', {
      body: { name: 'reader', scopes: ['read'] },
    })
    expect(made.status).toBe(201)
    const res = await palisade.request('POST', '/v1/events', {
      body: [event(9)],
      token: made.body.token,
    })
    expect(res.status).toBe(403)
    expect(res.body.error.message).toMatch(/"ingest" scope/)
    const read = await palisade.request('GET', '/v1/events?limit=1', { token: made.body.token })
    expect(read.status).toBe(200)
  })

  it('answers 413 for a body over the size limit', async () => {
    const big = JSON.stringify([event(10, { message: 'x'.repeat(70 * 1024) })])
    const res = await palisade.request('POST', '/v1/events', { body: big })
    expect(res.status).toBe(413)
    expect(res.body.error.message).toMatch(/at most 65536 bytes/)
  })

  it('answers 415 for an unknown content type', async () => {
    const res = await palisade.request('POST', '/v1/events', {
      body: '<event/>',
      contentType: 'application/xml',
    })
    expect(res.status).toBe(415)
    expect(res.body.error.message).toMatch(/application\/xml/)
  })

  it('answers 400 naming the parameter for an unknown format', async () => {
    const res = await palisade.request('POST', '/v1/events?format=xml', { body: [event(11)] })
    expect(res.status).toBe(400)
    expect(res.body.error.message).toMatch(/querystring\.format/)
  })
})

describe('records that used to sink their batch', () => {
  it('stores a batch whose events span more than a hundred days', async () => {
    const days = Array.from({ length: 150 }, (_, i) => ({
      '@timestamp': new Date(Date.UTC(2024, 0, 1) + i * 86_400_000).toISOString(),
      message: `day ${i}`,
    }))
    const res = await palisade.request('POST', '/v1/events', { body: days })
    expect(res.status).toBe(202)
    expect(res.body.stored).toBe(150)
  })

  it('stores a lone UTF-16 surrogate as U+FFFD instead of refusing the batch', async () => {
    const body = '[{"message":"lone \\ud800 surrogate"},{"message":"its neighbour"}]'
    const res = await palisade.request('POST', '/v1/events', { body })
    expect(res.status).toBe(202)
    expect(res.body.stored).toBe(2)
    const stored = await palisade.request('GET', `/v1/events/${res.body.results[0].id}`)
    expect(stored.body.message).toBe('lone \ufffd surrogate')
  })

  it('dead-letters only the record the store refuses, with the store reason', async () => {
    // A lone surrogate in a key survives to the store, which refuses that row alone.
    const body = '[{"message":"fine one"},{"\\udc00":1,"message":"refused"},{"message":"fine two"}]'
    const res = await palisade.request('POST', '/v1/events', { body })
    expect(res.status).toBe(202)
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual([
      'stored',
      'dead_letter',
      'stored',
    ])
    expect(res.body.results[1].error.code).toBe('PAL_STORE_REFUSED')
  })

  it('treats a resent event without @timestamp as a duplicate, not a new row', async () => {
    const body = [{ message: 'no time of its own', labels: { run: 'dup-check' } }]
    const first = await palisade.request('POST', '/v1/events', { body })
    await new Promise((resolve) => setTimeout(resolve, 20))
    const second = await palisade.request('POST', '/v1/events', { body })
    expect(first.body.stored).toBe(1)
    expect(second.body.duplicates).toBe(1)
    const found = await palisade.request('GET', '/v1/events?q=no%20time%20of%20its%20own')
    expect(found.body.items).toHaveLength(1)
  })

  it('keeps one row for an emitter id sent again with another time', async () => {
    const id = '01936f0e-7a3b-7cc2-9a51-3f2d6c1e8b41'
    await palisade.request('POST', '/v1/events', { body: [event(13, { id })] })
    const again = await palisade.request('POST', '/v1/events', {
      body: [{ ...event(14, { id }), message: 'same id, other time' }],
    })
    expect(again.body.duplicates).toBe(1)
  })

  it('refuses a charset other than UTF-8 with 415', async () => {
    const res = await palisade.request('POST', '/v1/events', {
      body: '[{"message":"caf\u00e9"}]',
      contentType: 'application/json; charset=latin1',
    })
    expect(res.status).toBe(415)
    expect(res.body.error.message).toMatch(/charset=latin1/)
  })

  it('keeps a body that is not UTF-8 whole as a base64 dead letter, naming the byte', async () => {
    const bytes = Buffer.concat([
      Buffer.from('[{"message":"caf'),
      Buffer.from([0xe9]),
      Buffer.from('"}]'),
    ])
    const response = await fetch(`${palisade.url}/v1/events`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${palisade.adminToken}`,
        'content-type': 'application/json',
      },
      body: bytes,
    })
    const answer = (await response.json()) as { error: { message: string; dead_letter_id: string } }
    expect(response.status).toBe(400)
    expect(answer.error.message).toMatch(/not UTF-8 at byte 16/)
    const letters = await palisade.request('GET', '/v1/dead-letters?limit=100')
    const kept = letters.body.items.find(
      (l: { id: string }) => l.id === answer.error.dead_letter_id,
    )
    expect(Buffer.from(kept.raw, 'base64').equals(bytes)).toBe(true)
  })

  it('does not echo an Authorization header that lacks the Bearer scheme', async () => {
    const res = await palisade.request('GET', '/v1/events', { token: null })
    const bare = await fetch(`${palisade.url}/v1/events`, {
      headers: { authorization: palisade.adminToken },
    })
    const text = await bare.text()
    expect(res.status).toBe(401)
    expect(bare.status).toBe(401)
    expect(text).not.toContain(palisade.adminToken)
  })
})

describe('reading events and dead letters', () => {
  it('pages through events with an opaque cursor and no repeats', async () => {
    const seen = new Set<string>()
    let cursor: string | null = null
    let pages = 0
    do {
      const query: string = `/v1/events?limit=2${cursor ? `&cursor=${cursor}` : ''}`
      const page = await palisade.request('GET', query)
      expect(page.status).toBe(200)
      for (const e of page.body.items) {
        expect(seen.has(e.id)).toBe(false)
        seen.add(e.id)
      }
      cursor = page.body.next_cursor
      pages++
    } while (cursor && pages < 50)
    expect(seen.size).toBeGreaterThanOrEqual(7)
  })

  it('filters events by time range', async () => {
    const res = await palisade.request(
      'GET',
      '/v1/events?from=2026-11-30T10:00:01Z&to=2026-11-30T10:00:03Z',
    )
    expect(res.body.items.map((e: { user: { name: string } }) => e.user.name).sort()).toEqual([
      'user1',
      'user2',
    ])
  })

  it('rejects a malformed time and a forged cursor with the parameter named', async () => {
    const time = await palisade.request('GET', '/v1/events?from=yesterday')
    expect(time.status).toBe(400)
    expect(time.body.error.message).toMatch(/querystring\.from: .*got "yesterday"/)
    const cursor = await palisade.request('GET', '/v1/events?cursor=garbage')
    expect(cursor.status).toBe(400)
    expect(cursor.body.error.message).toMatch(/cursor/)
    const forged = Buffer.from(JSON.stringify({ t: "' OR 1=1 --", id: 'x' })).toString('base64url')
    const injected = await palisade.request('GET', `/v1/alerts?cursor=${forged}`)
    expect(injected.status).toBe(400)
  })

  it('says so when from is not before to', async () => {
    const res = await palisade.request(
      'GET',
      '/v1/events?from=2026-11-30T11:00:00Z&to=2026-11-30T10:00:00Z',
    )
    expect(res.status).toBe(400)
    expect(res.body.error.message).toMatch(/expected from before to/)
  })

  it('answers 404 for an event that does not exist', async () => {
    const res = await palisade.request('GET', '/v1/events/0193a1b2-0000-7000-8000-000000000000')
    expect(res.status).toBe(404)
  })

  it('replays a bad NDJSON line as the one line it was, not as two events', async () => {
    const line = '{"message":"replay-line-one"}, {"message":"replay-line-two"}'
    const sent = await palisade.request('POST', '/v1/events', {
      body: line,
      contentType: 'application/x-ndjson',
    })
    const id = sent.body.results[0].dead_letter_id
    const res = await palisade.request('POST', '/v1/dead-letters/replay', { body: { ids: [id] } })
    expect(res.body.results[0]).toMatchObject({ id, status: 'failed_again' })
    expect(await palisade.request('GET', '/v1/events?q=replay-line-two')).toMatchObject({
      body: { items: [] },
    })
  })

  it('keeps the reason of a dead letter that was not UTF-8 when replayed', async () => {
    const response = await fetch(`${palisade.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${palisade.adminToken}`, 'content-type': 'text/plain' },
      body: Buffer.from([0x3c, 0x31, 0x33, 0x3e, 0xff, 0x0a]),
    })
    const id = ((await response.json()) as { error: { dead_letter_id: string } }).error
      .dead_letter_id
    const res = await palisade.request('POST', '/v1/dead-letters/replay', { body: { ids: [id] } })
    expect(res.body.results[0].reason).toMatch(/not UTF-8 at byte 4/)
  })

  it('replays the oldest pending dead letters when the request has no body', async () => {
    const res = await palisade.request('POST', '/v1/dead-letters/replay', {
      contentType: undefined,
    })
    expect(res.status).toBe(200)
    expect(res.body.results.length).toBeGreaterThan(0)
  })

  it('replays dead letters and marks the ones that fail again', async () => {
    const pending = await palisade.request('GET', '/v1/dead-letters?status=pending')
    const failed = await palisade.request('GET', '/v1/dead-letters?status=failed_again')
    const ids = [...pending.body.items, ...failed.body.items]
      .filter((l: { reason_code: string }) => l.reason_code !== 'PAL_STORE_REFUSED')
      .map((l: { id: string }) => l.id)
    expect(ids.length).toBeGreaterThan(0)
    // The same id twice is one replay, not a 404.
    const res = await palisade.request('POST', '/v1/dead-letters/replay', {
      body: { ids: [...ids, ids[0]] },
    })
    expect(res.status).toBe(200)
    expect(res.body.results).toHaveLength(ids.length)
    expect(res.body.failed_again).toBe(ids.length)
  })
})

describe('tokens', () => {
  it('refuses to revoke the last admin token, which would lock every admin out', async () => {
    const list = await palisade.request('GET', '/v1/tokens')
    const admins = list.body.items.filter((t: { scopes: string[] }) => t.scopes.includes('admin'))
    expect(admins).toHaveLength(1)
    const res = await palisade.request('DELETE', `/v1/tokens/${admins[0].id}`)
    expect(res.status).toBe(409)
    expect(res.body.error.code).toBe('PAL_LAST_ADMIN_TOKEN')
    expect((await palisade.request('GET', '/v1/tokens')).status).toBe(200)
  })
})

describe('operations endpoints', () => {
  it('answers health, readiness, metrics and the OpenAPI document', async () => {
    expect((await palisade.request('GET', '/healthz')).status).toBe(200)
    const ready = await palisade.request('GET', '/readyz')
    expect(ready.body.checks).toEqual({ clickhouse: 'ok', state: 'ok' })
    const metrics = await palisade.request('GET', '/metrics')
    expect(metrics.body).toMatch(/palisade_records_total\{source="http",outcome="stored"\}/)
    const docs = await palisade.request('GET', '/docs/json')
    expect(Object.keys(docs.body.paths)).toContain('/v1/events')
  })
})
