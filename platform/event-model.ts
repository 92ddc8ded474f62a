import { z } from 'zod'

import { SUPPORTED_SUITE_IDS } from '../crypto/cipher-suite.ts'

/**
 * The event model: Elastic Common Schema field names, nested (`event.category`, not
 * `"event.category"` as one key). This schema is the single source of truth; the types below
 * are inferred from it, and the ClickHouse table is kept in step with it by a test.
 *
 * Groups are loose: ECS has far more fields than we type here, and an emitter's extra fields
 * are kept (they land in the JSON column), never dropped.
 */

const str = z.string()
const strList = z.array(z.string())
const port = z.number().int().min(0).max(65535)

export const ecsEvent = z.looseObject({
  kind: z.enum(['alert', 'event', 'metric', 'state', 'pipeline_error', 'signal']).optional(),
  category: strList.optional(),
  type: strList.optional(),
  action: str.optional(),
  outcome: z.enum(['success', 'failure', 'unknown']).optional(),
  severity: z.number().int().optional(),
  dataset: str.optional(),
  provider: str.optional(),
  code: str.optional(),
  module: str.optional(),
  original: str.optional(),
  ingested: str.optional(),
})

export const ecsUser = z.looseObject({
  name: str.optional(),
  domain: str.optional(),
  id: str.optional(),
})

export const ecsEndpoint = z.looseObject({
  ip: str.optional(),
  port: port.optional(),
  address: str.optional(),
  domain: str.optional(),
})

export const ecsHost = z.looseObject({
  name: str.optional(),
  hostname: str.optional(),
  ip: z.union([str, strList]).optional(),
})

export const ecsProcess = z.looseObject({
  pid: z.number().int().optional(),
  name: str.optional(),
  executable: str.optional(),
  command_line: str.optional(),
  parent: z
    .looseObject({
      pid: z.number().int().optional(),
      executable: str.optional(),
      command_line: str.optional(),
    })
    .optional(),
})

/** Windows events keep their native EventData names, because Sigma's taxonomy uses them. */
export const winlog = z.looseObject({
  channel: str.optional(),
  computer_name: str.optional(),
  record_id: z.union([str, z.number()]).optional(),
  event_id: z.union([str, z.number()]).optional(),
  provider_name: str.optional(),
  provider_guid: str.optional(),
  task: z.union([str, z.number()]).optional(),
  opcode: z.union([str, z.number()]).optional(),
  level: z.union([str, z.number()]).optional(),
  keywords: z.union([str, strList]).optional(),
  user: z.looseObject({ identifier: str.optional() }).optional(),
  process: z
    .looseObject({ pid: z.number().optional(), thread: z.looseObject({}).optional() })
    .optional(),
  event_data: z.record(z.string(), z.unknown()).optional(),
  user_data: z.record(z.string(), z.unknown()).optional(),
})

export const logGroup = z.looseObject({
  syslog: z
    .looseObject({
      facility: z.looseObject({ code: z.number().int(), name: str.optional() }).optional(),
      severity: z.looseObject({ code: z.number().int(), name: str.optional() }).optional(),
      priority: z.number().int().optional(),
      hostname: str.optional(),
      appname: str.optional(),
      procid: str.optional(),
      msgid: str.optional(),
      version: str.optional(),
      structured_data: z.record(z.string(), z.record(z.string(), z.string())).optional(),
    })
    .optional(),
})

const base64url = z.string().regex(/^[A-Za-z0-9_-]+$/, 'unpadded base64url')
/** An RFC 9180 identifier of a kind (§7) that Palisade's clients can open; others are refused. */
function suiteId(kind: keyof typeof SUPPORTED_SUITE_IDS) {
  const ids = SUPPORTED_SUITE_IDS[kind]
  const list = ids.map((id) => `0x${id.toString(16).padStart(4, '0')}`).join(', ')
  return z
    .number()
    .int()
    .refine((id) => ids.includes(id), `expected a ${kind.toUpperCase()} identifier of ${list}`)
}

/**
 * A field sealed on the emitter to a data owner's public key (`crypto/sealed-field.ts`): HPKE
 * (RFC 9180) whose associated data binds it to the event's id and to `field`. Palisade checks
 * its shape, stores it as it came and never opens it; only a client holding the private key
 * can. `bi` is the emitter's blind index of the value, for equality search.
 */
export const sealedField = z.strictObject({
  v: z.literal(1),
  field: z
    .string()
    .min(1)
    .max(256)
    .regex(/^[^.]+(\.[^.]+)*$/, 'a dotted field path with no empty segment'),
  suite: z.strictObject({ kem: suiteId('kem'), kdf: suiteId('kdf'), aead: suiteId('aead') }),
  kid: base64url.max(128),
  enc: base64url.max(1024),
  ct: base64url,
  bi: base64url.max(128).optional(),
})

/** How many sealed fields one event may carry. */
export const MAX_SEALED_FIELDS = 64

/** RFC 3339 / ISO 8601 date-time with an offset or Z; stored as UTC milliseconds. */
const timestamp = z.iso.datetime({ offset: true, precision: undefined })

export const palisadeEvent = z.looseObject({
  /** UUIDv7 from the emitter, or a deterministic id derived from the record's identity. */
  id: z.uuid(),
  '@timestamp': timestamp,
  event: ecsEvent.optional(),
  message: str.optional(),
  user: ecsUser.optional(),
  source: ecsEndpoint.optional(),
  destination: ecsEndpoint.optional(),
  host: ecsHost.optional(),
  process: ecsProcess.optional(),
  file: z.looseObject({ path: str.optional(), name: str.optional() }).optional(),
  network: z.looseObject({ protocol: str.optional(), transport: str.optional() }).optional(),
  url: z.looseObject({ full: str.optional(), path: str.optional() }).optional(),
  winlog: winlog.optional(),
  log: logGroup.optional(),
  labels: z.record(z.string(), z.string()).optional(),
  tags: strList.optional(),
  /** Sealed fields, each naming its path: opaque here, opened only on clients. */
  sealed: z.array(sealedField).max(MAX_SEALED_FIELDS).optional(),
})

export type PalisadeEvent = z.infer<typeof palisadeEvent>

/** What an emitter may send: the same as a stored event, but the id may be left to us. */
export const incomingEvent = palisadeEvent.extend({ id: z.uuid().optional() })
export type IncomingEvent = z.infer<typeof incomingEvent>
