/**
 * Byte helpers shared inside `crypto/`, written against the ECMAScript and Web platform
 * (`TextEncoder`, `btoa`, `atob`) so they run alike in a browser and in Node, where `Buffer`
 * would not exist in the former.
 */

const encoder = new TextEncoder()
const strictDecoder = new TextDecoder('utf-8', { fatal: true })

export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text)
}

/** The text of UTF-8 bytes; throws a `TypeError` on bytes that are not UTF-8. */
export function fromUtf8(bytes: Uint8Array): string {
  return strictDecoder.decode(bytes)
}

const ALPHABET = utf8('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_')
const latin1 = new TextDecoder('latin1')

/**
 * base64url without padding (RFC 4648 §5), as JOSE writes binary values. Written from the
 * alphabet into bytes and decoded once: `btoa` over a binary string cost several times more on
 * 64 KiB values, enough to halve the sealing rate.
 */
export function toBase64Url(bytes: Uint8Array): string {
  const out = new Uint8Array(Math.ceil((bytes.length * 4) / 3))
  let o = 0
  let i = 0
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out[o++] = ALPHABET[n >>> 18]!
    out[o++] = ALPHABET[(n >>> 12) & 63]!
    out[o++] = ALPHABET[(n >>> 6) & 63]!
    out[o++] = ALPHABET[n & 63]!
  }
  if (i < bytes.length) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8)
    out[o++] = ALPHABET[n >>> 18]!
    out[o++] = ALPHABET[(n >>> 12) & 63]!
    if (i + 1 < bytes.length) out[o++] = ALPHABET[(n >>> 6) & 63]!
  }
  return latin1.decode(out.subarray(0, o))
}

const BASE64URL = /^[A-Za-z0-9_-]*$/

/** Whether `text` is unpadded base64url that decodes to whole bytes. */
export function isBase64Url(text: string): boolean {
  return BASE64URL.test(text) && text.length % 4 !== 1
}

/** Bytes of unpadded base64url; throws a `TypeError` naming what was wrong. */
export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  if (!isBase64Url(text)) {
    throw new TypeError('expected unpadded base64url (A-Z a-z 0-9 - _)')
  }
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'))
  const out = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i)
  return out
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

/** A 2-byte big-endian integer, as RFC 9180 §4 writes I2OSP(n, 2). */
export function u16(n: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array([(n >>> 8) & 0xff, n & 0xff])
}

/**
 * `bytes` preceded by their length as 4 bytes big-endian. Concatenating length-prefixed
 * values keeps the encoding unambiguous, so no two different tuples give the same bytes
 * (the same reason RFC 9180 §4 fixes the lengths in its labelled inputs).
 */
export function lengthPrefixed(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const n = bytes.length
  return concatBytes(
    new Uint8Array([(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]),
    bytes,
  )
}

/** Cryptographically random bytes from Web Crypto. */
export function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(length))
}

/** Equal without returning early, for comparing key ids and tags. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}

/** Web Crypto's key type, named through the global `crypto` so Node and DOM typings agree. */
export type WebCryptoKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>
