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
    const { messages, error } = decoder.decode(bytes.subarray(from, cut))
    if (error) throw error
    out.push(...messages)
    from = cut
  }
  return [...out, ...decoder.end()]
}

describe('TcpFrameDecoder with octet counting', () => {
  const stream = Buffer.from(octetFrame(m1) + octetFrame(m2))

  it('detects octet counting from a leading digit and splits messages', () => {
    const decoder = new TcpFrameDecoder()
    expect(decoder.decode(stream)).toEqual({ messages: [m1, m2] })
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
    expect(new TcpFrameDecoder().decode(Buffer.from(octetFrame(message))).messages).toEqual([
      message,
    ])
  })

  it('rejects a frame longer than the limit as soon as its length is read', () => {
    const decoder = new TcpFrameDecoder({ maxMessageBytes: 100 })
    const { error } = decoder.decode(Buffer.from('1000'))
    expect(error?.message).toBe(
      'syslog message of 1000 bytes or more exceeds the limit of 100 bytes',
    )
    expect(decoder.decode(Buffer.from(' x')).error).toBe(error)
  })

  it('rejects a length that is not digits followed by a space', () => {
    const { error } = new TcpFrameDecoder().decode(Buffer.from('12x <13>...'))
    expect(error).toBeInstanceOf(FramingError)
    expect(error?.code).toBe('PAL_BAD_FRAME')
    expect(error?.message).toBe(
      'expected an octet count (a non-zero number then a space) but got byte 0x78 after 2 digit(s)',
    )
    expect(new TcpFrameDecoder().decode(Buffer.from('5<13>')).error?.code).toBe('PAL_BAD_FRAME')
  })

  it('returns a frame cut short by the end of the connection, so nothing is dropped', () => {
    const decoder = new TcpFrameDecoder()
    expect(decoder.decode(Buffer.from(octetFrame(m1).slice(0, 12)))).toEqual({ messages: [] })
    expect(decoder.end()).toEqual([m1.slice(0, 12 - `${m1.length} `.length)])
  })

  it('keeps the messages before a bad octet count in the same chunk, and hands back the bad bytes', () => {
    const decoder = new TcpFrameDecoder()
    const result = decoder.decode(Buffer.from(`${octetFrame(m1)}${octetFrame(m2)}12x <13>rest`))
    expect(result.messages).toEqual([m1, m2])
    expect(result.error?.code).toBe('PAL_BAD_FRAME')
    expect(result.unframed?.toString()).toBe('12x <13>rest')
  })

  it('hands back the digits of a bad octet count that began in an earlier chunk', () => {
    const decoder = new TcpFrameDecoder()
    expect(decoder.decode(Buffer.from(`${octetFrame(m1)}4`))).toEqual({ messages: [m1] })
    const result = decoder.decode(Buffer.from('2x junk'))
    expect(result.messages).toEqual([])
    expect(result.unframed?.toString()).toBe('42x junk')
  })

  it('keeps the messages before a length over the limit in the same chunk', () => {
    const decoder = new TcpFrameDecoder({ maxMessageBytes: 100 })
    const result = decoder.decode(Buffer.from(`${octetFrame(m1)}1000 <13>big`))
    expect(result.messages).toEqual([m1])
    expect(result.error?.code).toBe('PAL_FRAME_TOO_LARGE')
    expect(result.unframed?.toString()).toBe('1000 <13>big')
  })
})

describe('TcpFrameDecoder with non-transparent framing', () => {
  const stream = Buffer.from(`${m1}\r\n${m2}\n\n`)

  it('detects LF framing from a leading "<" and splits on LF, dropping CR and empty lines', () => {
    const decoder = new TcpFrameDecoder()
    expect(decoder.decode(stream)).toEqual({ messages: [m1, m2] })
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
    expect(decoder.decode(Buffer.from(`${m1}\n${m2}`))).toEqual({ messages: [m1] })
    expect(decoder.end()).toEqual([m2])
  })

  it('rejects a message longer than the limit, even before its LF arrives', () => {
    const decoder = new TcpFrameDecoder({ maxMessageBytes: 10 })
    expect(decoder.decode(Buffer.from('<13>567890\n'))).toEqual({ messages: ['<13>567890'] })
    expect(decoder.decode(Buffer.from('<13>5678901234')).error?.message).toBe(
      'syslog message of 14 bytes or more exceeds the limit of 10 bytes',
    )
  })

  it('allows a message of exactly the limit followed by CR LF across chunks', () => {
    const decoder = new TcpFrameDecoder({ maxMessageBytes: 10 })
    expect(decoder.decode(Buffer.from('<13>567890\r'))).toEqual({ messages: [] })
    expect(decoder.decode(Buffer.from('\n'))).toEqual({ messages: ['<13>567890'] })
  })

  it('keeps the lines before an oversized line in the same chunk, and hands back the rest', () => {
    const decoder = new TcpFrameDecoder({ maxMessageBytes: 10 })
    const result = decoder.decode(Buffer.from('<13>a\n<13>b\n<13>5678901234\n<13>c'))
    expect(result.messages).toEqual(['<13>a', '<13>b'])
    expect(result.error?.code).toBe('PAL_FRAME_TOO_LARGE')
    expect(result.unframed?.toString()).toBe('<13>567890')
    expect(result.error?.context).toMatchObject({ unframedBytes: 20 })
  })

  it('hands back an oversized message gathered over several chunks, up to the limit', () => {
    const decoder = new TcpFrameDecoder({ maxMessageBytes: 10 })
    expect(decoder.decode(Buffer.from('<13>abc'))).toEqual({ messages: [] })
    const result = decoder.decode(Buffer.from('defghijkl'))
    expect(result.unframed?.toString()).toBe('<13>abcdef')
    expect(result.error?.context).toMatchObject({ unframedBytes: 16 })
  })
})

describe('TcpFrameDecoder after the stream breaks', () => {
  it('returns each later chunk as unframed bytes with the same error, and nothing at the end', () => {
    const decoder = new TcpFrameDecoder()
    const { error } = decoder.decode(Buffer.from('5x'))
    expect(decoder.error).toBe(error)
    expect(decoder.decode(Buffer.from('more'))).toEqual({
      messages: [],
      error,
      unframed: Buffer.from('more'),
    })
    expect(decoder.end()).toEqual([])
  })

  it('keeps the unframed bytes out of the error, so logging it logs no payload', () => {
    const { error, unframed } = new TcpFrameDecoder().decode(Buffer.from('12x secret-token'))
    expect(unframed?.toString()).toBe('12x secret-token')
    expect(JSON.stringify(error)).not.toContain('secret')
    expect(JSON.stringify({ ...error })).not.toContain('secret')
  })
})

describe('datagramMessage', () => {
  it('returns the datagram as one message without a trailing line break', () => {
    expect(datagramMessage(Buffer.from(`${m2}\r\n`))).toBe(m2)
    expect(datagramMessage(Buffer.from('<13>a\nb'))).toBe('<13>a\nb')
  })
})
