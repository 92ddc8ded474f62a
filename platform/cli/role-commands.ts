import type { Command } from 'commander'

import { loadConfig } from '../config/load-config.ts'
import { startEngine } from '../engine.ts'
import type { EngineRole } from '../engine.ts'
import { createLogger } from '../logger.ts'
import type { Logger } from '../logger.ts'
import { startWorker } from '../worker.ts'
import type { GlobalOptions } from './global-options.ts'
import { flagsToConfig } from './global-options.ts'

/**
 * The distributed roles (DESIGN.md, "Two ways to run"): `ingest` gateways and the `api`
 * produce to Kafka, `worker` processes consume, detect and store. Each needs
 * `PALISADE_TRANSPORT=kafka` and `PALISADE_KAFKA_BROKERS`, and they share a ClickHouse server
 * (`PALISADE_CLICKHOUSE_URL`), since embedded ClickHouse is one process per data dir.
 */
export function registerRoleCommands(
  program: Command,
  serverOptions: (command: Command) => Command,
): void {
  const roles: { role: EngineRole; description: string }[] = [
    {
      role: 'ingest',
      description:
        'run an ingest gateway: HTTP API and syslog listeners, answering 202 once Kafka ' +
        'acknowledged each batch (transport kafka)',
    },
    {
      role: 'api',
      description: 'run the HTTP API alone; events it receives go to Kafka (transport kafka)',
    },
  ]
  for (const { role, description } of roles) {
    serverOptions(program.command(role))
      .description(description)
      .action(async (_options: unknown, command: Command) => {
        const global = command.optsWithGlobals<GlobalOptions>()
        const config = loadConfig({ flags: flagsToConfig(global), file: global.config })
        const logger = createLogger(config.log.level)
        const engine = await startEngine(config, logger, { role })
        const lines = [`Palisade ${role} is listening on ${engine.url}`]
        if (engine.syslog.udpPort)
          lines.push(`syslog over UDP on ${config.syslog.host}:${engine.syslog.udpPort}`)
        if (engine.syslog.tcpPort)
          lines.push(`syslog over TCP on ${config.syslog.host}:${engine.syslog.tcpPort}`)
        process.stdout.write(`${lines.join('\n')}\n`)
        stopOnSignal(logger, () => engine.close())
      })
  }

  serverOptions(program.command('worker'))
    .description(
      'run a worker: consume events from Kafka in the workers group, detect, store in ' +
        'ClickHouse, commit; serves /metrics and /healthz on --port (transport kafka)',
    )
    .action(async (_options: unknown, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>()
      const config = loadConfig({ flags: flagsToConfig(global), file: global.config })
      const logger = createLogger(config.log.level)
      const worker = await startWorker(config, logger)
      process.stdout.write(`Palisade worker is consuming; metrics on ${worker.url}/metrics\n`)
      stopOnSignal(logger, () => worker.close())
    })
}

/** SIGINT or SIGTERM: finish and store what is in hand, then exit. */
function stopOnSignal(logger: Logger, close: () => Promise<void>): void {
  let closing = false
  const stop = async (signal: string) => {
    if (closing) return
    closing = true
    logger.info({ signal }, 'stopping')
    await close()
    process.exit(0)
  }
  process.once('SIGINT', () => void stop('SIGINT'))
  process.once('SIGTERM', () => void stop('SIGTERM'))
}
