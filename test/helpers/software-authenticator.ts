import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto'
import type { KeyObject } from 'node:crypto'

import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server'

type Cbor = number | string | Uint8Array | Cbor[] | Map<Cbor, Cbor>

/** CBOR (RFC 8949 §3) for what WebAuthn needs: integers, byte and text strings, arrays, maps. */
export function encodeCbor(value: Cbor): Buffer {
  const head = (major: number, n: number): Buffer => {
    if (n < 24) return Buffer.from([(major << 5) | n])
    if (n < 0x100) return Buffer.from([(major << 5) | 24, n])
    if (n < 0x10000) return Buffer.from([(major << 5) | 25, n >> 8, n & 0xff])
    const b = Buffer.alloc(5)
    b[0] = (major << 5) | 26
    b.writeUInt32BE(n, 1)
    return b
  }
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value)
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8')
    return Buffer.concat([head(3, bytes.length), bytes])
  }
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), value])
  if (Array.isArray(value)) return Buffer.concat([head(4, value.length), ...value.map(encodeCbor)])
  const parts = [head(5, value.size)]
  for (const [k, v] of value) parts.push(encodeCbor(k), encodeCbor(v))
  return Buffer.concat(parts)
}

const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest()
const b64u = (data: Uint8Array) => Buffer.from(data).toString('base64url')

interface Credential {
  id: Buffer
  privateKey: KeyObject
  cose: Buffer
  counter: number
}

/** What a test may change about what the authenticator or the browser would send. */
export interface CeremonyOverrides {
  origin?: string
  rpId?: string
  challenge?: string
  type?: string
  userVerified?: boolean
  /** The sign counter to report instead of the next one. */
  counter?: number
}

/**
 * A WebAuthn authenticator in software, ES256 on P-256 from Node's crypto, with the browser's
 * part (clientDataJSON) as well: it answers the server's real options with the bytes a
 * security key and a browser would produce (WebAuthn Level 3 §6.1 authenticator data, §6.5
 * attestation object with fmt "none", §6.3.3 assertion signatures), so the server's
 * verification runs on real responses.
 */
export class SoftwareAuthenticator {
  readonly origin: string
  readonly credentials: Credential[] = []

  constructor(origin: string) {
    this.origin = origin
  }

  /** `navigator.credentials.create()` with these options. */
  create(
    options: PublicKeyCredentialCreationOptionsJSON,
    overrides: CeremonyOverrides = {},
  ): RegistrationResponseJSON {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const jwk = publicKey.export({ format: 'jwk' })
    // COSE_Key (RFC 9053 §7.1.1): kty EC2 (2), alg ES256 (-7), crv P-256 (1), x, y.
    const cose = encodeCbor(
      new Map<Cbor, Cbor>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(jwk.x!, 'base64url')],
        [-3, Buffer.from(jwk.y!, 'base64url')],
      ]),
    )
    const credential: Credential = { id: randomBytes(32), privateKey, cose, counter: 0 }
    const clientData = this.#clientData('webauthn.create', options.challenge, overrides)
    const idLength = Buffer.alloc(2)
    idLength.writeUInt16BE(credential.id.length)
    const attested = Buffer.concat([Buffer.alloc(16), idLength, credential.id, cose])
    const authData = this.#authData(options.rp.id ?? '', 0x40, 0, overrides, attested)
    const attestationObject = encodeCbor(
      new Map<Cbor, Cbor>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', authData],
      ]),
    )
    this.credentials.push(credential)
    return {
      id: b64u(credential.id),
      rawId: b64u(credential.id),
      type: 'public-key',
      response: {
        clientDataJSON: b64u(clientData),
        attestationObject: b64u(attestationObject),
        transports: ['usb'],
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'cross-platform',
    }
  }

  /** `navigator.credentials.get()` with these options, signed by the first allowed key. */
  get(
    options: PublicKeyCredentialRequestOptionsJSON,
    overrides: CeremonyOverrides = {},
  ): AuthenticationResponseJSON {
    const allowed = new Set((options.allowCredentials ?? []).map((c) => c.id))
    const credential = this.credentials.find((c) => allowed.has(b64u(c.id)))
    if (!credential) throw new Error('no credential of this authenticator is allowed')
    credential.counter += 1
    const counter = overrides.counter ?? credential.counter
    const clientData = this.#clientData('webauthn.get', options.challenge, overrides)
    const authData = this.#authData(options.rpId ?? '', 0, counter, overrides)
    const signature = sign(
      'sha256',
      Buffer.concat([authData, sha256(clientData)]),
      credential.privateKey,
    )
    return {
      id: b64u(credential.id),
      rawId: b64u(credential.id),
      type: 'public-key',
      response: {
        clientDataJSON: b64u(clientData),
        authenticatorData: b64u(authData),
        signature: b64u(signature),
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'cross-platform',
    }
  }

  #clientData(type: string, challenge: string, overrides: CeremonyOverrides): Buffer {
    return Buffer.from(
      JSON.stringify({
        type: overrides.type ?? type,
        challenge: overrides.challenge ?? challenge,
        origin: overrides.origin ?? this.origin,
        crossOrigin: false,
      }),
    )
  }

  /** rpIdHash ‖ flags (UP, UV unless told, plus `extra`) ‖ signCount ‖ attested data. */
  #authData(
    rpId: string,
    extra: number,
    counter: number,
    overrides: CeremonyOverrides,
    attested: Buffer = Buffer.alloc(0),
  ): Buffer {
    const flags = 0x01 | (overrides.userVerified === false ? 0 : 0x04) | extra
    const count = Buffer.alloc(4)
    count.writeUInt32BE(counter)
    return Buffer.concat([sha256(overrides.rpId ?? rpId), Buffer.from([flags]), count, attested])
  }
}
