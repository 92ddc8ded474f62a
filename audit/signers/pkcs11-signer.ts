import { createHash, randomBytes } from 'node:crypto'
import type { KeyObject } from 'node:crypto'

import type { Logger } from '../../platform/logger.ts'
import type { CheckpointSigner, SignatureAlgorithm } from './checkpoint-signer.ts'
import { HsmError } from './hsm-error.ts'
import { Pkcs11Module, ckrOf, messageOf } from './pkcs11-module.ts'
import { ecParams, ecParamsMatch, publicKeyFromPoint, spkiFingerprint } from './public-key.ts'
import { unwrapEcPoint } from './public-key.ts'
import { verifySignature } from './verify-signature.ts'

export interface Pkcs11SignerOptions {
  /** The vendor's PKCS#11 library, e.g. Debian SoftHSM2's `/usr/lib/softhsm/libsofthsm2.so`. */
  modulePath: string
  /** The token's label (CKA_LABEL of the token): slot ids change when tokens are initialised. */
  tokenLabel: string
  /** The user PIN. Kept in this object only; never logged, never in an error. */
  pin: string
  /** CKA_LABEL of the key pair. */
  keyLabel: string
  /** CKA_ID of the key pair, when the label alone is not how the token names it. */
  objectId?: Uint8Array
  algorithm: SignatureAlgorithm
  /**
   * Generate the key pair in the token when none has the label, at open only: a key that
   * vanishes later is an error, never silently replaced by a new one.
   */
  generate?: boolean
  /** The key's fingerprint as published; opening fails if the token's key is another. */
  expectedFingerprint?: string
  logger?: Logger
}

// PKCS#11 3.0 §2.3.1 and §2.3.14 (pkcs11t.h); pkcs11js 2.1 exports only the 2.40 constants.
const CKK_EC = 0x03
const CKK_EC_EDWARDS = 0x40
const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055
const CKM_EDDSA = 0x1057

const mechanisms: Record<SignatureAlgorithm, { keyType: number; generate: number; sign: number }> =
  {
    'ecdsa-p256-sha256': { keyType: CKK_EC, generate: 0x1040, sign: 0x1041 },
    ed25519: { keyType: CKK_EC_EDWARDS, generate: CKM_EC_EDWARDS_KEY_PAIR_GEN, sign: CKM_EDDSA },
  }

/** Return values after which the session (or the whole module) must be opened anew. */
const lostSessionCkrs = [
  'CKR_SESSION_HANDLE_INVALID',
  'CKR_SESSION_CLOSED',
  'CKR_DEVICE_REMOVED',
  'CKR_DEVICE_ERROR',
  'CKR_DEVICE_MEMORY',
  'CKR_TOKEN_NOT_PRESENT',
  'CKR_TOKEN_NOT_RECOGNIZED',
  'CKR_OBJECT_HANDLE_INVALID',
  'CKR_KEY_HANDLE_INVALID',
  'CKR_USER_NOT_LOGGED_IN',
  'CKR_CRYPTOKI_NOT_INITIALIZED',
  // SoftHSM2 answers this once its token directory has gone from under an open session.
  'CKR_GENERAL_ERROR',
  'CKR_FUNCTION_FAILED',
]

const refusedPinCkrs = [
  'CKR_PIN_INCORRECT',
  'CKR_PIN_INVALID',
  'CKR_PIN_LEN_RANGE',
  'CKR_PIN_EXPIRED',
  'CKR_PIN_LOCKED',
]

interface Connection {
  generation: number
  session: Buffer
  privateKey: Buffer
}

interface Opened {
  connection: Connection
  publicKey: KeyObject
  objectId: Buffer
  /** True when this connect made the key pair in the token. */
  generated: boolean
}

/**
 * Signs checkpoints with a key generated in an HSM and never leaving it, through the token's
 * PKCS#11 module (pkcs11js). ECDSA P-256: the token signs a SHA-256 digest computed here
 * (CKM_ECDSA) and returns r‖s; Ed25519: the token signs the message (CKM_EDDSA).
 *
 * When the token goes away, `sign` fails with a retriable HsmError, and the next call
 * re-initialises the module, finds the token by label, logs in and finds the same key (by
 * fingerprint) again, so signing resumes when the token is back. A refused PIN is never tried
 * a second time (tokens lock after a few): the signer stays refused until it is replaced.
 *
 * There is no fallback inside: this object signs with its one token key or throws.
 *
 * @example
 * const signer = await Pkcs11Signer.open({
 *   modulePath: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'palisade', pin,
 *   keyLabel: 'audit-checkpoint', algorithm: 'ecdsa-p256-sha256', generate: true,
 * })
 */
export class Pkcs11Signer implements CheckpointSigner {
  readonly kind = 'hsm' as const
  readonly keyId: string
  readonly algorithm: SignatureAlgorithm
  /**
   * True when `open` generated the key pair in the token (`generate` was set and no key had
   * the label), so the caller can audit the key's creation; false when it found the key.
   */
  readonly generated: boolean
  readonly #module: Pkcs11Module
  readonly #options: Pkcs11SignerOptions
  readonly #publicKey: KeyObject
  readonly #publicKeyPem: string
  readonly #fingerprint: string
  #connection: Connection | undefined
  #reinitialise = false
  #refused: HsmError | undefined
  #closed = false

  private constructor(module: Pkcs11Module, options: Pkcs11SignerOptions, opened: Opened) {
    this.#module = module
    this.#options = options
    this.algorithm = options.algorithm
    this.generated = opened.generated
    this.#connection = opened.connection
    this.#publicKey = opened.publicKey
    this.#publicKeyPem = opened.publicKey.export({ type: 'spki', format: 'pem' }).toString()
    this.#fingerprint = spkiFingerprint(opened.publicKey)
    this.keyId = pkcs11Uri(options.tokenLabel, options.keyLabel, opened.objectId)
    Object.freeze(this)
  }

  /**
   * Opens the token and finds (or, with `generate`, creates) the key.
   *
   * @throws {HsmError} PAL_HSM_MODULE_MISSING, PAL_HSM_TOKEN_MISSING, PAL_HSM_PIN_INCORRECT,
   *   PAL_HSM_KEY_MISSING, PAL_HSM_KEY_MISMATCH, PAL_HSM_KEY_UNPROTECTED,
   *   PAL_HSM_MECHANISM_UNSUPPORTED and the others of `HsmErrorCode`.
   */
  static async open(options: Pkcs11SignerOptions): Promise<Pkcs11Signer> {
    const module = await Pkcs11Module.acquire(options.modulePath)
    try {
      const opened = await module.run(async () => {
        try {
          return connect(module, options, undefined)
        } catch (error) {
          if (!(error instanceof HsmError) || error.code !== 'PAL_HSM_TOKEN_MISSING') throw error
          // Modules list the tokens present at C_Initialize (SoftHSM2 does): one inserted
          // since then shows only after a re-initialisation. Other signers sharing the module
          // lose their sessions and reopen them on their next call, without an error.
          module.reinitialise()
          return connect(module, options, undefined)
        }
      })
      const fingerprint = spkiFingerprint(opened.publicKey)
      const expected = options.expectedFingerprint?.toLowerCase()
      if (expected !== undefined && expected !== fingerprint) {
        closeQuietly(module, opened.connection)
        throw new HsmError(
          'PAL_HSM_KEY_MISMATCH',
          `expected key "${options.keyLabel}" on token "${options.tokenLabel}" to have ` +
            `fingerprint ${expected}, it has ${fingerprint}`,
          { context: describe(options) },
        )
      }
      return new Pkcs11Signer(module, options, opened)
    } catch (error) {
      module.release()
      throw error
    }
  }

  publicKeyPem(): string {
    return this.#publicKeyPem
  }

  fingerprint(): string {
    return this.#fingerprint
  }

  async sign(message: Uint8Array): Promise<Uint8Array> {
    const bytes = Buffer.from(message)
    return this.#module.run(async () => {
      const reopened = this.#ensureConnected()
      try {
        return await this.#signOnce(bytes)
      } catch (error) {
        const failure = this.#lose(error, 'C_Sign')
        // A session that was fine until now may only have been reset (an HSM restart, a
        // network blip): one reopen in the same call. A fresh one that fails is the token.
        if (reopened || failure.code !== 'PAL_HSM_SESSION_LOST') throw failure
        this.#ensureConnected()
        try {
          return await this.#signOnce(bytes)
        } catch (again) {
          throw this.#lose(again, 'C_Sign')
        }
      }
    })
  }

  async close(): Promise<void> {
    await this.#module.run(async () => {
      if (this.#closed) return
      this.#closed = true
      if (this.#connection) closeQuietly(this.#module, this.#connection)
      this.#connection = undefined
      this.#module.release()
    })
  }

  /** Opens a session when there is none usable; says whether it did. */
  #ensureConnected(): boolean {
    if (this.#closed) {
      throw new HsmError('PAL_HSM_CLOSED', `expected an open signer, ${this.keyId} is closed`, {
        context: describe(this.#options),
      })
    }
    if (this.#refused) throw this.#refused
    if (this.#connection?.generation === this.#module.generation) return false

    this.#connection = undefined
    if (this.#reinitialise) this.#module.reinitialise()
    try {
      const opened = connect(this.#module, this.#options, this.#fingerprint)
      this.#connection = opened.connection
      this.#reinitialise = false
      this.#options.logger?.info(describe(this.#options), 'HSM session reopened')
      return true
    } catch (error) {
      if (error instanceof HsmError && error.code === 'PAL_HSM_PIN_INCORRECT') this.#refused = error
      else this.#reinitialise = true
      throw error
    }
  }

  async #signOnce(message: Buffer): Promise<Buffer> {
    const { api } = this.#module
    const { session, privateKey } = this.#connection!
    const { sign } = mechanisms[this.algorithm]
    const input = this.algorithm === 'ed25519' ? message : sha256(message)
    api.C_SignInit(session, { mechanism: sign }, privateKey)
    const signature = await api.C_SignAsync(session, input, Buffer.alloc(64))

    // Check before release (a fault in the device must not publish a bad signature), and
    // because only the pinned public key may ever vouch for a checkpoint.
    if (!verifySignature(this.#publicKey, this.algorithm, message, signature)) {
      throw new HsmError(
        'PAL_HSM_SIGNATURE_INVALID',
        `expected a ${this.algorithm} signature that verifies with key ${this.#fingerprint}, ` +
          `token "${this.#options.tokenLabel}" returned ${signature.length} bytes that do not`,
        { context: describe(this.#options) },
      )
    }
    return signature
  }

  /** Maps a failure during signing and drops the session, so the next call opens one. */
  #lose(error: unknown, method: string): HsmError {
    const failure = error instanceof HsmError ? error : mapFailure(error, method, this.#options)
    if (failure.code === 'PAL_HSM_SESSION_LOST' || failure.code === 'PAL_HSM_FAILED') {
      if (this.#connection) closeQuietly(this.#module, this.#connection)
      this.#connection = undefined
      this.#reinitialise = true
      this.#options.logger?.warn(
        { ...describe(this.#options), code: failure.code, ckr: failure.context.ckr },
        'HSM session lost; reopening on the next call',
      )
    }
    return failure
  }
}

Object.freeze(Pkcs11Signer.prototype)

/**
 * Finds the token, logs in, finds or generates the key and reads its public half; with
 * `pinned`, the key must be the one with that fingerprint.
 */
function connect(
  module: Pkcs11Module,
  options: Pkcs11SignerOptions,
  pinned: string | undefined,
): Opened {
  const { api, constants: p } = module
  const mayGenerate = pinned === undefined && options.generate === true
  const step = <T>(method: string, call: () => T): T => {
    try {
      return call()
    } catch (error) {
      throw mapFailure(error, method, options)
    }
  }

  const slot = findSlot(module, options)

  const flags = p.CKF_SERIAL_SESSION | (mayGenerate ? p.CKF_RW_SESSION : 0)
  const session = step('C_OpenSession', () => api.C_OpenSession(slot, flags))
  const connection: Connection = { generation: module.generation, session, privateKey: session }
  try {
    login(module, session, options)

    let privateKey = findKey(module, session, p.CKO_PRIVATE_KEY, options, options.objectId)
    const generated = !privateKey && mayGenerate
    if (generated) privateKey = generateKey(module, slot, session, options)
    if (!privateKey) {
      throw new HsmError(
        'PAL_HSM_KEY_MISSING',
        `expected a private key labelled "${options.keyLabel}" on token ` +
          `"${options.tokenLabel}", found none` +
          (pinned ? ` (it was there when the signer opened, with fingerprint ${pinned})` : ''),
        { context: describe(options) },
      )
    }
    connection.privateKey = privateKey

    const objectId = checkPrivateKey(module, session, privateKey, options)
    const publicHandle = findKey(module, session, p.CKO_PUBLIC_KEY, options, objectId)
    if (!publicHandle) {
      throw new HsmError(
        'PAL_HSM_KEY_MISSING',
        `expected the public key object beside private key "${options.keyLabel}" on token ` +
          `"${options.tokenLabel}" (same CKA_ID), found none`,
        { context: describe(options) },
      )
    }
    const publicKey = readPublicKey(module, session, publicHandle, options)

    const fingerprint = spkiFingerprint(publicKey)
    if (pinned !== undefined && fingerprint !== pinned) {
      throw new HsmError(
        'PAL_HSM_KEY_MISMATCH',
        `expected key "${options.keyLabel}" on token "${options.tokenLabel}" to be the one ` +
          `this signer opened with (fingerprint ${pinned}), found ${fingerprint}: refusing ` +
          'to sign with another key',
        { context: describe(options) },
      )
    }
    return { connection, publicKey, objectId, generated }
  } catch (error) {
    closeQuietly(module, connection)
    throw error
  }
}

function findSlot(module: Pkcs11Module, options: Pkcs11SignerOptions): Buffer {
  const { api } = module
  let tokens: { slot: Buffer; label: string }[]
  try {
    tokens = api.C_GetSlotList(true).map((slot) => ({
      slot,
      label: api.C_GetTokenInfo(slot).label.trimEnd(),
    }))
  } catch (error) {
    throw mapFailure(error, 'C_GetSlotList', options)
  }

  const matching = tokens.filter((t) => t.label === options.tokenLabel)
  if (matching.length === 1) return matching[0]!.slot

  const labels = tokens.map((t) => JSON.stringify(t.label)).join(', ')
  if (matching.length > 1) {
    throw new HsmError(
      'PAL_HSM_TOKEN_AMBIGUOUS',
      `expected one token labelled "${options.tokenLabel}" in ${options.modulePath}, ` +
        `found ${matching.length}`,
      { context: describe(options) },
    )
  }
  throw new HsmError(
    'PAL_HSM_TOKEN_MISSING',
    `expected a token labelled "${options.tokenLabel}" in ${options.modulePath}, found ` +
      (tokens.length ? `only ${labels}` : 'no token present'),
    { context: describe(options) },
  )
}

function login(module: Pkcs11Module, session: Buffer, options: Pkcs11SignerOptions): void {
  const { api, constants: p } = module
  try {
    api.C_Login(session, p.CKU_USER, options.pin)
  } catch (error) {
    const ckr = ckrOf(error)
    // Login state is per application and token: another signer's session already did it.
    if (ckr === p.CKR_USER_ALREADY_LOGGED_IN) return

    const name = messageOf(error)
    if (refusedPinCkrs.includes(name)) {
      // No `cause`: nothing that travelled with the PIN goes into the error.
      throw new HsmError(
        'PAL_HSM_PIN_INCORRECT',
        `expected token "${options.tokenLabel}" to accept the configured user PIN, it ` +
          `answered ${name}; not trying again, since repeated attempts lock the token`,
        { context: { ...describe(options), ckr: name } },
      )
    }
    throw mapFailure(error, 'C_Login', options)
  }
}

function findKey(
  module: Pkcs11Module,
  session: Buffer,
  keyClass: number,
  options: Pkcs11SignerOptions,
  objectId: Uint8Array | undefined,
): Buffer | undefined {
  const { api, constants: p } = module
  const template = [
    { type: p.CKA_CLASS, value: keyClass },
    { type: p.CKA_LABEL, value: options.keyLabel },
    ...(objectId ? [{ type: p.CKA_ID, value: Buffer.from(objectId) }] : []),
  ]
  let found: Buffer[]
  try {
    api.C_FindObjectsInit(session, template)
    found = api.C_FindObjects(session, 2)
    api.C_FindObjectsFinal(session)
  } catch (error) {
    throw mapFailure(error, 'C_FindObjects', options)
  }

  if (found.length > 1) {
    const what = keyClass === p.CKO_PRIVATE_KEY ? 'private' : 'public'
    throw new HsmError(
      'PAL_HSM_KEY_AMBIGUOUS',
      `expected one ${what} key labelled "${options.keyLabel}" on token ` +
        `"${options.tokenLabel}", found several: give objectId (CKA_ID) too`,
      { context: describe(options) },
    )
  }
  return found[0]
}

function generateKey(
  module: Pkcs11Module,
  slot: Buffer,
  session: Buffer,
  options: Pkcs11SignerOptions,
): Buffer {
  const { api, constants: p } = module
  const { keyType, generate, sign } = mechanisms[options.algorithm]

  let offered: number[]
  try {
    offered = api.C_GetMechanismList(slot)
  } catch (error) {
    throw mapFailure(error, 'C_GetMechanismList', options)
  }
  const missing = [generate, sign].filter((m) => !offered.includes(m))
  if (missing.length > 0) {
    throw new HsmError(
      'PAL_HSM_MECHANISM_UNSUPPORTED',
      `expected token "${options.tokenLabel}" to offer ${options.algorithm} (mechanisms ` +
        `${[generate, sign].map(hex).join(', ')}), it lacks ${missing.map(hex).join(', ')}`,
      { context: describe(options) },
    )
  }

  const id = Buffer.from(options.objectId ?? randomBytes(16))
  const common = [
    { type: p.CKA_TOKEN, value: true },
    { type: p.CKA_KEY_TYPE, value: keyType },
    { type: p.CKA_LABEL, value: options.keyLabel },
    { type: p.CKA_ID, value: id },
  ]
  const publicTemplate = [
    ...common,
    { type: p.CKA_CLASS, value: p.CKO_PUBLIC_KEY },
    { type: p.CKA_PRIVATE, value: false },
    { type: p.CKA_VERIFY, value: true },
    { type: p.CKA_EC_PARAMS, value: ecParams[options.algorithm] },
  ]
  const privateTemplate = [
    ...common,
    { type: p.CKA_CLASS, value: p.CKO_PRIVATE_KEY },
    { type: p.CKA_PRIVATE, value: true },
    { type: p.CKA_SENSITIVE, value: true },
    { type: p.CKA_EXTRACTABLE, value: false },
    { type: p.CKA_SIGN, value: true },
  ]
  try {
    const pair = api.C_GenerateKeyPair(
      session,
      { mechanism: generate },
      publicTemplate,
      privateTemplate,
    )
    options.logger?.info(describe(options), 'generated the checkpoint key pair in the token')
    return pair.privateKey
  } catch (error) {
    throw mapFailure(error, 'C_GenerateKeyPair', options)
  }
}

/**
 * The private key must be the algorithm's, able to sign, and must never have left the token
 * in the clear (PKCS#11 v2.40 §4.9: CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE). Returns its
 * CKA_ID, which links it to its public key.
 */
function checkPrivateKey(
  module: Pkcs11Module,
  session: Buffer,
  key: Buffer,
  options: Pkcs11SignerOptions,
): Buffer {
  const { api, constants: p } = module
  let values: Buffer[]
  try {
    values = api
      .C_GetAttributeValue(session, key, [
        { type: p.CKA_KEY_TYPE },
        { type: p.CKA_EC_PARAMS },
        { type: p.CKA_ID },
        { type: p.CKA_SIGN },
        { type: p.CKA_SENSITIVE },
        { type: p.CKA_ALWAYS_SENSITIVE },
        { type: p.CKA_EXTRACTABLE },
        { type: p.CKA_NEVER_EXTRACTABLE },
      ])
      .map((a) => Buffer.from(a.value as Buffer))
  } catch (error) {
    throw mapFailure(error, 'C_GetAttributeValue', options)
  }
  const [keyType, params, id, canSign, sensitive, alwaysSensitive, extractable, neverExtractable] =
    values as [Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer]

  const expected = mechanisms[options.algorithm].keyType
  if (readUlong(keyType) !== expected || !ecParamsMatch(options.algorithm, params)) {
    throw new HsmError(
      'PAL_HSM_KEY_MISMATCH',
      `expected key "${options.keyLabel}" on token "${options.tokenLabel}" to be ` +
        `${options.algorithm} (key type ${hex(expected)}, ` +
        `curve ${ecParams[options.algorithm].toString('hex')}), ` +
        `found key type ${hex(readUlong(keyType))}, curve ${params.toString('hex')}`,
      { context: describe(options) },
    )
  }

  if (!isTrue(canSign)) {
    throw new HsmError(
      'PAL_HSM_KEY_MISMATCH',
      `expected key "${options.keyLabel}" on token "${options.tokenLabel}" to allow signing ` +
        '(CKA_SIGN), it does not',
      { context: describe(options) },
    )
  }

  const exposed = [
    !isTrue(sensitive) && 'CKA_SENSITIVE is false',
    !isTrue(alwaysSensitive) && 'CKA_ALWAYS_SENSITIVE is false',
    isTrue(extractable) && 'CKA_EXTRACTABLE is true',
    !isTrue(neverExtractable) && 'CKA_NEVER_EXTRACTABLE is false',
  ].filter((reason) => reason !== false)
  if (exposed.length > 0) {
    throw new HsmError(
      'PAL_HSM_KEY_UNPROTECTED',
      `expected key "${options.keyLabel}" on token "${options.tokenLabel}" never to have ` +
        `left the token, but ${exposed.join(', ')}`,
      { context: describe(options) },
    )
  }
  return id
}

function readPublicKey(
  module: Pkcs11Module,
  session: Buffer,
  key: Buffer,
  options: Pkcs11SignerOptions,
): KeyObject {
  const { api, constants: p } = module
  let point: Buffer
  try {
    const [attribute] = api.C_GetAttributeValue(session, key, [{ type: p.CKA_EC_POINT }])
    point = Buffer.from(attribute!.value as Buffer)
  } catch (error) {
    throw mapFailure(error, 'C_GetAttributeValue', options)
  }
  try {
    return publicKeyFromPoint(options.algorithm, unwrapEcPoint(options.algorithm, point))
  } catch (error) {
    throw new HsmError(
      'PAL_HSM_KEY_MISMATCH',
      `expected public key "${options.keyLabel}" on token "${options.tokenLabel}" to hold a ` +
        `${options.algorithm} point: ${messageOf(error)}`,
      { context: describe(options), cause: error },
    )
  }
}

/** A pkcs11js failure as an HsmError: a lost session, or another failure of the device. */
function mapFailure(error: unknown, method: string, options: Pkcs11SignerOptions): HsmError {
  if (error instanceof HsmError) return error
  const ckr = ckrOf(error) === undefined ? undefined : messageOf(error)
  const context = { ...describe(options), method, ...(ckr ? { ckr } : {}) }
  if (ckr !== undefined && lostSessionCkrs.includes(ckr)) {
    return new HsmError(
      'PAL_HSM_SESSION_LOST',
      `expected a working session with token "${options.tokenLabel}", ${method} answered ` +
        `${ckr}: the token may be gone; the session is reopened on the next call`,
      { context, cause: error },
    )
  }
  return new HsmError(
    'PAL_HSM_FAILED',
    `expected ${method} on token "${options.tokenLabel}" to succeed, it failed: ` +
      messageOf(error),
    { context, cause: error },
  )
}

function closeQuietly(module: Pkcs11Module, connection: Connection): void {
  if (connection.generation !== module.generation) return
  try {
    module.api.C_CloseSession(connection.session)
  } catch {
    // The session is already gone with its token; there is nothing to close.
  }
}

/** What an error or a log line may say about the signer: never the PIN. */
function describe(options: Pkcs11SignerOptions): Record<string, unknown> {
  return { module: options.modulePath, token: options.tokenLabel, key: options.keyLabel }
}

/** RFC 7512 §2.3: the key's PKCS#11 URI. */
function pkcs11Uri(token: string, object: string, id: Buffer): string {
  const encodedId = [...id].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')
  const parts = [`token=${encodeURIComponent(token)}`, `object=${encodeURIComponent(object)}`]
  if (id.length > 0) parts.push(`id=${encodedId}`)
  return `pkcs11:${parts.join(';')};type=private`
}

function sha256(message: Buffer): Buffer {
  return createHash('sha256').update(message).digest()
}

/** A CK_ULONG as the module wrote it: native byte order, little-endian on x86-64 and arm64. */
function readUlong(value: Buffer): number {
  return value.length >= 8 ? Number(value.readBigUInt64LE(0)) : value.readUInt32LE(0)
}

/** A CK_BBOOL. */
function isTrue(value: Buffer): boolean {
  return value.length > 0 && value[0] !== 0
}

function hex(n: number): string {
  return `0x${n.toString(16)}`
}
