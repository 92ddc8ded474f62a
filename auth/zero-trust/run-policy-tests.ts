import { readFileSync } from 'node:fs'

import { parse } from 'yaml'
import { z } from 'zod'

import { ValidationError } from '../../platform/errors.ts'
import { DecisionPoint } from './decision-point.ts'
import type { Decision, DecisionOutcome } from './decision-point.ts'
import { compilePolicySet } from './policy-set.ts'
import { riskEntityKinds } from './risk-register.ts'
import type { EntityRisk, RiskEntityKind } from './risk-register.ts'

const riskScore = z.number().int().min(0).max(100)

/** One example: a request as an enforcement point sends it, and the answer it must get. */
const policyCase = z.strictObject({
  name: z.string().min(1),
  /** Sent as it is, so a malformed request can be an example too. */
  request: z.unknown(),
  expect: z.enum(['allow', 'deny', 'step_up']),
  /** The subject as the users table would give it; an enabled analyst unless told. */
  subject: z
    .strictObject({ role: z.string().min(1), disabled: z.boolean().default(false) })
    .optional(),
  /** Risk per entity kind the request names, 0 to 100; none unless told. */
  risk: z.partialRecord(z.enum(riskEntityKinds), riskScore).optional(),
  /** When given, the policies that must have decided, in any order. */
  policies: z.array(z.string()).optional(),
})

const casesFile = z.strictObject({ cases: z.array(policyCase).min(1) })

export interface PolicyTestResult {
  name: string
  expect: DecisionOutcome
  got: DecisionOutcome
  policies: string[]
  pass: boolean
  /** Why it failed, or the first reason Palisade gave. */
  reason?: string
}

export interface PolicyTestReport {
  passed: number
  failed: number
  cases: PolicyTestResult[]
}

/**
 * `palisade policy test`: decides each example request of `casesPath` (YAML or JSON,
 * `{cases: [...]}`) with the Cedar policy set in `policiesPath`, exactly as the engine would,
 * but with the risk each case gives instead of alerts, and compares the outcome.
 *
 * @throws {ValidationError} `PAL_POLICY_INVALID` when the policy set fails validation, or
 *   `PAL_POLICY_CASES_INVALID` when the cases file is malformed (with the path at fault).
 */
export async function runPolicyTests(
  policiesPath: string,
  casesPath: string,
): Promise<PolicyTestReport> {
  const set = compilePolicySet(readText(policiesPath, 'a Cedar policy set', 'PAL_POLICY_INVALID'))
  const cases = readCases(casesPath)
  const results: PolicyTestResult[] = []

  for (const c of cases) {
    const point = new DecisionPoint({
      policies: () => ({ version: 0, set }),
      risk: { risk: (kind, value) => givenRisk(kind, value, c.risk?.[kind] ?? 0) },
      subject: async () => c.subject ?? { role: 'analyst', disabled: false },
    })
    const decision: Decision = await point.decide(c.request)
    const outcomeOk = decision.decision === c.expect
    const policiesOk =
      c.policies === undefined ||
      [...c.policies].sort().join('\u0000') === [...decision.policies].sort().join('\u0000')
    const pass = outcomeOk && policiesOk
    const first = decision.reasons[0]?.message
    const reason = !outcomeOk
      ? `expected ${c.expect}, got ${decision.decision}${first ? ` (${first})` : ''}`
      : !policiesOk
        ? `expected policies ${c.policies!.join(', ')}, ` +
          `got ${decision.policies.join(', ') || 'none'}`
        : first
    results.push({
      name: c.name,
      expect: c.expect,
      got: decision.decision,
      policies: decision.policies,
      pass,
      ...(reason ? { reason } : {}),
    })
  }

  const passed = results.filter((r) => r.pass).length
  return { passed, failed: results.length - passed, cases: results }
}

/**
 * A file's text; one that cannot be read (missing, a folder, no permission) is refused like a
 * malformed one, so the exit code says "invalid input" (2), never "a case failed" (1).
 */
function readText(path: string, what: string, code: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    throw new ValidationError(
      `${path}: expected ${what}, got a file that cannot be read: ${(error as Error).message}`,
      { file: path },
      code,
    )
  }
}

function readCases(path: string): z.infer<typeof policyCase>[] {
  const text = readText(path, 'YAML or JSON cases', 'PAL_POLICY_CASES_INVALID')
  let raw: unknown
  try {
    raw = parse(text)
  } catch (error) {
    throw new ValidationError(
      `${path}: expected YAML or JSON, got text that does not parse: ${(error as Error).message}`,
      { file: path },
      'PAL_POLICY_CASES_INVALID',
    )
  }
  const parsed = casesFile.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const where = issue.path.map(String).join('.') || '(root)'
    throw new ValidationError(
      `${path}: ${where}: ${issue.message}`,
      { file: path, path: where },
      'PAL_POLICY_CASES_INVALID',
    )
  }
  return parsed.data.cases
}

function givenRisk(kind: RiskEntityKind, value: string, score: number): EntityRisk {
  const contributions =
    score === 0
      ? []
      : [
          {
            alert_id: `example-${kind}`,
            rule_id: 'example',
            rule_title: `risk given by the example`,
            level: 'medium' as const,
            at: new Date(0).toISOString(),
            weight: score,
            current: score,
          },
        ]
  return { kind, value, score, contributions }
}
