import type { Command } from 'commander'

import { loadConfig } from '../config/load-config.ts'
import { startEngine } from '../engine.ts'
import { createLogger } from '../logger.ts'
import type { GlobalOptions } from './global-options.ts'
import { flagsToConfig } from './global-options.ts'

export function registerStartCommand(
  program: Command,
  serverOptions: (command: Command) => Command,
): void {
  serverOptions(program.command('start'))
    .description(
      'run Palisade all in one process: HTTP API, syslog listeners, detection, and embedded ' +
        'ClickHouse (or the server in PALISADE_CLICKHOUSE_URL)',
    )
    .action(async (_options: unknown, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>()
      const config = loadConfig({ flags: flagsToConfig(global), file: global.config })
      const logger = createLogger(config.log.level)
      const engine = await startEngine(config, logger)

      const lines = [`Palisade is listening on ${engine.url} (OpenAPI at ${engine.url}/docs)`]
      if (engine.syslog.udpPort)
        lines.push(`syslog over UDP on ${config.syslog.host}:${engine.syslog.udpPort}`)
      if (engine.syslog.tcpPort)
        lines.push(`syslog over TCP on ${config.syslog.host}:${engine.syslog.tcpPort}`)
      const { signer } = engine
      lines.push(
        signer.kind === 'software'
          ? `audit checkpoints signed by a software key (development only): ${signer.fingerprint()}`
          : `audit checkpoints signed in the HSM by ${signer.keyId}: ${signer.fingerprint()}`,
      )
      if (engine.adminTokenFile) {
        const made = engine.adminTokenCreated ? 'a new admin API token is in' : 'admin API token:'
        lines.push(`${made} ${engine.adminTokenFile} (the CLI reads it from there)`)
      }
      process.stdout.write(`${lines.join('\n')}\n`)

      let closing = false
      const stop = async (signal: string) => {
        if (closing) return
        closing = true
        logger.info({ signal }, 'stopping')
        await engine.close()
        process.exit(0)
      }
      process.once('SIGINT', () => void stop('SIGINT'))
      process.once('SIGTERM', () => void stop('SIGTERM'))
    })
}
