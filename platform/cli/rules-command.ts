import { readFileSync } from 'node:fs'

import type { Command } from 'commander'
import { parse as parseYaml } from 'yaml'

import { loadFeatureSets } from '../../detectors/anomaly/load-feature-sets.ts'
import { checkRules } from '../../detectors/sigma/check-rules.ts'
import { loadMappings } from '../../detectors/sigma/load-mappings.ts'
import { regress } from '../../detectors/sigma/regress.ts'
import { ValidationError } from '../errors.ts'
import { runOffline } from './offline-action.ts'

/**
 * `rules check` and `rules regress`: offline tools that read rule and event files and open
 * no data. Exit codes: 0 success; 1 `check --strict` found rejected rules, or `regress`
 * missed an expected detection; 2 a hard error (a folder that does not exist, an unreadable
 * placeholders or mapping file). Rejected rules are reported but are not a failure of `check`.
 * Both take `--mapping FILE` (repeatable): mapping files laid over the built-in one, as
 * `sigma.mappings` does for `start`; `--placeholders FILE` values win over theirs.
 */
export function registerRulesCommands(program: Command): void {
  const rules = program.command('rules').description('check and test Sigma rules offline')

  rules
    .command('check')
    .description('load and compile Sigma rules; print every rejected rule with file and reason')
    .argument('<dir...>', 'rule folders or files')
    .option('--mapping <file>', 'a Sigma mapping file over the built-in one; repeatable', collect)
    .option('--placeholders <file>', 'YAML/JSON map of placeholder name to value(s)')
    .option('--unrouted', 'also list rules whose logsource has no route (they never fire)')
    .option(
      '--feature-sets <file>',
      'an anomaly feature set file whose ids correlations may name, over the built-in; repeatable',
      collect,
    )
    .option('--strict', 'exit 1 when any rule is rejected')
    .option(
      '--json',
      'print {files, total, compiled, rejected, missing_placeholders, unrouted} as JSON',
    )
    .action((dirs: string[], options: CheckOptions) =>
      runOffline(options, () => {
        const mapping = loadMappings(options.mapping)
        const placeholders = readPlaceholders(options.placeholders)
        // Correlations may name anomaly outputs as they run in `start` (anomaly.featureSets).
        const externalRules = loadFeatureSets(options.featureSets).map((s) => ({
          id: s.id,
          title: s.title,
        }))
        const { ruleSet, ...report } = checkRules(dirs, { mapping, placeholders, externalRules })
        void ruleSet
        if (options.json) {
          process.stdout.write(`${JSON.stringify(report)}\n`)
        } else {
          const where = (r: { file: string; line?: number; rule_id?: string }) =>
            `${r.line ? `${r.file}:${r.line}` : r.file}${r.rule_id ? ` (${r.rule_id})` : ''}`
          for (const r of report.rejected) {
            process.stdout.write(`rejected ${where(r)}: ${r.reason}\n`)
          }
          for (const r of report.missing_placeholders) {
            process.stdout.write(`matches nothing ${where(r)}: ${r.reason}\n`)
          }
          if (options.unrouted) {
            for (const r of report.unrouted) {
              process.stdout.write(`unrouted ${where(r)}: ${JSON.stringify(r.logsource)}\n`)
            }
          }
          const share = report.total === 0 ? 100 : (100 * report.compiled) / report.total
          process.stdout.write(
            `${report.total} rules in ${report.files} files: ${report.compiled} compiled ` +
              `(${share.toFixed(1)}%), ${report.rejected.length} rejected; ` +
              `${report.missing_placeholders.length} match nothing (placeholders without a ` +
              `value), ${report.unrouted.length} unrouted\n`,
          )
          if (report.unrouted.length > 0 && !options.unrouted) {
            process.stdout.write(
              'unrouted rules load but never fire: no route in the mapping covers their ' +
                'logsource (see them with --unrouted; add one with --mapping FILE)\n',
            )
          }
        }
        if (options.strict && report.rejected.length > 0) process.exitCode = 1
      }),
    )

  rules
    .command('regress')
    .description(
      'run SigmaHQ regression data: each info.yml names rules that must fire on its events',
    )
    .argument('<dir>', 'the regression_data folder')
    .option('--rules <dir>', 'a rule folder; repeatable (required)', collect)
    .option('--mapping <file>', 'a Sigma mapping file over the built-in one; repeatable', collect)
    .option('--placeholders <file>', 'YAML/JSON map of placeholder name to value(s)')
    .option('--json', 'print {detected, expected, cases} as JSON')
    .action((dir: string, options: RegressOptions) =>
      runOffline(options, () => {
        const ruleDirs = options.rules
        if (!ruleDirs || ruleDirs.length === 0) {
          throw new ValidationError('rules regress needs at least one --rules <dir>')
        }
        const mapping = loadMappings(options.mapping)
        const placeholders = readPlaceholders(options.placeholders)
        const report = regress(dir, ruleDirs, { mapping, placeholders })
        if (options.json) {
          const cases = report.cases.map(({ path, rule_id, fired, also_fired, reason }) => ({
            path,
            rule_id,
            fired,
            also_fired,
            ...(reason ? { reason } : {}),
          }))
          const out = { detected: report.detected, expected: report.expected, cases }
          process.stdout.write(`${JSON.stringify(out)}\n`)
        } else {
          for (const c of report.cases) {
            const mark = c.fired ? 'ok  ' : 'MISS'
            const why = c.reason ? ` (${c.reason})` : ''
            const also = c.also_fired.length > 0 ? ` also: ${c.also_fired.join(', ')}` : ''
            process.stdout.write(`${mark} ${c.rule_id} ${c.path}${why}${also}\n`)
          }
          process.stdout.write(`${report.detected}/${report.expected} expected detections\n`)
        }
        if (report.detected !== report.expected) process.exitCode = 1
      }),
    )
}

interface CheckOptions {
  mapping?: string[]
  placeholders?: string
  unrouted?: boolean
  featureSets?: string[]
  strict?: boolean
  json?: boolean
}

interface RegressOptions {
  rules?: string[]
  mapping?: string[]
  placeholders?: string
  json?: boolean
}

function readPlaceholders(file: string | undefined): Record<string, string[]> | undefined {
  if (!file) return undefined
  let parsed: unknown
  try {
    parsed = parseYaml(readFileSync(file, 'utf8'))
  } catch (error) {
    throw new ValidationError(
      `cannot read placeholders file ${file}: ${(error as Error).message}`,
      {
        file,
      },
    )
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ValidationError(`placeholders file ${file} must map names to values`, { file })
  }
  const out: Record<string, string[]> = {}
  for (const [name, value] of Object.entries(parsed)) {
    out[name] = (Array.isArray(value) ? value : [value]).map(String)
  }
  return out
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}
