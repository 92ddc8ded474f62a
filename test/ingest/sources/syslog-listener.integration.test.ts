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

async function sendTcp(payload: string | Buffer): Promise<void> {
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

  it('dead-letters an oversized line cut at the limit and keeps the lines after it', async () => {
    const long = line(`long line ${'x'.repeat(3000)}`)
    await sendTcp(
      [line('line before the long one'), long, line('line after the long one')].join('\n'),
    )

    await waitFor(
      () => eventsMatching('line after the long one'),
      (e) => e.length === 1,
      { what: 'the line after the long one stored' },
    )
    expect(await eventsMatching('line before the long one')).toHaveLength(1)
    const letters = await waitFor(
      () => deadLettersMatching('long line xxx'),
      (l) => l.length === 1,
      { what: 'the long line dead-lettered' },
    )
    expect(letters[0].raw).toBe(long.slice(0, 2048))
    expect(letters[0].reason_code).toBe('PAL_FRAME_TOO_LARGE')
    expect(letters[0].reason).toBe(
      `syslog message of ${long.length} bytes exceeds the limit of 2048 bytes; its first 2048 bytes are kept`,
    )
  })

  it('dead-letters a TCP message that is not UTF-8 base64-encoded and keeps the lines around it', async () => {
    const bad = Buffer.concat([Buffer.from(line('latin-1 line caf')), Buffer.from([0xe9])])
    await sendTcp(
      Buffer.concat([
        Buffer.from(`${line('line before latin-1')}\n`),
        bad,
        Buffer.from(`\n${line('line after latin-1')}\n`),
      ]),
    )

    await waitFor(
      () => eventsMatching('line after latin-1'),
      (e) => e.length === 1,
      { what: 'the line after the latin-1 one stored' },
    )
    expect(await eventsMatching('line before latin-1')).toHaveLength(1)
    const letters = await waitFor(
      () => deadLettersMatching(bad.toString('base64')),
      (l) => l.length === 1,
      { what: 'the latin-1 line dead-lettered' },
    )
    expect(letters[0].raw).toBe(bad.toString('base64'))
    expect(letters[0].reason_code).toBe('PAL_INVALID_UTF8')
    expect(letters[0].reason).toBe(
      `not UTF-8 at byte ${bad.length - 1} of the message; the message is kept base64-encoded`,
    )
  })

  it('dead-letters a datagram that is not UTF-8 base64-encoded instead of replacing its bytes', async () => {
    const bad = Buffer.concat([Buffer.from(line('latin-1 datagram caf')), Buffer.from([0xe9])])
    await sendUdp(bad)
    const letters = await waitFor(
      () => deadLettersMatching(bad.toString('base64')),
      (l) => l.length === 1,
      { what: 'the latin-1 datagram dead-lettered' },
    )
    expect(letters[0].reason_code).toBe('PAL_INVALID_UTF8')
    expect(letters[0].source).toBe('syslog-udp')
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
