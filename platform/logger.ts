import { pino } from 'pino'
import type { Logger } from 'pino'

export type { Logger }

/**
 * The process's root logger: JSON lines on stderr, so stdout stays for command output.
 * Components receive a child of it (`logger.child({ component: 'syslog' })`) and never make
 * their own.
 */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'palisade' } }, pino.destination(2))
}
