import { describe, expect, it } from 'vitest'

import {
  datagramMessage,
  decodeUtf8Strict,
  FramingError,
  TcpFrameDecoder,
  type TcpFrames,
  type TcpItem,
} from '../../ingest/framing.ts'

const m1 = '<13>1 - host app - - - first message'
const m2 = '<13>1 - host app - - - second, with ünïcödé'

function octetFrame(message: string): string {
  return `${Buffer.byteLength(message)} ${message}`
}

/** What a chunk gives when it completes exactly these messages. */
function ok(...messages: string[]): TcpFrames {
  return { items: messages.map((message) => ({ message })) }
}

/** The messages among `items`; fails on any rejected one. */
function texts(items: TcpItem[]): string[] {
  return items.map((item) => {
    if ('error' in item) throw item.error
    return item.message
  })
}

/** The rejected items as code, message and bytes as text, for comparing. */
function rejected(item: TcpItem | undefined) {
  if (!item || !('error' in item)) throw new Error(`expected a rejected item, got ${String(item)}`)
  return { code: item.error.code, reason: item.error.message, bytes: item.bytes.toString() }
}

/** Feeds `bytes` cut at every given offset, collecting what the decoder emits. */
function feed(decoder: TcpFrameDecoder, bytes: Buffer, cuts: number[]): string[] {
  const out: string[] = []
  let from = 0
  for (const cut of [...cuts, bytes.length]) {
    const { items, fatal } = decoder.decode(bytes.subarray(from, cut))
    if (fatal) throw fatal
    out.push(...texts(items))
    from = cut
  }
  return [...out, ...texts(decoder.end())]
}

describe('TcpFrameDecoder with octet counting', () => {
  const stream = Buffer.from(octetFrame(m1) + octetFrame(m2))

  it('detects octet counting from a leading digit and splits messages', () => {
    const decoder = new TcpFrameDecoder()
    expect(decoder.decode(stream)).toEqual(ok(m1, m2))
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
    expect(new TcpFrameDecoder().decode(Buffer.from(octetFrame(message)))).toEqual(ok(message))
  })

  it('rejects a frame longer than the limit as soon as its length is read', () => {
    const decoder = new TcpFrameDecoder({ maxMessageBytes: 100 })
    const { fatal } = decoder.decode(Buffer.from('1000'))
    expect(fatal?.message).toBe(
      'syslog message of 1000 bytes or more exceeds the limit of 100 bytes',
    )
    expect(decoder.decode(Buffer.from(' x')).fatal).toBe(fatal)
  })

  it('rejects a length that is not digits followed by a space', () => {
    const { fatal } = new TcpFrameDecoder().decode(Buffer.from('12x <13>...'))
    expect(fatal).toBeInstanceOf(FramingError)
    expect(fatal?.code).toBe('PAL_BAD_FRAME')
    expect(fatal?.message).toBe(
      'expected an octet count (a non-zero number then a space) but got byte 0x78 after 2 digit(s)',
    )
    expect(new TcpFrameDecoder().decode(Buffer.from('5<13>')).fatal?.code).toBe('PAL_BAD_FRAME')
  })

  it('returns a frame cut short by the end of the connection, so nothing is dropped', () => {
    const decoder = new TcpFrameDecoder()
    expect(decoder.decode(Buffer.from(octetFrame(m1).slice(0, 12)))).toEqual(ok())
    expect(texts(decoder.end())).toEqual([m1.slice(0, 12 - `${m1.length} `.length)])
  })

  it('keeps the messages before a bad octet count in the same chunk, and hands back the bad bytes', () => {
    const decoder = new TcpFrameDecoder()
    const { items, fatal } = decoder.decode(
      Buffer.from(`${octetFrame(m1)}${octetFrame(m2)}12x <13>rest`),
    )
    expect(texts(items.slice(0, 2))).toEqual([m1, m2])
    expect(rejected(items[2])).toMatchObject({ code: 'PAL_BAD_FRAME', bytes: '12x <13>rest' })
    expect(items).toHaveLength(3)
    expect(fatal?.code).toBe('PAL_BAD_FRAME')
  })

  it('hands back the digits of a bad octet count that began in an earlier chunk', () => {
    const decoder = new TcpFrameDecoder()
    expect(decoder.decode(Buffer.from(`${octetFrame(m1)}4`))).toEqual(ok(m1))
    const { items } = decoder.decode(Buffer.from('2x junk'))
    expect(items.map(rejected)).toMatchObject([{ code: 'PAL_BAD_FRAME', bytes: '42x junk' }])
  })

  it('keeps the messages before a length over the limit in the same chunk', () => {
    const decoder = new TcpFrameDecoder({ maxMessageBytes: 100 })
    const { items, fatal } = decoder.decode(Buffer.from(`${octetFrame(m1)}1000 <13>big`))
    expect(texts(items.slice(0, 1))).toEqual([m1])
    expect(rejected(items[1])).toMatchObject({ code: 'PAL_FRAME_TOO_LARGE', bytes: '1000 <13>big' })
    expect(fatal?.code).toBe('PAL_FRAME_TOO_LARGE')
  })
})

describe('TcpFrameDecoder with non-transparent framing', () => {
  const stream = Buffer.from(`${m1}\r\n${m2}\n\n`)

  it('detects LF framing from a leading "<" and splits on LF, dropping CR and empty lines', () => {
    const decoder = new TcpFrameDecoder()
    expect(decoder.decode(stream)).toEqual(ok(m1, m2))
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
    expect(decoder.decode(Buffer.from(`${m1}\n${m2}`))).toEqual(ok(m1))
    expect(decoder.end()).toEqual([{ message: m2 }])
  })

  it('allows a message of exactly the limit followed by CR LF across chunks', () => {
    const decoder = new TcpFrameDecoder({ maxMessageBytes: 10 })
    expect(decoder.decode(Buffer.from('<13>567890\r'))).toEqual(ok())
    expect(decoder.decode(Buffer.from('\n'))).toEqual(ok('<13>567890'))
  })

  it('rejects an oversized line alone, keeping the lines before and after it and the connection', () => {
    const decoder = new TcpFrameDecoder({ maxMessageBytes: 10 })
    const { items, fatal } = decoder.decode(Buffer.from('<13>a\n<13>5678901234\n<13>b\n<13>c'))
    expect(fatal).toBeUndefined()
    expect(items).toHaveLength(3)
    expect(texts([items[0]!, items[2]!])).toEqual(['<13>a', '<13>b'])
    expect(rejected(items[1])).toEqual({
      code: 'PAL_FRAME_TOO_LARGE',
      reason:
        'syslog message of 14 bytes exceeds the limit of 10 bytes; its first 10 bytes are kept',
      bytes: '<13>567890',
    })
    expect(decoder.decode(Buffer.from('\n<13>d\n'))).toEqual(ok('<13>c', '<13>d'))
  })

  it('reports an oversized line over several chunks with its full length, keeping only the limit', () => {
    const decoder = new TcpFrameDecoder({ maxMessageBytes: 10 })
    expect(decoder.decode(Buffer.from('<13>abc'))).toEqual(ok())
    expect(decoder.decode(Buffer.from('defghijkl'))).toEqual(ok())
    const { items } = decoder.decode(Buffer.from('mnop\r\n<13>ok\r\n'))
    expect(rejected(items[0])).toEqual({
      code: 'PAL_FRAME_TOO_LARGE',
      reason:
        'syslog message of 20 bytes exceeds the limit of 10 bytes; its first 10 bytes are kept',
      bytes: '<13>abcdef',
    })
    expect(texts(items.slice(1))).toEqual(['<13>ok'])
  })

  it('rejects an oversized last line without its LF when the connection ends', () => {
    const decoder = new TcpFrameDecoder({ maxMessageBytes: 10 })
    expect(decoder.decode(Buffer.from('<13>a\n<13>56789012'))).toEqual(ok('<13>a'))
    expect(decoder.end().map(rejected)).toEqual([
      {
        code: 'PAL_FRAME_TOO_LARGE',
        reason:
          'syslog message of 12 bytes exceeds the limit of 10 bytes; its first 10 bytes are kept',
        bytes: '<13>567890',
      },
    ])
  })
})

describe('TcpFrameDecoder with a message that is not UTF-8', () => {
  const bad = Buffer.concat([Buffer.from('<13>bad '), Buffer.from([0xff, 0xfe]), Buffer.from(' x')])

  it('rejects it alone with its bytes and where it breaks, between the messages around it', () => {
    const lines = Buffer.concat([Buffer.from(`${m1}\n`), bad, Buffer.from(`\n${m2}\n`)])
    const octets = Buffer.concat([
      Buffer.from(`${octetFrame(m1)}${bad.length} `),
      bad,
      Buffer.from(octetFrame(m2)),
    ])
    for (const stream of [lines, octets]) {
      const { items, fatal } = new TcpFrameDecoder().decode(stream)
      expect(fatal).toBeUndefined()
      expect(items).toHaveLength(3)
      expect(texts([items[0]!, items[2]!])).toEqual([m1, m2])
      const item = items[1]!
      if (!('error' in item)) throw new Error('expected a rejected message')
      expect(item.error.code).toBe('PAL_INVALID_UTF8')
      expect(item.error.message).toBe('not UTF-8 at byte 8 of the message')
      expect(item.bytes).toEqual(bad)
    }
  })

  it('rejects a last line that is not UTF-8 when the connection ends', () => {
    const decoder = new TcpFrameDecoder()
    expect(decoder.decode(Buffer.from('<13>cut \xc3', 'latin1'))).toEqual(ok())
    expect(decoder.end().map(rejected)).toMatchObject([
      { code: 'PAL_INVALID_UTF8', reason: 'not UTF-8 at byte 8 of the message' },
    ])
  })
})

describe('decodeUtf8Strict', () => {
  const bytes = (...values: number[]) => Uint8Array.from(values)

  it('decodes well-formed UTF-8, keeping a byte order mark', () => {
    expect(decodeUtf8Strict(Buffer.from('ünïcödé 😀'))).toEqual({ text: 'ünïcödé 😀' })
    expect(decodeUtf8Strict(bytes(0xef, 0xbb, 0xbf, 0x41))).toEqual({ text: '\ufeffA' })
  })

  it('gives the offset of the first ill-formed sequence (Unicode Table 3-7 vectors)', () => {
    expect(decodeUtf8Strict(bytes(0x41, 0xff))).toEqual({ offset: 1 })
    expect(decodeUtf8Strict(bytes(0x41, 0xc3, 0x28))).toEqual({ offset: 1 })
    expect(decodeUtf8Strict(bytes(0xc0, 0xaf))).toEqual({ offset: 0 })
    expect(decodeUtf8Strict(bytes(0xe0, 0x80, 0xaf))).toEqual({ offset: 0 })
    expect(decodeUtf8Strict(bytes(0x41, 0xed, 0xa0, 0x80))).toEqual({ offset: 1 })
    expect(decodeUtf8Strict(bytes(0xf4, 0x90, 0x80, 0x80))).toEqual({ offset: 0 })
    expect(decodeUtf8Strict(bytes(0x41, 0x42, 0xe2, 0x82))).toEqual({ offset: 2 })
    expect(decodeUtf8Strict(bytes(0xc3, 0xa9, 0x80))).toEqual({ offset: 2 })
  })
})

describe('TcpFrameDecoder after the stream breaks', () => {
  it('returns each later chunk as unframed bytes with the same error, and nothing at the end', () => {
    const decoder = new TcpFrameDecoder()
    const { fatal } = decoder.decode(Buffer.from('5x'))
    expect(decoder.error).toBe(fatal)
    expect(decoder.decode(Buffer.from('more'))).toEqual({
      items: [{ error: fatal, bytes: Buffer.from('more') }],
      fatal,
    })
    expect(decoder.end()).toEqual([])
  })

  it('keeps the unframed bytes out of the error, so logging it logs no payload', () => {
    const { items, fatal } = new TcpFrameDecoder().decode(Buffer.from('12x secret-token'))
    expect(rejected(items[0]).bytes).toBe('12x secret-token')
    expect(JSON.stringify(fatal)).not.toContain('secret')
    expect(JSON.stringify({ ...fatal })).not.toContain('secret')
  })
})

describe('datagramMessage', () => {
  it('returns the datagram as one message without a trailing line break', () => {
    expect(datagramMessage(Buffer.from(`${m2}\r\n`))).toBe(m2)
    expect(datagramMessage(Buffer.from('<13>a\nb'))).toBe('<13>a\nb')
  })
})
