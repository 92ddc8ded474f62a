import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

import { SingleBar } from 'cli-progress'
import type { Command } from 'commander'

import { EXPORT_FILES } from '../../audit/export/export-format.ts'
import type { ExportManifest } from '../../audit/export/export-format.ts'
import type { ExportStatus } from '../../audit/export/export-jobs.ts'
import { parseRangeBound } from '../../audit/export/export-range.ts'
import { verifyAuditExport } from '../../audit/export/verify-export.ts'
import type { ExportVerdict } from '../../audit/export/verify-export.ts'
import { loadConfig } from '../config/load-config.ts'
import { adminTokenPath } from '../engine.ts'
import { PalisadeError, ValidationError } from '../errors.ts'
import type { ApiClient } from './api-client.ts'
import { flagsToConfig } from './global-options.ts'
import type { GlobalOptions } from './global-options.ts'

interface ExportOptions {
  from?: string
  to?: string
  out: string
  fingerprint?: string
  json?: boolean
  progress: boolean
}

/** How often the export's status is asked for while it is written. */
const POLL_MS = 250

/**
 * `palisade audit export`: has a running Palisade write a signed export of a range of the audit
 * log, downloads its files into a new folder, and checks the folder with the offline verifier
 * before saying it is done.
 */
export function registerAuditExportCommand(audit: Command, client: () => ApiClient): void {
  audit
    .command('export')
    .description(
      'export a range of the audit log, signed, from a running Palisade into a new folder, ' +
        'then verify the folder offline',
    )
    .requiredOption('--out <dir>', 'the folder to write: new, or empty')
    .option('--from <index|time>', 'the first entry (default: the first of the log)')
    .option('--to <index|time>', 'the end, not included (default: the log as it is now)')
    .option(
      '--fingerprint <hex>',
      "the key's fingerprint (SHA-256 of its SPKI DER), learnt out of band; the export must " +
        'be signed by that key (as in `audit verify`)',
    )
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      `
Range values (--from is included, --to is not; the two kinds may be mixed):
  an entry index    a non-negative integer; 0 is the log's first entry
  an RFC 3339 time  2026-12-03T20:00:00Z or 2026-12-03T21:00:00+01:00: the entries
                    appended at or after --from and before --to
  an RFC 3339 date  2026-12-03, midnight UTC that day
Without --from the export starts at the first entry; without --to it ends at the log's
size when it starts (the export's own audit entry comes in the next export).

Examples:
  palisade audit export --out q4 --from 2026-10-01 --to 2027-01-01
  palisade audit export --out next --from 1200 --fingerprint 3f1c…
`,
    )
    .action(async function (this: Command, options: ExportOptions) {
      // Checked here first, so a typo costs no export (and no audit entry) on the server.
      if (options.from !== undefined) parseRangeBound(options.from, '--from')
      if (options.to !== undefined) parseRangeBound(options.to, '--to')
      const out = resolve(options.out)
      const made = prepareFolder(out)

      const api = client()
      let status: ExportStatus
      try {
        const body = {
          ...(options.from === undefined ? {} : { from: options.from }),
          ...(options.to === undefined ? {} : { to: options.to }),
        }
        const started = await api.request<ExportStatus>('POST', '/v1/audit/exports', { body })
        status = await follow(api, started, options.progress && !options.json)
        await downloadAll(api, downloadToken(this), status.id, out)
      } catch (error) {
        if (made && readdirSync(out).length === 0) rmdirSync(out)
        throw error
      }

      const verdict = await verifyAuditExport(out, {
        ...(options.fingerprint ? { expectFingerprint: options.fingerprint } : {}),
      })
      if (!verdict.ok) {
        const { problem } = verdict
        const where = `${join(out, problem.file)}${problem.line ? `:${problem.line}` : ''}`
        throw new PalisadeError(
          'PAL_EXPORT_UNVERIFIED',
          `the downloaded export does not verify: ${where}: ${problem.message} (${problem.code})`,
        )
      }
      printSummary(out, verdict, readManifest(out).requested, options.json === true)
    })
}

/**
 * Makes `out` if it does not exist; refuses one that holds anything, before the export starts.
 *
 * @returns whether it made the folder.
 */
function prepareFolder(out: string): boolean {
  if (existsSync(out)) {
    if (!statSync(out).isDirectory()) {
      throw new ValidationError(`--out: expected an empty or new folder, got a file: ${out}`)
    }
    const held = readdirSync(out)
    if (held.length > 0) {
      throw new ValidationError(
        `--out: expected an empty or new folder, got ${out} holding ${held.length} ` +
          `entr${held.length === 1 ? 'y' : 'ies'} (${held.slice(0, 3).join(', ')})`,
      )
    }
    return false
  }
  mkdirSync(out, { recursive: true })
  return true
}

/** Polls an export until it is done, with a progress bar on stderr when it is a terminal. */
async function follow(api: ApiClient, started: ExportStatus, bar: boolean): Promise<ExportStatus> {
  const progress =
    bar && process.stderr.isTTY
      ? new SingleBar({
          format: 'audit export [{bar}] {percentage}% | {value}/{total} entries | eta {eta}s',
          stream: process.stderr,
        })
      : undefined
  progress?.start(started.progress.total, 0)
  try {
    let status = started
    while (status.state === 'running') {
      await sleep(POLL_MS)
      status = await api.request<ExportStatus>('GET', `/v1/audit/exports/${started.id}`)
      progress?.update(status.progress.done)
    }
    if (status.state === 'failed') {
      const error = status.error ?? { code: 'PAL_EXPORT_FAILED', message: 'the export failed' }
      throw new PalisadeError(error.code, `audit export ${status.id}: ${error.message}`)
    }
    return status
  } finally {
    progress?.stop()
  }
}

/**
 * Downloads each file of the export byte for byte. `ApiClient.request` parses the answers it
 * gets as JSON, which would rewrite manifest.json (whose bytes are signed), so files are
 * fetched here, from the same instance with the same token.
 */
async function downloadAll(
  api: ApiClient,
  token: string | undefined,
  id: string,
  out: string,
): Promise<void> {
  for (const name of Object.values(EXPORT_FILES)) {
    const path = `/v1/audit/exports/${id}/files/${name}`
    let response: Response
    try {
      response = await fetch(api.baseUrl + path, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      })
    } catch (error) {
      throw new PalisadeError(
        'PAL_UNREACHABLE',
        `GET ${path} failed: ${(error as Error).message}`,
        {
          retriable: true,
          cause: error,
        },
      )
    }
    if (!response.ok) {
      const text = await response.text()
      throw new PalisadeError(
        `HTTP_${response.status}`,
        `GET ${path} answered ${response.status}: ${text.slice(0, 200)}`,
        { status: response.status },
      )
    }
    await writeFile(join(out, name), Buffer.from(await response.arrayBuffer()), { flag: 'wx' })
  }
}

/** The token `ApiClient.fromConfig` uses: the configured one, else the data dir's admin token. */
function downloadToken(command: Command): string | undefined {
  const global = command.optsWithGlobals<GlobalOptions>()
  const config = loadConfig({ flags: flagsToConfig(global), file: global.config })
  if (config.token) return config.token
  const file = adminTokenPath(config.dataDir)
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined
}

type Verified = Extract<ExportVerdict, { ok: true }>

function readManifest(out: string): ExportManifest {
  return JSON.parse(readFileSync(join(out, EXPORT_FILES.manifest), 'utf8')) as ExportManifest
}

/** What the verifier checked, which is what the summary says: not what the server claimed. */
function printSummary(
  out: string,
  verdict: Verified,
  requested: ExportManifest['requested'],
  json: boolean,
): void {
  const { range, anchor, key } = verdict
  const count = verdict.checked.entries
  const summary = {
    verified: true,
    export_id: verdict.export_id,
    dir: out,
    entries: count,
    range,
    requested,
    anchor_size: anchor.tree_size,
    base_size: verdict.base?.tree_size ?? null,
    key_id: key.key_id,
    key_fingerprint: key.fingerprint,
    signer_kind: key.signer_kind,
  }
  if (json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`)
  } else {
    const entries =
      count === 0
        ? `no audit entries (an empty range at index ${range.from_index})`
        : `${count} audit entries (index ${range.from_index} to ` + `${range.to_index - 1})`
    process.stdout.write(
      `${out}: ${entries}, anchored in the signed checkpoint of size ${anchor.tree_size}; ` +
        `verified\nkey ${key.key_id}, ${key.signer_kind}, fingerprint ${key.fingerprint} ` +
        '(compare it with one you learnt another way)\n',
    )
  }
  if (key.signer_kind === 'software') {
    process.stderr.write(
      'palisade: warning: this export is signed by a software key kept in the data dir ' +
        '(development only); production checkpoints are signed in an HSM\n',
    )
  }
}
