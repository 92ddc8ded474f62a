import { SingleBar } from 'cli-progress'
import type { Command } from 'commander'

import { verifyAuditExport } from '../../audit/export/verify-export.ts'
import type { ExportProblem, ExportVerdict } from '../../audit/export/verify-export.ts'
import type { ApiClient } from './api-client.ts'
import { registerAuditExportCommand } from './audit-export-command.ts'

/**
 * `palisade audit`: the audit log's exports and their offline check. `audit verify` is an
 * offline tool: it reads a folder and opens no data. Exit codes: 0 the export is good; 1 it is
 * not (the first problem is named); 2 a usage error (no such folder, a malformed fingerprint).
 */
export function registerAuditCommands(program: Command, client: () => ApiClient): Command {
  const audit = program
    .command('audit')
    .description('the audit log: exports and their offline check')
  // `audit export` talks to a running instance through `client`; `verify` never does.
  registerAuditExportCommand(audit, client)

  audit
    .command('verify')
    .description(
      'check an audit export folder offline: the manifest and checkpoint signatures, every ' +
        'consistency step, every entry and its inclusion proof, every file digest',
    )
    .argument('<dir>', 'the export folder')
    .option(
      '--fingerprint <hex>',
      "the key's fingerprint (SHA-256 of its SPKI DER), learnt out of band; without it the " +
        'export is checked only against its own key',
    )
    .option('--json', 'print the verdict as JSON')
    .action(async (dir: string, options: { fingerprint?: string; json?: boolean }) => {
      const bar =
        !options.json && process.stderr.isTTY
          ? new SingleBar({
              format: 'audit verify [{bar}] {percentage}% | {value}/{total} entries | eta {eta}s',
              stream: process.stderr,
            })
          : undefined
      let started = false
      const verdict = await verifyAuditExport(dir, {
        expectFingerprint: options.fingerprint,
        onProgress: (done, total) => {
          if (!bar) return
          if (!started) bar.start(total, 0)
          started = true
          bar.update(done)
        },
      }).finally(() => bar?.stop())

      if (options.json) process.stdout.write(`${JSON.stringify(verdict)}\n`)
      if (!verdict.ok) {
        if (!options.json) {
          process.stderr.write(
            `palisade: audit export ${dir} is not valid: ${where(verdict.problem)}: ` +
              `${verdict.problem.message} (${verdict.problem.code})\n`,
          )
        }
        process.exitCode = 1
        return
      }

      if (!options.json) printSummary(dir, verdict)
      warnAboutTrust(verdict, options.fingerprint !== undefined)
    })

  return audit
}

/** `entries.jsonl line 18 (entry 17)`, or just the file. */
function where(problem: ExportProblem): string {
  const line = problem.line === undefined ? '' : ` line ${problem.line}`
  const entry = problem.index === undefined ? '' : ` (entry ${problem.index})`
  return `${problem.file}${line}${entry}`
}

function printSummary(dir: string, verdict: Extract<ExportVerdict, { ok: true }>): void {
  const { checked, range, anchor, key } = verdict
  process.stdout.write(
    `audit export ${dir} is valid: ${checked.entries} entries ` +
      `[${range.from_index}, ${range.to_index}), ${checked.checkpoints} checkpoints up to ` +
      `tree size ${anchor.tree_size}, ${checked.consistency_steps} consistency steps, ` +
      `${checked.files} file digests; key ${key.fingerprint} (${key.signer_kind}, ${key.key_id})\n`,
  )
}

function warnAboutTrust(verdict: Extract<ExportVerdict, { ok: true }>, pinned: boolean): void {
  if (verdict.key.signer_kind === 'software') {
    process.stderr.write(
      'palisade: warning: this export is signed by a software (development) key, not an HSM ' +
        'key: whoever could read the key file could have signed it\n',
    )
  }
  if (!pinned) {
    process.stderr.write(
      "palisade: warning: no --fingerprint given, so trust rests on the export's own key " +
        `(${verdict.key.fingerprint}), and its signer kind (${verdict.key.signer_kind}) is ` +
        "that key's own claim; compare the key with the fingerprint learnt out of band\n",
    )
  }
}
