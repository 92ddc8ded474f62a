import { z } from 'zod'

/**
 * Palisade's configuration. Every layer (flags, `PALISADE_*` variables, a file, the defaults
 * here) is merged and then validated by this one schema, so a problem is reported the same way
 * wherever it came from: with its path.
 */

const port = z.number().int().min(0).max(65535)

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone })
    return true
  } catch {
    return false
  }
}

/**
 * A key in a PEM file in `dataDir`, generated at first start: for development only, since the
 * key sits on disk. Every checkpoint it signs says `signer_kind software`.
 */
const softwareSigner = z.strictObject({ kind: z.literal('software') })

/** A key generated in, and never leaving, an HSM, reached through its PKCS#11 module. */
const pkcs11Signer = z.strictObject({
  kind: z.literal('pkcs11'),
  /** The vendor's PKCS#11 library, e.g. `/usr/lib/softhsm/libsofthsm2.so`. */
  module: z.string().min(1),
  tokenLabel: z.string().min(1),
  keyLabel: z.string().min(1).default('palisade-audit-checkpoint'),
  algorithm: z.enum(['ecdsa-p256-sha256', 'ed25519']).default('ecdsa-p256-sha256'),
  /**
   * The NAME of the environment variable holding the user PIN. The PIN itself is never in the
   * configuration, so neither a file nor `config check` can show it.
   */
  pinEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name')
    .default('PALISADE_PKCS11_PIN'),
  /**
   * Generate the key pair in the token when none has `keyLabel`, at start only. Off by default:
   * a key that vanished must not be replaced by a new one without an operator asking.
   */
  generateKey: z.boolean().default(false),
})

export const configSchema = z.strictObject({
  /** Where embedded data lives: ClickHouse parts, the SQLite state, the admin token. */
  dataDir: z.string().min(1).default('.palisade'),
  /** Where the CLI reaches a running instance. */
  url: z.url().optional(),
  /** The CLI's API token; defaults to the admin token written in `dataDir` at first start. */
  token: z.string().min(1).optional(),
  http: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: port.default(8470),
      /** Largest accepted request body; larger ones get 413. */
      bodyLimitBytes: z
        .number()
        .int()
        .positive()
        .default(16 * 1024 * 1024),
    })
    .prefault({}),
  syslog: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      /** UDP port for RFC 5424/3164 datagrams; 0 turns the listener off. */
      udpPort: port.default(5514),
      /** TCP port with RFC 6587 framing; 0 turns the listener off. */
      tcpPort: port.default(5514),
      /** IANA zone for RFC 3164 dates, which carry none. */
      timeZone: z
        .string()
        .refine(isTimeZone, {
          error: (issue) =>
            'expected an IANA time zone such as UTC or Europe/Paris, ' +
            `got ${JSON.stringify(issue.input)}`,
        })
        .default('UTC'),
      maxMessageBytes: z
        .number()
        .int()
        .positive()
        .default(64 * 1024),
    })
    .prefault({}),
  /** Sigma rule folders; the built-in pack is always loaded first unless `builtinRules` is off. */
  rules: z.array(z.string().min(1)).default([]),
  builtinRules: z.boolean().default(true),
  sigma: z
    .strictObject({
      /**
       * Mapping files (logsource routes, field mappings, placeholder values) laid over the
       * built-in `detectors/sigma/mappings/palisade.yml`, in order; see `loadMappings`.
       */
      mappings: z.array(z.string().min(1)).default([]),
      /** Limits on what correlation rules hold in memory; see `createCorrelator`. */
      correlation: z
        .strictObject({
          /**
           * Most group keys (a correlation and its group-by values) held at once, across every
           * correlation: about 1 KB each. A new key past it evicts the least recently updated
           * key of the correlation holding the most, which is counted, logged and alerted on.
           */
          maxGroups: z.number().int().positive().default(100_000),
          /** Most values a value_percentile window keeps; beyond, a sample of that many. */
          maxPercentileValues: z.number().int().positive().default(10_000),
          /**
           * How much older than its group's latest event time an event may be and still count,
           * in milliseconds, and how long after a window's end it stays open (SLIDING.md); one
           * later is counted in palisade_correlation_late_events{correlation}. Longer tolerates
           * slower senders and decides windows closed on their end later.
           */
          allowedLatenessMs: z.number().int().nonnegative().default(60_000),
          /**
           * How often correlation state is saved to the state store with the ingest position
           * it reflects (and always at a clean stop): a restart resumes from the last one and
           * detects the events stored after it again, so at most that much is replayed.
           */
          checkpoint: z
            .strictObject({
              /** A checkpoint once this many batches were stored since the last… */
              everyBatches: z.number().int().positive().default(100),
              /** …or every this many seconds, if events arrived. */
              everySeconds: z.number().int().positive().default(10),
            })
            .prefault({}),
        })
        .prefault({}),
    })
    .prefault({}),
  /** Anomaly detection in the stream: see `createAnomalyDetector` and the README. */
  anomaly: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Feature set files over the built-in `detectors/anomaly/feature-sets.yml`, in order. */
      featureSets: z.array(z.string().min(1)).default([]),
      /** Most entities each feature set holds; the least recently active is forgotten past it. */
      maxEntities: z.number().int().positive().default(10_000),
      /** How long after a window's end (event time) an event still counts in it, in ms. */
      allowedLatenessMs: z.number().int().nonnegative().default(60_000),
      /** The share of training windows expected to be anomalies: sets the score threshold. */
      contamination: z.number().gt(0).max(0.5).default(0.01),
      /** How many robust z (1.4826 MAD units) a feature must be from its baseline to alert. */
      minDeviation: z.number().positive().default(6),
      /** Windows an entity must have had before it can alert. */
      warmupWindows: z.number().int().nonnegative().default(24),
      /** Windows of an entity kind before its first model is trained. */
      minTrainingWindows: z.number().int().min(2).default(256),
      /** The rolling history a model is trained on, in windows. */
      historyWindows: z.number().int().min(2).default(4096),
      /** A model is retrained after this many windows closed since the last training… */
      retrainEveryWindows: z.number().int().positive().default(2000),
      /** …or once event time moved this far since, in ms (a day by default). */
      retrainEveryMs: z.number().int().positive().default(86_400_000),
    })
    .prefault({}),
  /**
   * How events travel from the sources to detection and storage (DESIGN.md, "Two ways to
   * run"): `embedded` processes a batch inline before answering; `kafka` produces it to Kafka
   * and a group of workers (`palisade worker`) consumes, detects and stores it.
   */
  transport: z
    .strictObject({
      kind: z.enum(['embedded', 'kafka']).default('embedded'),
      kafka: z
        .strictObject({
          /** Bootstrap brokers, `host:port`. */
          brokers: z.array(z.string().min(1)).default([]),
          clientId: z.string().min(1).default('palisade'),
          /** Topics are `<prefix>.events.v1`, `<prefix>.dead-letters.v1`, `<prefix>.alerts.v1`. */
          topicPrefix: z
            .string()
            .regex(/^[A-Za-z0-9._-]+$/, 'expected letters, digits, ".", "_" or "-"')
            .default('palisade'),
          /** The workers' consumer group. */
          groupId: z.string().min(1).default('palisade-workers'),
          /**
           * Event fields tried in order for a message's key: the first one an event has keys
           * it, so the events a correlation groups on that field all reach one worker.
           */
          keyFields: z
            .array(z.string().min(1))
            .min(1)
            .default(['source.ip', 'host.name', 'user.name']),
          /** How long ingest waits for the brokers' acknowledgement before answering 503. */
          sendTimeoutMs: z.number().int().positive().default(10_000),
          /** A worker missing heartbeats this long leaves the group; its partitions move. */
          sessionTimeoutMs: z.number().int().min(1000).default(30_000),
          heartbeatIntervalMs: z.number().int().positive().default(3_000),
          /**
           * How far back (by time stored) a worker reads the events of partitions it is
           * given, to rebuild their correlation windows; default: the longest correlation
           * timespan plus the allowed lateness.
           */
          replayLookbackMs: z.number().int().nonnegative().optional(),
        })
        .prefault({}),
    })
    .prefault({})
    .refine((t) => t.kind !== 'kafka' || t.kafka.brokers.length > 0, {
      message: 'expected at least one broker in transport.kafka.brokers when kind is kafka',
      path: ['kafka', 'brokers'],
    }),
  /** Zero-trust access and automated response (issue 13): see the README. */
  access: z
    .strictObject({
      /** Time for an alert's weight on risk to halve, in minutes. */
      riskHalfLifeMinutes: z.number().positive().default(60),
      /** Response playbook files (YAML), read at start; none unless told. */
      playbooks: z.array(z.string().min(1)).default([]),
      /** Playbooks only record what they would do, and do nothing. */
      dryRun: z.boolean().default(false),
    })
    .prefault({}),
  clickhouse: z
    .strictObject({
      /** A ClickHouse server; when absent, ClickHouse runs embedded through chDB. */
      url: z.url().optional(),
      username: z.string().default('default'),
      password: z.string().default(''),
      database: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a plain identifier')
        .default('palisade'),
    })
    .prefault({}),
  state: z
    .strictObject({
      /** A PostgreSQL URL; when absent, state lives in SQLite under `dataDir`. */
      url: z.string().optional(),
    })
    .prefault({}),
  retention: z
    .strictObject({
      /** Days events and dead letters are kept; alerts are kept four times as long. */
      eventDays: z.number().int().positive().default(90),
    })
    .prefault({}),
  audit: z
    .strictObject({
      checkpoint: z
        .strictObject({
          /** A checkpoint is signed once this many entries were appended since the last… */
          everyEntries: z.number().int().positive().default(1000),
          /** …or once this many seconds passed, if the log has grown. */
          everySeconds: z.number().int().positive().default(300),
        })
        .prefault({}),
      signer: z
        .discriminatedUnion('kind', [softwareSigner, pkcs11Signer])
        .default({ kind: 'software' }),
    })
    .prefault({}),
  people: z
    .strictObject({
      /**
       * Where people reach the API, as their browser writes it (`https://palisade.example`):
       * the enrolment link starts with it, and WebAuthn takes its origin and host as the
       * expected origin and RP id. Absent, the API's own address on loopback.
       */
      publicUrl: z.url().optional(),
      /** A session unused for this long ends (NIST SP 800-63B §7.2: 30 minutes at AAL2). */
      idleMinutes: z.number().int().positive().default(30),
      /** A session ends this long after sign-in however busy (SP 800-63B §7.2: 12 hours). */
      absoluteHours: z.number().int().positive().default(12),
      /** How recent a second factor must be for a sensitive action (step-up). */
      stepUpMinutes: z.number().int().positive().default(10),
      /** How long a one-time enrolment link from `users add` stays valid. */
      enrolmentHours: z.number().int().positive().default(24),
      /**
       * The NAME of the environment variable holding the key-encryption key for TOTP
       * secrets: 32 bytes in base64. The key is never in the configuration nor in the state
       * store, so a copy of either leaks no secret.
       */
      kekEnv: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name')
        .default('PALISADE_KEK'),
      /** Name shown in authenticator apps and on security-key prompts. */
      issuer: z.string().min(1).max(64).default('Palisade'),
      webauthn: z
        .strictObject({
          /**
           * `none` accepts any authenticator without asking who made it; `direct` asks for
           * an attestation statement and refuses a registration that brings none (fmt none).
           */
          attestation: z.enum(['none', 'direct']).default('none'),
        })
        .prefault({}),
    })
    .prefault({}),
  /** Data loss prevention on ingest: see `enrich/dlp/` and the README. */
  dlp: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** A DLP policy file (YAML or JSON); the built-in default policy when absent. */
      policy: z.string().min(1).optional(),
      /**
       * The environment variable holding the key of `tokenise` (at least 32 characters). The
       * key is configuration, never stored with the data.
       */
      tokenKeyEnv: z.string().min(1).default('PALISADE_DLP_TOKEN_KEY'),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .prefault({}),
})

export type PalisadeConfig = z.infer<typeof configSchema>
export type ConfigInput = z.input<typeof configSchema>

/** Paths whose values are never printed. */
export const secretPaths = ['token', 'clickhouse.password', 'state.url', 'clickhouse.url'] as const
