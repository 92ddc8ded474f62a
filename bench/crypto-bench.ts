/**
 * `npm run bench:crypto`: sealed fields per second, sealing and opening, for 1 KiB and 64 KiB
 * values, next to bare AES-256-GCM (Web Crypto) encrypting and decrypting the same bytes in
 * the same run.
 *
 * - seal: `sealField` to an X25519 public key: a fresh ephemeral key pair, one X25519 agreement,
 *   the RFC 9180 key schedule (HKDF-SHA256), AES-256-GCM over the value's JSON text, base64url.
 * - open: `openSealedField`: envelope checks, base64url, one X25519 agreement, the key schedule,
 *   AES-256-GCM decryption and `JSON.parse`.
 * - bare AES-GCM: `crypto.subtle.encrypt`/`decrypt` with a key imported once and a fresh
 *   12-byte IV per call, on the same JSON text: the floor any sealing pays for the AEAD alone.
 *
 * Absolute rates drift on a shared machine; the ratios are what to compare. Flags: `--json`;
 * `--seconds S` per measurement (default 1).
 */
import { utf8 } from '../crypto/bytes.ts'
import { openSealedField, sealField } from '../crypto/sealed-field.ts'
import { generateSealingKeyPair, publicHalf } from '../crypto/sealing-key-pair.ts'
import { callsPerSecond, formatRate, formatTable, median, rateFlags } from './measure.ts'

const RUNS = 3
const SIZES = [1024, 64 * 1024]
const EVENT_ID = '0193a0f4-7c2e-7b4d-9a31-5f2d8e6c1a07'

/** A string whose JSON text is exactly `bytes` long: printable ASCII from a fixed pattern. */
function valueOf(bytes: number): string {
  let text = ''
  for (let i = 0; text.length < bytes - 2; i++) text += String.fromCharCode(97 + ((i * 7) % 26))
  return text
}

async function main(): Promise<void> {
  const { json, seconds } = rateFlags()
  const owner = await generateSealingKeyPair()
  const recipient = publicHalf(owner)
  const aesKey = await crypto.subtle.importKey(
    'raw',
    crypto.getRandomValues(new Uint8Array(32)),
    'AES-GCM',
    false,
    ['encrypt', 'decrypt'],
  )

  const results = []
  for (const size of SIZES) {
    const value = valueOf(size)
    const plaintext = utf8(JSON.stringify(value))
    if (plaintext.length !== size) throw new Error(`the value is ${plaintext.length} bytes`)
    const field = 'message'
    const sealed = await sealField({ recipient, eventId: EVENT_ID, field, value })
    if ((await openSealedField(sealed, EVENT_ID, owner)) !== value) {
      throw new Error('the sealed value did not open to itself; the bench measures nothing')
    }
    const iv = crypto.getRandomValues(new Uint8Array(12))
    const aesCt = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, aesKey, plaintext)

    const seal = () => sealField({ recipient, eventId: EVENT_ID, field, value })
    const open = () => openSealedField(sealed, EVENT_ID, owner)
    const encrypt = () =>
      crypto.subtle.encrypt(
        { name: 'AES-GCM', iv: crypto.getRandomValues(new Uint8Array(12)) },
        aesKey,
        plaintext,
      )
    const decrypt = () => crypto.subtle.decrypt({ name: 'AES-GCM', iv }, aesKey, aesCt)

    const runs = {
      seal: [] as number[],
      open: [] as number[],
      enc: [] as number[],
      dec: [] as number[],
    }
    for (let run = 0; run < RUNS; run++) {
      runs.enc.push(await callsPerSecond(seconds, encrypt))
      runs.seal.push(await callsPerSecond(seconds, seal))
      runs.dec.push(await callsPerSecond(seconds, decrypt))
      runs.open.push(await callsPerSecond(seconds, open))
    }
    const m = {
      seal: median(runs.seal),
      open: median(runs.open),
      enc: median(runs.enc),
      dec: median(runs.dec),
    }
    const envelopeBytes = JSON.stringify(sealed).length
    results.push(
      { size, what: 'AES-256-GCM encrypt (bare)', rate: m.enc, ratio: 1 },
      { size, what: 'sealField (HPKE)', rate: m.seal, ratio: m.seal / m.enc, envelopeBytes },
      { size, what: 'AES-256-GCM decrypt (bare)', rate: m.dec, ratio: 1 },
      { size, what: 'openSealedField (HPKE)', rate: m.open, ratio: m.open / m.dec },
    )
  }

  if (json) {
    process.stdout.write(`${JSON.stringify({ runs: RUNS, seconds, results }, null, 2)}\n`)
    return
  }
  const rows = results.map((r) => [
    `${r.size / 1024} KiB`,
    r.what,
    formatRate(r.rate),
    `${((r.rate * r.size) / 2 ** 20).toFixed(1)}`,
    `${r.ratio.toFixed(2)}x`,
  ])
  process.stdout.write(
    `sealed fields per second, median of ${RUNS} runs of ${seconds}s, sequential, ` +
      `X25519 + HKDF-SHA256 + AES-256-GCM\n` +
      `${formatTable(['value', 'operation', 'per second', 'MiB/s', 'vs bare AES-GCM'], rows)}\n`,
  )
}

await main()
