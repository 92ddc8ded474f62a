import { createSocket } from 'node:dgram'
import { connect } from 'node:net'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { startTestEngine } from '../../helpers/test-engine.ts'
import type { TestEngine } from '../../helpers/test-engine.ts'
import { waitFor } from '../../helpers/wait-for.ts'

let palisade: TestEngine

beforeAll(async () => {
  palisade = await startTestEngine({ syslog: { maxMessageBytes: 2048 } })
})

afterAll(async () => {
  await palisade?.close()
})

const line = (text: string) => `<34>1 2026-11-30T10:00:00Z host app 1 - - ${text}`
const frame = (message: string) => `${Buffer.byteLength(message)} ${message}`

async function sendTcp(payload: string): Promise<void> {
  const socket = connect(palisade.engine.syslog.tcpPort, '127.0.0.1')
  await new Promise<void>((resolve) => socket.once('connect', resolve))
  await new Promise<void>((resolve) => socket.end(payload, resolve))
  await new Promise<void>((resolve) => socket.once('close', () => resolve()))
}

async function sendUdp(payload: string | Buffer): Promise<void> {
  const socket = createSocket('udp4')
  await new Promise<void>((resolve, reject) =>
    socket.send(payload, palisade.engine.syslog.udpPort, '127.0.0.1', (e) =>
      e ? reject(e) : resolve(),
    ),
  )
  socket.close()
}

async function eventsMatching(text: string): Promise<unknown[]> {
  const res = await palisade.request('GET', `/v1/events?q=${encodeURIComponent(text)}`)
  return res.body.items
}

async function deadLettersMatching(text: string) {
  const res = await palisade.request('GET', '/v1/dead-letters?limit=1000')
  return res.body.items.filter((l: { raw: string }) => l.raw.includes(text))
}

describe('the syslog listeners', () => {
  it('keeps the frames before a broken octet count and dead-letters the bytes that broke it', async () => {
    const good = line('framed before the break')
    const broken = line('count too small')
    const after = line('framed after the break')
    await sendTcp(frame(good) + `${Buffer.byteLength(broken) - 5} ${broken}` + frame(after))

    await waitFor(
      () => eventsMatching('framed before the break'),
      (e) => e.length === 1,
      {
        what: 'the frame before the break stored',
      },
    )
    // The short count frames "…count too " as a message; what follows ("small", then the
    // next frame) no longer starts with a length, so from there the bytes are dead-lettered.
    const letters = await waitFor(
      () => deadLettersMatching('framed after the break'),
      (l) => l.length === 1,
      { what: 'the bytes after the break dead-lettered' },
    )
    expect(letters[0].raw).toMatch(/^small\d+ </)
    expect(letters[0].reason_code).toMatch(/^PAL_(BAD_FRAME|FRAME_TOO_LARGE)$/)
    expect(letters[0].source).toBe('syslog-tcp')
  })

  it('dead-letters a datagram over the size limit whole instead of cutting it', async () => {
    const big = line(`oversized ${'x'.repeat(3000)}`)
    await sendUdp(big)
    const letters = await waitFor(
      () => deadLettersMatching('oversized'),
      (l) => l.length === 1,
      { what: 'the oversized datagram dead-lettered' },
    )
    expect(letters[0].raw).toBe(big)
    expect(letters[0].reason).toMatch(/at most 2048 bytes, got 3\d{3}/)
  })

  it('keeps storing after a datagram whose reason would have split an emoji', async () => {
    await sendUdp(`<999>${'a'.repeat(53)}\u{1F600} x`)
    await sendUdp(line('still listening after the poison'))
    await waitFor(
      () => eventsMatching('still listening after the poison'),
      (e) => e.length === 1,
      { what: 'the datagram after the poison stored' },
    )
  })
})
