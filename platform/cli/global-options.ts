import { setPath } from '../config/load-config.ts'

/** Flags every command accepts; each maps to one configuration path. */
export interface GlobalOptions {
  config?: string
  dataDir?: string
  url?: string
  token?: string
  host?: string
  port?: number
  rules?: string[]
  builtinRules?: boolean
  mapping?: string[]
  syslogUdpPort?: number
  syslogTcpPort?: number
  logLevel?: string
}

const flagPaths: Record<keyof Omit<GlobalOptions, 'config'>, string> = {
  dataDir: 'dataDir',
  url: 'url',
  token: 'token',
  host: 'http.host',
  port: 'http.port',
  rules: 'rules',
  builtinRules: 'builtinRules',
  mapping: 'sigma.mappings',
  syslogUdpPort: 'syslog.udpPort',
  syslogTcpPort: 'syslog.tcpPort',
  logLevel: 'log.level',
}

/** The configuration layer the command-line flags make (only flags that were given). */
export function flagsToConfig(options: GlobalOptions): Record<string, unknown> {
  const layer: Record<string, unknown> = {}
  for (const [flag, path] of Object.entries(flagPaths)) {
    const value = options[flag as keyof GlobalOptions]
    // `--no-builtin-rules` makes commander default the flag to true; only its absence counts.
    if (flag === 'builtinRules' && value === true) continue
    if (value !== undefined) setPath(layer, path, value)
  }
  return layer
}
