import type { Command } from 'commander'

import { runRuleTests } from '../../detectors/sigma/run-rule-tests.ts'
import type { RuleTestCase } from '../../detectors/sigma/run-rule-tests.ts'
import { runOffline } from './offline-action.ts'

/**
 * `rules test FILE...`: runs rules against the example events beside them (an offline tool:
 * it reads files and opens no data). Exit codes: 0 every case passed; 1 a case failed; 2 a
 * hard error (a file that cannot be read, a tested rule that does not compile, a malformed
 * example), reported with its file, line and reason.
 */
export function registerRulesTestCommand(program: Command): void {
  const rules = program.commands.find((c) => c.name() === 'rules') ?? program.command('rules')
  rules
    .command('test')
    .description(
      'run rules against the examples beside them: x.tests.yml (or .tests.json) lists cases, ' +
        'each events and whether the rule must fire; x.json or x.jsonl holds events a rule ' +
        'of x.yml must fire on at least one of',
    )
    .argument('<path...>', 'rule files, or folders (their rule files with examples are tested)')
    .option(
      '--rules <path>',
      'more rules to load beside them, e.g. referenced ones; repeatable',
      collect,
    )
    .option('--json', 'print {passed, failed, cases, untested} as JSON')
    .action((paths: string[], options: { rules?: string[]; json?: boolean }) => {
      let report: ReturnType<typeof runRuleTests> | undefined
      runOffline(options, () => {
        report = runRuleTests(paths, { rules: options.rules ?? [] })
      })
      if (!report) return

      if (options.json) {
        process.stdout.write(`${JSON.stringify(report)}\n`)
      } else {
        for (const c of report.cases) process.stdout.write(`${caseLine(c)}\n`)
        const untested = report.untested.length
        const note = untested > 0 ? `; ${untested} rule files have no examples` : ''
        process.stdout.write(
          `${report.cases.length} cases: ${report.passed} passed, ${report.failed} failed${note}\n`,
        )
      }
      process.exitCode = report.failed > 0 ? 1 : 0
    })
}

function caseLine(c: RuleTestCase): string {
  const mark = c.pass ? 'ok  ' : 'FAIL'
  const why = c.reason ? `: ${c.reason}` : ''
  return `${mark} ${c.file}:${c.line} ${c.name}${why}`
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}
