import type { Command } from 'commander'

import { runPolicyTests } from '../../auth/zero-trust/run-policy-tests.ts'
import type { PolicyTestReport } from '../../auth/zero-trust/run-policy-tests.ts'
import { PalisadeError } from '../errors.ts'
import { jsonError } from './offline-action.ts'

/**
 * `policy test POLICIES CASES`: decides example requests with a Cedar policy set (an offline
 * tool: it reads files and opens no data). Exit codes: 0 every case passed; 1 a case failed;
 * 2 a policy set that fails validation or a malformed cases file, with the reason.
 */
export function registerPolicyCommands(program: Command): void {
  const policy = program
    .command('policy')
    .description('zero-trust access policies (Cedar): test them against example requests')
  policy
    .command('test')
    .description(
      'decide each example request of CASES (YAML or JSON: {cases: [{name, request, expect, ' +
        'risk?, subject?, policies?}]}) with the policy set in POLICIES, as the engine would',
    )
    .argument('<policies>', 'a Cedar policy set, validated against Palisade’s schema first')
    .argument('<cases>', 'the example requests and the answers they must get')
    .option('--json', 'print {passed, failed, cases} as JSON')
    .action(async (policies: string, cases: string, options: { json?: boolean }) => {
      let report: PolicyTestReport
      try {
        report = await runPolicyTests(policies, cases)
      } catch (error) {
        if (!(error instanceof PalisadeError)) throw error
        if (options.json) process.stdout.write(`${jsonError(error)}\n`)
        else process.stderr.write(`palisade: ${error.message}\n`)
        process.exitCode = 2
        return
      }
      if (options.json) {
        process.stdout.write(`${JSON.stringify(report)}\n`)
      } else {
        for (const c of report.cases) {
          const mark = c.pass ? 'ok  ' : 'FAIL'
          const why = c.reason ? `: ${c.reason}` : ''
          process.stdout.write(`${mark} ${c.name} -> ${c.got}${why}\n`)
        }
        process.stdout.write(
          `${report.cases.length} cases: ${report.passed} passed, ${report.failed} failed\n`,
        )
      }
      process.exitCode = report.failed > 0 ? 1 : 0
    })
}
