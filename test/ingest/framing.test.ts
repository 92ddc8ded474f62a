import { describe, expect, it } from 'vitest'

import { datagramMessage, FramingError, TcpFrameDecoder } from '../../ingest/framing.ts'

const m1 = '<13>1 - host app - - - first message'
const m2 = '<13>1 - host app - - - second, with ünïcödé'

function octetFrame(message: string): string {
  return `${Buffer.byteLength(message)} ${message}`
}

/** Feeds `bytes` cut at every given offset, collecting what the decoder emits. */
function feed(decoder: TcpFrameDecoder, bytes: Buffer, cuts: number[]): string[] {
  const out: string[] = []
  let from = 0
  for (const cut of [...cuts, bytes.length]) {
    out.push(...decoder.push(bytes.subarray(from, cut)))
    from = cut
  }
  return [...out, ...decoder.end()]
}

describe('TcpFrameDecoder with octet counting', () => {
  const stream = Buffer.from(octetFrame(m1) + octetFrame(m2))

  it('detects octet counting from a leading digit and splits messages', () => {
    const decoder = new TcpFrameDecoder()
    expect(decoder.push(stream)).toEqual([m1, m2])
    expect(decoder.framing).toBe('octet-counting')
  })

  it('gives the same messages however the bytes are cut into chunks', () => {
    for (let cut = 1; cut < stream.length; cut++) {
      expect(feed(new TcpFrameDecoder(), stream, [cut])).toEqual([m1, m2])
    }
    const everyByte = [...Array(stream.length).keys()].slice(1)
    expect(feed(new TcpFrameDecoder(), stream, everyByte)).toEqual([m1, m2])
  })

  it('counts bytes, not characters, and keeps newlines inside a message', () => {
    const message = '<13>1 - h a - - - two\nlines é'
    expect(new TcpFrameDecoder().push(Buffer.from(octetFrame(message)))).toEqual([message])
  })

  it('rejects a frame longer than the limit as soon as its length is read', () => {
    const decoder = new TcpFrameDecoder({ maxMessageBytes: 100 })
    expect(() => decoder.push(Buffer.from('1000'))).toThrow(
      'syslog message of 1000 bytes or more exceeds the limit of 100 bytes',
    )
    expect(() => decoder.push(Buffer.from(' x'))).toThrow(FramingError)
  })

  it('rejects a length that is not digits followed by a space', () => {
    const decoder = new TcpFrameDecoder()
    const call = () => decoder.push(Buffer.from('12x <13>...'))
    expect(call).toThrow(
      'expected an octet count (a non-zero number then a space) but got byte 0x78',
    )
    try {
      new TcpFrameDecoder().push(Buffer.from('5<13>'))
    } catch (error) {
      expect((error as FramingError).code).toBe('PAL_BAD_FRAME')
    }
  })

  it('returns a frame cut short by the end of the connection, so nothing is dropped', () => {
    const decoder = new TcpFrameDecoder()
    expect(decoder.push(Buffer.from(octetFrame(m1).slice(0, 12)))).toEqual([])
    expect(decoder.end()).toEqual([m1.slice(0, 12 - `${m1.length} `.length)])
  })
})

describe('TcpFrameDecoder with non-transparent framing', () => {
  const stream = Buffer.from(`${m1}\r\n${m2}\n\n`)

  it('detects LF framing from a leading "<" and splits on LF, dropping CR and empty lines', () => {
    const decoder = new TcpFrameDecoder()
    expect(decoder.push(stream)).toEqual([m1, m2])
    expect(decoder.framing).toBe('non-transparent')
  })

  it('gives the same messages however the bytes are cut into chunks', () => {
    for (let cut = 1; cut < stream.length; cut++) {
      expect(feed(new TcpFrameDecoder(), stream, [cut])).toEqual([m1, m2])
    }
    const everyByte = [...Array(stream.length).keys()].slice(1)
    expect(feed(new TcpFrameDecoder(), stream, everyByte)).toEqual([m1, m2])
  })

  it('returns a last message without its LF when the connection ends', () => {
    const decoder = new TcpFrameDecoder()
    expect(decoder.push(Buffer.from(`${m1}\n${m2}`))).toEqual([m1])
    expect(decoder.end()).toEqual([m2])
  })

  it('rejects a message longer than the limit, even before its LF arrives', () => {
    const decoder = new TcpFrameDecoder({ maxMessageBytes: 10 })
    expect(decoder.push(Buffer.from('<13>567890\n'))).toEqual(['<13>567890'])
    expect(() => decoder.push(Buffer.from('<13>5678901234'))).toThrow(
      'syslog message of 14 bytes or more exceeds the limit of 10 bytes',
    )
  })

  it('allows a message of exactly the limit followed by CR LF across chunks', () => {
    const decoder = new TcpFrameDecoder({ maxMessageBytes: 10 })
    expect(decoder.push(Buffer.from('<13>567890\r'))).toEqual([])
    expect(decoder.push(Buffer.from('\n'))).toEqual(['<13>567890'])
  })
})

describe('datagramMessage', () => {
  it('returns the datagram as one message without a trailing line break', () => {
    expect(datagramMessage(Buffer.from(`${m2}\r\n`))).toBe(m2)
    expect(datagramMessage(Buffer.from('<13>a\nb'))).toBe('<13>a\nb')
  })
})
