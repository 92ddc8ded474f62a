import { isIP } from 'node:net'

import { describeValue } from '../../platform/errors.ts'
import { windowsEventId } from '../../platform/event-id.ts'
import type { ParsedRecord, Parser } from '../parsed-record.ts'
import { splitConcatenatedJson, splitJsonArray } from './split-json.ts'
import { wellFormed } from '../../platform/well-formed.ts'

/**
 * Windows events exported from EVTX to JSON, the shape evtx_dump and Sigma's regression data
 * use: `{"Event": {"#attributes": {...}, "System": {...}, "EventData": {...}}}`. XML attributes
 * sit under `#attributes` (some converters write `@Name` instead; both are read), element text
 * under `#text`. A body holds one or more events written one after another (whitespace between
 * them optional, pretty-printed or not), or a JSON array of them.
 */

type Json = Record<string, unknown>

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** An XML attribute of a converted element, in either convention converters use. */
function attribute(node: unknown, name: string): unknown {
  if (!isObject(node)) return undefined
  const attrs = node['#attributes']
  if (isObject(attrs) && attrs[name] !== undefined) return attrs[name]
  return node[`@${name}`]
}

/** An element's text: the value itself, or its `#text` when the element has attributes. */
function text(node: unknown): unknown {
  return isObject(node) ? node['#text'] : node
}

function toInt(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined
  if (typeof value !== 'string') return undefined
  const s = value.trim()
  // Security events write process ids in hex ("0x1a2c"); Sysmon writes decimal.
  if (/^0x[0-9a-f]+$/i.test(s)) return Number.parseInt(s.slice(2), 16)
  if (/^\d+$/.test(s)) return Number(s)
  return undefined
}

function present(value: unknown): value is string | number | boolean {
  // Windows writes "-" for "no value" in many EventData fields (IpAddress, WorkstationName).
  return (typeof value === 'string' && value !== '' && value !== '-') || typeof value === 'number'
}

/**
 * EventData as a flat map of native field names to their values, as they came. Converters
 * that keep `<Data Name="X">v</Data>` as a `Data` list are folded into the same shape; unnamed
 * `Data` elements become `param1`, `param2`, ... (as Winlogbeat names them). The element's own
 * XML attributes are not fields and are dropped (the raw record keeps them).
 */
function eventDataFields(data: unknown): Json | undefined {
  if (data === null || data === undefined) return undefined
  if (!isObject(data)) return { param1: data }
  // The common shape (evtx_dump, Sigma's data): fields by name already; copy it as it is.
  let plain = true
  for (const key in data) {
    if (key === 'Data' || key === '#text' || key === '#attributes' || key.startsWith('@')) {
      plain = false
      break
    }
  }
  if (plain) return { ...data }

  const out: Json = {}
  let unnamed = 0
  const addData = (item: unknown): void => {
    const name = attribute(item, 'Name')
    if (typeof name === 'string') {
      out[name] = isObject(item) ? (item['#text'] ?? null) : item
      return
    }
    const value = text(item)
    for (const v of Array.isArray(value) ? value : [value]) out[`param${++unnamed}`] = v ?? null
  }

  for (const [key, value] of Object.entries(data)) {
    if (key === '#attributes' || key.startsWith('@')) continue
    if (key === 'Data') {
      for (const item of Array.isArray(value) ? value : [value]) addData(item)
    } else if (key === '#text') {
      addData(value)
    } else {
      out[key] = value
    }
  }
  return out
}

// ECS fields implied by common events, as data: `ecs path ← EventData field, converted`.
type Convert = 'text' | 'int' | 'ip' | 'port' | 'lower' | 'domainUser'
type FieldRule = readonly [to: string, from: string, as?: Convert]

interface EcsMapping {
  category: string[]
  type: string[]
  action: string
  outcome?: 'success' | 'failure'
  fields: readonly FieldRule[]
}

const SYSMON = 'Microsoft-Windows-Sysmon'
const SECURITY = 'Microsoft-Windows-Security-Auditing'

const sysmonProcess: readonly FieldRule[] = [
  ['process.executable', 'Image'],
  ['process.pid', 'ProcessId', 'int'],
  ['process.entity_id', 'ProcessGuid'],
  ['user', 'User', 'domainUser'],
]

const logonFields: readonly FieldRule[] = [
  ['user.name', 'TargetUserName'],
  ['user.domain', 'TargetDomainName'],
  ['user.id', 'TargetUserSid'],
  ['source.ip', 'IpAddress', 'ip'],
  ['source.port', 'IpPort', 'port'],
  ['source.domain', 'WorkstationName'],
]

/** Keyed by `provider:event id`. */
export const windowsEcsMappings: Readonly<Record<string, EcsMapping>> = {
  [`${SYSMON}:1`]: {
    category: ['process'],
    type: ['start'],
    action: 'process-created',
    fields: [
      ...sysmonProcess,
      ['process.command_line', 'CommandLine'],
      ['process.working_directory', 'CurrentDirectory'],
      ['process.parent.executable', 'ParentImage'],
      ['process.parent.command_line', 'ParentCommandLine'],
      ['process.parent.pid', 'ParentProcessId', 'int'],
      ['process.parent.entity_id', 'ParentProcessGuid'],
    ],
  },
  [`${SYSMON}:3`]: {
    category: ['network'],
    type: ['connection', 'start'],
    action: 'network-connection',
    fields: [
      ...sysmonProcess,
      ['source.ip', 'SourceIp', 'ip'],
      ['source.port', 'SourcePort', 'port'],
      ['source.domain', 'SourceHostname'],
      ['destination.ip', 'DestinationIp', 'ip'],
      ['destination.port', 'DestinationPort', 'port'],
      ['destination.domain', 'DestinationHostname'],
      ['network.transport', 'Protocol', 'lower'],
    ],
  },
  [`${SYSMON}:5`]: {
    category: ['process'],
    type: ['end'],
    action: 'process-terminated',
    fields: sysmonProcess,
  },
  [`${SYSMON}:7`]: {
    category: ['library'],
    type: ['start'],
    action: 'image-loaded',
    fields: [...sysmonProcess, ['dll.path', 'ImageLoaded']],
  },
  [`${SYSMON}:11`]: {
    category: ['file'],
    type: ['creation'],
    action: 'file-created',
    fields: [...sysmonProcess, ['file.path', 'TargetFilename']],
  },
  [`${SYSMON}:12`]: {
    category: ['registry'],
    type: ['change'],
    action: 'registry-object-added-or-deleted',
    fields: [...sysmonProcess, ['registry.path', 'TargetObject']],
  },
  [`${SYSMON}:13`]: {
    category: ['registry'],
    type: ['change'],
    action: 'registry-value-set',
    fields: [...sysmonProcess, ['registry.path', 'TargetObject']],
  },
  [`${SYSMON}:22`]: {
    category: ['network'],
    type: ['protocol', 'info'],
    action: 'dns-query',
    fields: [...sysmonProcess, ['dns.question.name', 'QueryName']],
  },
  [`${SYSMON}:23`]: {
    category: ['file'],
    type: ['deletion'],
    action: 'file-deleted',
    fields: [...sysmonProcess, ['file.path', 'TargetFilename']],
  },
  [`${SECURITY}:4688`]: {
    category: ['process'],
    type: ['start'],
    action: 'created-process',
    fields: [
      ['process.executable', 'NewProcessName'],
      ['process.command_line', 'CommandLine'],
      ['process.pid', 'NewProcessId', 'int'],
      ['process.parent.executable', 'ParentProcessName'],
      ['process.parent.pid', 'ProcessId', 'int'],
      ['user.name', 'SubjectUserName'],
      ['user.domain', 'SubjectDomainName'],
      ['user.id', 'SubjectUserSid'],
    ],
  },
  [`${SECURITY}:4624`]: {
    category: ['authentication'],
    type: ['start'],
    action: 'logged-in',
    outcome: 'success',
    fields: logonFields,
  },
  [`${SECURITY}:4625`]: {
    category: ['authentication'],
    type: ['start'],
    action: 'logon-failed',
    outcome: 'failure',
    fields: logonFields,
  },
  [`${SECURITY}:4634`]: {
    category: ['authentication'],
    type: ['end'],
    action: 'logged-out',
    fields: logonFields,
  },
}

// Paths in the mapping table are few and fixed: split each once, not per event.
const pathKeys = new Map<string, string[]>()

function keysOf(path: string): string[] {
  let keys = pathKeys.get(path)
  if (!keys) pathKeys.set(path, (keys = path.split('.')))
  return keys
}

function setPath(target: Json, path: string, value: unknown): void {
  const keys = keysOf(path)
  let node = target
  for (let i = 0; i < keys.length - 1; i++) {
    const next = node[keys[i]!]
    node = isObject(next) ? next : (node[keys[i]!] = {})
  }
  node[keys[keys.length - 1]!] = value
}

function getPath(target: Json, path: string): unknown {
  let node: unknown = target
  for (const key of keysOf(path)) node = isObject(node) ? node[key] : undefined
  return node
}

function applyRule(event: Json, data: Json, [to, from, as = 'text']: FieldRule): void {
  const value = data[from]
  if (!present(value)) return
  switch (as) {
    case 'text':
      return setPath(event, to, String(value))
    case 'lower':
      return setPath(event, to, String(value).toLowerCase())
    case 'int': {
      const n = toInt(value)
      if (n !== undefined) setPath(event, to, n)
      return
    }
    case 'port': {
      const n = toInt(value)
      if (n !== undefined && n > 0 && n <= 65535) setPath(event, to, n)
      return
    }
    case 'ip':
      if (isIP(String(value))) setPath(event, to, String(value))
      return
    case 'domainUser': {
      // Sysmon writes `User` as "DOMAIN\name" ("NT AUTHORITY\SYSTEM").
      const s = String(value)
      const slash = s.indexOf('\\')
      if (slash >= 0) setPath(event, `${to}.domain`, s.slice(0, slash))
      setPath(event, `${to}.name`, s.slice(slash + 1))
      return
    }
  }
}

function basename(path: unknown): string | undefined {
  if (typeof path !== 'string' || path === '') return undefined
  return path.slice(Math.max(path.lastIndexOf('\\'), path.lastIndexOf('/')) + 1) || undefined
}

function applyEcsMapping(event: Json, mapping: EcsMapping, data: Json): void {
  const ecs = event['event'] as Json
  ecs['category'] = [...mapping.category]
  ecs['type'] = [...mapping.type]
  ecs['action'] = mapping.action
  if (mapping.outcome) ecs['outcome'] = mapping.outcome
  for (const rule of mapping.fields) applyRule(event, data, rule)

  for (const prefix of ['process', 'process.parent']) {
    const name = basename(getPath(event, `${prefix}.executable`))
    if (name !== undefined) setPath(event, `${prefix}.name`, name)
  }
}

type Failure = { code: string; message: string; path?: string }

function missing(path: string, got: unknown): Failure {
  const message = `missing ${path}: expected it to identify the Windows event, got ${describeValue(got)}`
  return { code: 'PAL_MISSING_FIELD', message, path }
}

/** Maps one exported Windows event to an ECS-shaped event, or says what is missing. */
export function windowsEvent(value: unknown): { event: Json } | { error: Failure } {
  if (!isObject(value)) {
    return {
      error: {
        code: 'PAL_NOT_AN_OBJECT',
        message: `expected a JSON object, got ${describeValue(value)}`,
      },
    }
  }
  // Most exports wrap the event in "Event"; a few write System and EventData at the top.
  const prefix = isObject(value['Event']) ? 'Event' : ''
  const root = prefix ? (value['Event'] as Json) : value
  const at = (name: string): string => (prefix ? `${prefix}.${name}` : name)

  const system = root['System']
  if (!isObject(system)) return { error: missing(at('System'), system) }

  const eventId = toInt(text(system['EventID']))
  if (eventId === undefined) return { error: missing(at('System.EventID'), system['EventID']) }

  const channel = text(system['Channel'])
  if (typeof channel !== 'string' || channel === '') {
    return { error: missing(at('System.Channel'), system['Channel']) }
  }

  const computer = text(system['Computer'])
  if (typeof computer !== 'string' || computer === '') {
    return { error: missing(at('System.Computer'), system['Computer']) }
  }

  const recordId = text(system['EventRecordID'])
  if (toInt(recordId) === undefined) {
    return { error: missing(at('System.EventRecordID'), system['EventRecordID']) }
  }

  const provider = attribute(system['Provider'], 'Name')
  const winlog: Json = {
    channel,
    computer_name: computer,
    record_id: recordId as string | number,
    event_id: eventId,
  }
  if (typeof provider === 'string') winlog['provider_name'] = provider
  const guid = attribute(system['Provider'], 'Guid')
  if (typeof guid === 'string') winlog['provider_guid'] = guid
  for (const [from, to] of [
    ['Version', 'version'],
    ['Task', 'task'],
    ['Opcode', 'opcode'],
    ['Level', 'level'],
    ['Keywords', 'keywords'],
  ] as const) {
    const v = text(system[from])
    if (typeof v === 'string' || typeof v === 'number') winlog[to] = v
  }
  const pid = toInt(attribute(system['Execution'], 'ProcessID'))
  const thread = toInt(attribute(system['Execution'], 'ThreadID'))
  if (pid !== undefined || thread !== undefined) {
    winlog['process'] = { pid, ...(thread !== undefined && { thread: { id: thread } }) }
  }
  const userId = attribute(system['Security'], 'UserID')
  if (typeof userId === 'string') winlog['user'] = { identifier: userId }
  const activityId = attribute(system['Correlation'], 'ActivityID')
  if (typeof activityId === 'string') winlog['activity_id'] = activityId

  const data = eventDataFields(root['EventData'])
  if (data) winlog['event_data'] = data
  if (isObject(root['UserData'])) winlog['user_data'] = root['UserData']

  const event: Json = {
    id: windowsEventId(channel, computer, recordId as string | number),
    event: {
      kind: 'event',
      code: String(eventId),
      ...(typeof provider === 'string' && { provider }),
    },
    host: { name: computer },
    winlog,
  }
  const time = attribute(system['TimeCreated'], 'SystemTime')
  if (typeof time === 'string') event['@timestamp'] = time

  const rendered =
    attribute(root['RenderingInfo'], 'Message') ??
    text(isObject(root['RenderingInfo']) ? root['RenderingInfo']['Message'] : undefined)
  const message = rendered ?? value['message'] ?? value['Message']
  if (typeof message === 'string') event['message'] = message

  const mapping = windowsEcsMappings[`${String(provider)}:${eventId}`]
  if (mapping) applyEcsMapping(event, mapping, data ?? {})
  return { event }
}

function windowsRecord(index: number, raw: string, value: unknown, where: string): ParsedRecord {
  const result = windowsEvent(value)
  if ('error' in result) {
    return { index, raw, error: { ...result.error, message: `${where}: ${result.error.message}` } }
  }
  return { index, raw, event: result.event }
}

/**
 * Parses Windows events exported from EVTX to JSON. Each event's exact text is its `raw`; its
 * id is `windowsEventId(channel, computer, EventRecordID)`, so the same event parsed twice (or
 * exported twice) gets the same id. A value that is not valid JSON, or lacks the System block
 * or an identity field (EventID, Channel, Computer, EventRecordID), fails alone with the path
 * of what is missing; text that cannot be framed fails as one record covering the rest.
 * `@timestamp` is `TimeCreated.SystemTime` as written (microseconds included); normalisation
 * converts it to UTC milliseconds.
 */
export const parseEvtxJson: Parser = (body) => {
  const records: ParsedRecord[] = []
  for (const span of splitConcatenatedJson(body)) {
    const raw = body.slice(span.start, span.end)
    const index = records.length
    const where = `event ${index} (offset ${span.start})`
    if (span.error) {
      const message = `${where}: cannot frame the rest of the body: ${span.error}`
      records.push({ index, raw, error: { code: 'PAL_UNFRAMEABLE', message } })
      break
    }

    let value: unknown
    try {
      value = JSON.parse(raw)
    } catch (err) {
      // V8 quotes the text around the error, and may cut a surrogate pair doing it.
      const detail = wellFormed(err instanceof Error ? err.message : String(err))
      const message = `${where}: invalid JSON: ${detail}`
      records.push({ index, raw, error: { code: 'PAL_BAD_JSON', message } })
      continue
    }

    if (!Array.isArray(value)) {
      records.push(windowsRecord(index, raw, value, where))
      continue
    }
    // An array of events: each element is a record, with its own exact text.
    const elements = splitJsonArray(raw) ?? []
    value.forEach((element, i) => {
      const el = elements[i]
      const elRaw = el ? raw.slice(el.start, el.end) : JSON.stringify(element)
      const elIndex = records.length
      const elWhere = `event ${elIndex} (offset ${span.start + (el?.start ?? 0)})`
      records.push(windowsRecord(elIndex, elRaw, element, elWhere))
    })
  }
  return records
}
