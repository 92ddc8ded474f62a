import { Command, InvalidArgumentError } from 'commander'

import { loadConfig } from '../config/load-config.ts'
import { PalisadeError } from '../errors.ts'
import { packageInfo } from '../package-info.ts'
import { registerAnomalyCommands } from './anomaly-command.ts'
import { ApiClient } from './api-client.ts'
import { registerAuditCommands } from './audit-commands.ts'
import { registerConfigCommands } from './config-command.ts'
import { registerDecryptCommands } from './decrypt-command.ts'
import { registerDlpCommands } from './dlp-command.ts'
import type { GlobalOptions } from './global-options.ts'
import { flagsToConfig } from './global-options.ts'
import { registerHuntCommand } from './hunt-command.ts'
import { registerPolicyCommands } from './policy-command.ts'
import { registerQueryCommands } from './query-commands.ts'
import { registerReplayCommand } from './replay-command.ts'
import { registerRoleCommands } from './role-commands.ts'
import { registerRulesCommands } from './rules-command.ts'
import { registerRulesManageCommands } from './rules-manage-command.ts'
import { registerRulesTestCommand } from './rules-test-command.ts'
import { registerStartCommand } from './start-command.ts'
import { registerUsersCommands } from './users-command.ts'

const program = new Command('palisade')
  .description('Palisade: security events in, Sigma detections and alerts out')
  .version(packageInfo.version)
  .option('--config <file>', 'a YAML or JSON configuration file (or PALISADE_CONFIG)')
  .option('--data-dir <dir>', 'where embedded data lives (PALISADE_DATA_DIR; default .palisade)')
  .option('--url <url>', 'a running Palisade, for commands that read data (PALISADE_URL)')
  .option('--token <token>', 'API token (PALISADE_TOKEN; default: the admin token in the data dir)')
  .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
  .configureHelp({ showGlobalOptions: true })
  .showHelpAfterError()

/** The API client for the effective configuration, made when a command first needs it. */
function client(): ApiClient {
  const global = program.opts<GlobalOptions>()
  return ApiClient.fromConfig(loadConfig({ flags: flagsToConfig(global), file: global.config }))
}

registerStartCommand(program, serverOptions)
registerRoleCommands(program, serverOptions)
registerReplayCommand(program, client)
registerQueryCommands(program, client)
registerRulesCommands(program)
registerRulesTestCommand(program)
registerRulesManageCommands(program, client)
registerAuditCommands(program, client)
registerHuntCommand(program, client)
registerConfigCommands(program, serverOptions)
registerAnomalyCommands(program)
registerDlpCommands(program)
registerUsersCommands(program, client)
registerDecryptCommands(program)
registerPolicyCommands(program)

/** Options that configure a running server; `start` and `config check` take them. */
function serverOptions(command: Command): Command {
  return command
    .option('--host <host>', 'address the API listens on (PALISADE_HOST; default 127.0.0.1)')
    .option('--port <port>', 'API port (PALISADE_PORT; default 8470)', port)
    .option('--rules <dir>', 'a Sigma rule folder to load; repeatable (PALISADE_RULES)', collect)
    .option('--no-builtin-rules', 'do not load the built-in rule pack')
    .option(
      '--mapping <file>',
      'a Sigma mapping file over the built-in one; repeatable (PALISADE_SIGMA_MAPPINGS)',
      collect,
    )
    .option(
      '--syslog-udp-port <port>',
      'syslog UDP port, 0 for none (PALISADE_SYSLOG_UDP_PORT; default 5514)',
      port,
    )
    .option(
      '--syslog-tcp-port <port>',
      'syslog TCP port, 0 for none (PALISADE_SYSLOG_TCP_PORT; default 5514)',
      port,
    )
}

function port(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new InvalidArgumentError(`expected a port number 0-65535, got ${JSON.stringify(value)}`)
  }
  return n
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

try {
  await program.parseAsync(process.argv)
} catch (error) {
  if (error instanceof PalisadeError) {
    process.stderr.write(`palisade: ${error.message}\n`)
    process.exitCode = error.status === 400 ? 2 : 1
  } else {
    // A system error (a missing file, a refused port) says enough in its message; a stack is
    // for whoever debugs Palisade itself, so it shows only at debug level.
    const debug = /^(debug|trace)$/.test(program.opts<GlobalOptions>().logLevel ?? '')
    const e = error as Error
    process.stderr.write(`palisade: ${debug ? (e.stack ?? e.message) : e.message}\n`)
    process.exitCode = 1
  }
}
