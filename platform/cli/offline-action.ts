import { PalisadeError } from '../errors.ts'

/** An error as one JSON line, `{"error": {code, message, ...context}}`, for `--json` output. */
export function jsonError(error: PalisadeError): string {
  const { code, message, context } = error
  return JSON.stringify({ error: { code, message, ...context } })
}

/**
 * Runs an offline tool's action (`rules check`, `regress`, `test`): a hard error exits 2,
 * printed as `jsonError` on stdout under `--json` (so a script reading the output can parse
 * it), else on stderr like any other command-line error.
 */
export function runOffline(options: { json?: boolean }, action: () => void): void {
  try {
    action()
  } catch (error) {
    if (!(error instanceof PalisadeError)) throw error
    if (options.json) process.stdout.write(`${jsonError(error)}\n`)
    else process.stderr.write(`palisade: ${error.message}\n`)
    process.exitCode = 2
  }
}
