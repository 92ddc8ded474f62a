import type { Command } from 'commander'

import { loadConfig, maskSecrets } from '../config/load-config.ts'
import { ConfigError } from '../errors.ts'
import type { GlobalOptions } from './global-options.ts'
import { flagsToConfig } from './global-options.ts'

export function registerConfigCommands(
  program: Command,
  serverOptions: (command: Command) => Command,
): void {
  const config = program.command('config').description('inspect the configuration')
  serverOptions(config.command('check'))
    .description(
      'print the effective configuration (flags over PALISADE_* variables over the file over ' +
        'defaults) with secrets masked, or every problem with its path',
    )
    .option('--json', 'print as JSON')
    .action((options: { json?: boolean }, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>()
      try {
        const effective = maskSecrets(
          loadConfig({ flags: flagsToConfig(global), file: global.config }),
        )
        process.stdout.write(`${JSON.stringify(effective, null, options.json ? undefined : 2)}\n`)
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error
        if (options.json) {
          process.stdout.write(`${JSON.stringify({ valid: false, problems: error.problems })}\n`)
        } else {
          process.stderr.write(`${error.message}\n`)
        }
        process.exitCode = 1
      }
    })
}
