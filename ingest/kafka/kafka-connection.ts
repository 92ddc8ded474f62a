import { Kafka, logLevel } from 'kafkajs'
import type { LogEntry, RetryOptions } from 'kafkajs'

import { PalisadeError } from '../../platform/errors.ts'
import type { Logger } from '../../platform/logger.ts'

export interface KafkaConnectionOptions {
  brokers: string[]
  clientId: string
  /** kafkajs logs through this logger's child `{ component: 'kafka' }`. */
  logger: Logger
  retry?: RetryOptions
  connectionTimeoutMs?: number
  requestTimeoutMs?: number
}

/** A kafkajs client whose own log lines go to Palisade's logger, namespaced by component. */
export function createKafka(options: KafkaConnectionOptions): Kafka {
  const log = options.logger.child({ component: 'kafka' })
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    retry: options.retry ?? { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 },
    connectionTimeout: options.connectionTimeoutMs ?? 1_000,
    requestTimeout: options.requestTimeoutMs ?? 10_000,
    logLevel: logLevel.INFO,
    logCreator:
      () =>
      ({ namespace, level, log: entry }: LogEntry) => {
        const { message, ...context } = entry
        const fields = { ...context, kafka_namespace: namespace }
        if (level === logLevel.ERROR) log.error(fields, message)
        else if (level === logLevel.WARN) log.warn(fields, message)
        else if (level === logLevel.INFO) log.debug(fields, message)
        else log.trace(fields, message)
      },
  })
}

/**
 * The brokers did not acknowledge a send in time (down, unreachable, no leader): nothing is
 * acknowledged, so the sender tries again after `retry_after_seconds`.
 */
export function transportUnavailable(cause: unknown, what: string): PalisadeError {
  const reason = String((cause as Error)?.message ?? cause)
    .split('\n')[0]!
    .slice(0, 200)
  return new PalisadeError(
    'PAL_TRANSPORT_UNAVAILABLE',
    `expected the Kafka brokers to acknowledge ${what} (acks=all), got: ${reason}; ` +
      'nothing was accepted, send it again later',
    { status: 503, retriable: true, context: { retry_after_seconds: 5 }, cause },
  )
}

/** Rejects with `onTimeout()` when `promise` has not settled within `ms`. */
export async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  onTimeout: () => Error,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}
