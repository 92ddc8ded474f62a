import { readFileSync } from 'node:fs'
import { extname } from 'node:path'

import { parse as parseYaml } from 'yaml'
import type { z } from 'zod'

import { ConfigError } from '../errors.ts'
import { configSchema, secretPaths } from './config-schema.ts'
import type { PalisadeConfig } from './config-schema.ts'

type Layer = Record<string, unknown>

/**
 * `PALISADE_*` variables and the config path each one sets. Lists are comma-separated.
 * Kept as a table so `--help` and the README can print it.
 */
export const environmentVariables: Record<
  string,
  { path: string; kind: 'string' | 'int' | 'list' | 'bool' }
> = {
  PALISADE_DATA_DIR: { path: 'dataDir', kind: 'string' },
  PALISADE_URL: { path: 'url', kind: 'string' },
  PALISADE_TOKEN: { path: 'token', kind: 'string' },
  PALISADE_HOST: { path: 'http.host', kind: 'string' },
  PALISADE_PORT: { path: 'http.port', kind: 'int' },
  PALISADE_BODY_LIMIT_BYTES: { path: 'http.bodyLimitBytes', kind: 'int' },
  PALISADE_SYSLOG_HOST: { path: 'syslog.host', kind: 'string' },
  PALISADE_SYSLOG_UDP_PORT: { path: 'syslog.udpPort', kind: 'int' },
  PALISADE_SYSLOG_TCP_PORT: { path: 'syslog.tcpPort', kind: 'int' },
  PALISADE_SYSLOG_TIMEZONE: { path: 'syslog.timeZone', kind: 'string' },
  PALISADE_RULES: { path: 'rules', kind: 'list' },
  PALISADE_BUILTIN_RULES: { path: 'builtinRules', kind: 'bool' },
  PALISADE_SIGMA_MAPPINGS: { path: 'sigma.mappings', kind: 'list' },
  PALISADE_CORRELATION_MAX_GROUPS: { path: 'sigma.correlation.maxGroups', kind: 'int' },
  PALISADE_CORRELATION_MAX_PERCENTILE_VALUES: {
    path: 'sigma.correlation.maxPercentileValues',
    kind: 'int',
  },
  PALISADE_CORRELATION_ALLOWED_LATENESS_MS: {
    path: 'sigma.correlation.allowedLatenessMs',
    kind: 'int',
  },
  PALISADE_CORRELATION_CHECKPOINT_BATCHES: {
    path: 'sigma.correlation.checkpoint.everyBatches',
    kind: 'int',
  },
  PALISADE_CORRELATION_CHECKPOINT_SECONDS: {
    path: 'sigma.correlation.checkpoint.everySeconds',
    kind: 'int',
  },
  PALISADE_ANOMALY: { path: 'anomaly.enabled', kind: 'bool' },
  PALISADE_DLP: { path: 'dlp.enabled', kind: 'bool' },
  PALISADE_DLP_POLICY: { path: 'dlp.policy', kind: 'string' },
  PALISADE_ANOMALY_FEATURE_SETS: { path: 'anomaly.featureSets', kind: 'list' },
  PALISADE_TRANSPORT: { path: 'transport.kind', kind: 'string' },
  PALISADE_KAFKA_BROKERS: { path: 'transport.kafka.brokers', kind: 'list' },
  PALISADE_KAFKA_CLIENT_ID: { path: 'transport.kafka.clientId', kind: 'string' },
  PALISADE_KAFKA_TOPIC_PREFIX: { path: 'transport.kafka.topicPrefix', kind: 'string' },
  PALISADE_KAFKA_GROUP: { path: 'transport.kafka.groupId', kind: 'string' },
  PALISADE_KAFKA_KEY_FIELDS: { path: 'transport.kafka.keyFields', kind: 'list' },
  PALISADE_KAFKA_SEND_TIMEOUT_MS: { path: 'transport.kafka.sendTimeoutMs', kind: 'int' },
  PALISADE_KAFKA_SESSION_TIMEOUT_MS: { path: 'transport.kafka.sessionTimeoutMs', kind: 'int' },
  PALISADE_KAFKA_HEARTBEAT_INTERVAL_MS: {
    path: 'transport.kafka.heartbeatIntervalMs',
    kind: 'int',
  },
  PALISADE_KAFKA_REPLAY_LOOKBACK_MS: { path: 'transport.kafka.replayLookbackMs', kind: 'int' },
  PALISADE_RISK_HALF_LIFE_MINUTES: { path: 'access.riskHalfLifeMinutes', kind: 'int' },
  PALISADE_PLAYBOOKS: { path: 'access.playbooks', kind: 'list' },
  PALISADE_RESPONSE_DRY_RUN: { path: 'access.dryRun', kind: 'bool' },
  PALISADE_CLICKHOUSE_URL: { path: 'clickhouse.url', kind: 'string' },
  PALISADE_CLICKHOUSE_USER: { path: 'clickhouse.username', kind: 'string' },
  PALISADE_CLICKHOUSE_PASSWORD: { path: 'clickhouse.password', kind: 'string' },
  PALISADE_CLICKHOUSE_DATABASE: { path: 'clickhouse.database', kind: 'string' },
  PALISADE_STATE_URL: { path: 'state.url', kind: 'string' },
  PALISADE_RETENTION_EVENT_DAYS: { path: 'retention.eventDays', kind: 'int' },
  PALISADE_AUDIT_CHECKPOINT_ENTRIES: { path: 'audit.checkpoint.everyEntries', kind: 'int' },
  PALISADE_AUDIT_CHECKPOINT_SECONDS: { path: 'audit.checkpoint.everySeconds', kind: 'int' },
  PALISADE_AUDIT_SIGNER: { path: 'audit.signer.kind', kind: 'string' },
  PALISADE_PKCS11_MODULE: { path: 'audit.signer.module', kind: 'string' },
  PALISADE_PKCS11_TOKEN: { path: 'audit.signer.tokenLabel', kind: 'string' },
  PALISADE_PKCS11_KEY: { path: 'audit.signer.keyLabel', kind: 'string' },
  PALISADE_PKCS11_ALGORITHM: { path: 'audit.signer.algorithm', kind: 'string' },
  PALISADE_PKCS11_PIN_ENV: { path: 'audit.signer.pinEnv', kind: 'string' },
  PALISADE_PKCS11_GENERATE_KEY: { path: 'audit.signer.generateKey', kind: 'bool' },
  PALISADE_PUBLIC_URL: { path: 'people.publicUrl', kind: 'string' },
  PALISADE_SESSION_IDLE_MINUTES: { path: 'people.idleMinutes', kind: 'int' },
  PALISADE_SESSION_ABSOLUTE_HOURS: { path: 'people.absoluteHours', kind: 'int' },
  PALISADE_STEP_UP_MINUTES: { path: 'people.stepUpMinutes', kind: 'int' },
  PALISADE_ENROLMENT_HOURS: { path: 'people.enrolmentHours', kind: 'int' },
  PALISADE_KEK_ENV: { path: 'people.kekEnv', kind: 'string' },
  PALISADE_WEBAUTHN_ATTESTATION: { path: 'people.webauthn.attestation', kind: 'string' },
  PALISADE_LOG_LEVEL: { path: 'log.level', kind: 'string' },
}

export interface ConfigSources {
  /** Values from command-line flags, as config paths (`{ http: { port: 9000 } }`). */
  flags?: Layer
  env?: NodeJS.ProcessEnv
  /** A YAML or JSON file; `PALISADE_CONFIG` names one when this is absent. */
  file?: string
}

/**
 * Builds the effective configuration: flags over `PALISADE_*` variables over the file over the
 * defaults. Collects every problem before failing, each with its path and where it came from.
 *
 * @throws {ConfigError} listing every problem.
 */
export function loadConfig(sources: ConfigSources = {}): PalisadeConfig {
  const env = sources.env ?? process.env
  const problems: { path: string; message: string }[] = []

  const filePath = sources.file ?? env.PALISADE_CONFIG
  const fileLayer = filePath ? readConfigFile(filePath, problems) : {}
  const envLayer = readEnvironment(env, problems)
  const merged = mergeLayers(mergeLayers(fileLayer, envLayer), sources.flags ?? {})

  const result = configSchema.safeParse(merged)
  if (!result.success) {
    // Say which variable a bad value came from, unless a flag overrode it.
    const fromEnv = new Map<string, string>()
    for (const [name, { path }] of Object.entries(environmentVariables)) {
      if (env[name] && getPath(sources.flags ?? {}, path) === undefined) fromEnv.set(path, name)
    }
    for (const problem of issuesToProblems(result.error.issues)) {
      const name = fromEnv.get(problem.path)
      problems.push(name ? { ...problem, message: `${name}: ${problem.message}` } : problem)
    }
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems)
  return result.data
}

function readConfigFile(path: string, problems: { path: string; message: string }[]): Layer {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    problems.push({ path: '(file)', message: `cannot read ${path}: ${(error as Error).message}` })
    return {}
  }

  try {
    const parsed: unknown = extname(path) === '.json' ? JSON.parse(text) : parseYaml(text)
    if (parsed === null || parsed === undefined) return {}
    if (typeof parsed !== 'object' || Array.isArray(parsed)) {
      problems.push({ path: '(file)', message: `${path}: expected a mapping at the top level` })
      return {}
    }
    return parsed as Layer
  } catch (error) {
    problems.push({ path: '(file)', message: `${path}: ${(error as Error).message}` })
    return {}
  }
}

function readEnvironment(
  env: NodeJS.ProcessEnv,
  problems: { path: string; message: string }[],
): Layer {
  const layer: Layer = {}
  for (const [name, { path, kind }] of Object.entries(environmentVariables)) {
    const raw = env[name]
    if (raw === undefined || raw === '') continue

    let value: unknown = raw
    if (kind === 'int') {
      value = /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN
      if (Number.isNaN(value)) {
        problems.push({ path, message: `${name}: expected an integer, got ${JSON.stringify(raw)}` })
        continue
      }
    } else if (kind === 'list') {
      value = raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    } else if (kind === 'bool') {
      if (!/^(true|false|1|0)$/i.test(raw)) {
        problems.push({
          path,
          message: `${name}: expected true or false, got ${JSON.stringify(raw)}`,
        })
        continue
      }
      value = /^(true|1)$/i.test(raw)
    }
    setPath(layer, path, value)
  }
  return layer
}

export function setPath(target: Layer, path: string, value: unknown): void {
  const keys = path.split('.')
  let node = target
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {}
    node = node[key] as Layer
  }
  node[keys[keys.length - 1]!] = value
}

function getPath(source: Layer, path: string): unknown {
  let node: unknown = source
  for (const key of path.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined
    node = (node as Layer)[key]
  }
  return node
}

function mergeLayers(base: Layer, over: Layer): Layer {
  const out: Layer = { ...base }
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue
    const prior = out[key]
    const bothObjects = isPlainObject(prior) && isPlainObject(value)
    out[key] = bothObjects ? mergeLayers(prior as Layer, value as Layer) : value
  }
  return out
}

function isPlainObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function issuesToProblems(issues: z.core.$ZodIssue[]): { path: string; message: string }[] {
  return issues.map((issue) => {
    const path = issue.path.map(String).join('.')
    if (issue.code === 'unrecognized_keys') {
      return { path, message: `unknown setting(s): ${issue.keys.join(', ')}` }
    }
    return { path, message: issue.message }
  })
}

/** The configuration with every secret replaced, for printing. */
export function maskSecrets(config: PalisadeConfig): Record<string, unknown> {
  const copy = structuredClone(config) as unknown as Layer
  for (const path of secretPaths) {
    const keys = path.split('.')
    let node: Layer | undefined = copy
    for (const key of keys.slice(0, -1)) node = node?.[key] as Layer | undefined
    const last = keys[keys.length - 1]!
    if (node && typeof node[last] === 'string' && node[last] !== '') {
      node[last] = path.endsWith('url') ? maskUrl(node[last] as string) : '********'
    }
  }
  return copy
}

/** Keeps a URL's scheme, host and path but hides its credentials, wherever they are. */
function maskUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '********'
    for (const key of [...parsed.searchParams.keys()]) {
      if (/pass|secret|token|key/i.test(key)) parsed.searchParams.set(key, '********')
    }
    return parsed.toString()
  } catch {
    return '********'
  }
}
