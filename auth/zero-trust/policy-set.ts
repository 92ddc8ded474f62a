import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'

import * as cedar from '@cedar-policy/cedar-wasm/nodejs'
import type { DetailedError } from '@cedar-policy/cedar-wasm/nodejs'

import { ValidationError } from '../../platform/errors.ts'

/** The Cedar schema every request and every policy set is checked against. */
export const ACCESS_SCHEMA = readFileSync(
  new URL('./palisade.cedarschema', import.meta.url),
  'utf8',
)

/** The policies a fresh instance decides with. */
export const DEFAULT_POLICIES = readFileSync(
  new URL('./default-policies.cedar', import.meta.url),
  'utf8',
)

/** What Palisade reads from one policy's annotations. */
export interface PolicyInfo {
  id: string
  effect: 'permit' | 'forbid'
  /** A forbid annotated `@decision("step_up")`: a fresh second factor lifts it. */
  stepUp: boolean
  obligation?: string
}

/** A policy set that passed validation, ready for Cedar. */
export interface PolicySet {
  /** The text as given. */
  text: string
  /** SHA-256 of the text, hex: which set decided, whatever its version number. */
  digest: string
  /** Policy text by id, as Cedar takes it. */
  policies: Record<string, string>
  info: Map<string, PolicyInfo>
}

/** One reason a policy set was refused: the policy, where in the text, and what is wrong. */
export interface PolicyProblem {
  policy_id?: string
  message: string
  help?: string
  /** Offset into the text, when Cedar gives one. */
  offset?: number
}

/**
 * Parses a Cedar policy set and validates it in strict mode against `ACCESS_SCHEMA`; a set
 * with any problem is refused whole, so a half-understood set never decides anything.
 *
 * Each policy is named by its `@id` annotation (else `policy<N>`, its position), so decisions
 * can name the policies that decided in words an admin wrote.
 *
 * @throws {ValidationError} `PAL_POLICY_INVALID` with every problem (policy, offset, message).
 */
export function compilePolicySet(text: string): PolicySet {
  const parts = cedar.policySetTextToParts(text)
  if (parts.type === 'failure') throw invalid('does not parse', parts.errors.map(problem))

  if (parts.policy_templates.length > 0) {
    throw invalid('holds templates', [
      { message: 'expected static policies only; templates (?principal slots) are not used here' },
    ])
  }

  const policies: Record<string, string> = {}
  const info = new Map<string, PolicyInfo>()
  const problems: PolicyProblem[] = []
  parts.policies.forEach((policyText, index) => {
    const json = cedar.policyToJson(policyText)
    if (json.type === 'failure') {
      problems.push(...json.errors.map(problem))
      return
    }
    const annotations = json.json.annotations ?? {}
    const id = annotations['id'] ?? `policy${index}`
    if (policies[id] !== undefined) {
      problems.push({ policy_id: id, message: `expected each @id once, got "${id}" twice` })
      return
    }
    const decision = annotations['decision']
    if (decision !== undefined && decision !== null && decision !== 'step_up') {
      problems.push({
        policy_id: id,
        message: `expected @decision("step_up") or none, got @decision("${decision}")`,
      })
    }
    if (decision === 'step_up' && json.json.effect !== 'forbid') {
      problems.push({
        policy_id: id,
        message: 'expected @decision("step_up") on a forbid policy, got it on a permit',
      })
    }
    policies[id] = policyText
    const obligation = annotations['obligation']
    info.set(id, {
      id,
      effect: json.json.effect,
      stepUp: decision === 'step_up',
      ...(obligation ? { obligation } : {}),
    })
  })
  if (problems.length > 0) throw invalid('has invalid annotations', problems)

  const validation = cedar.validate({
    schema: ACCESS_SCHEMA,
    policies: { staticPolicies: policies },
    validationSettings: { mode: 'strict' },
  })
  if (validation.type === 'failure') {
    throw invalid('cannot be validated', validation.errors.map(problem))
  }
  if (validation.validationErrors.length > 0) {
    throw invalid(
      'fails validation against the schema',
      validation.validationErrors.map((e) => ({ ...problem(e.error), policy_id: e.policyId })),
    )
  }

  return {
    text,
    digest: createHash('sha256').update(text).digest('hex'),
    policies,
    info,
  }
}

function problem(error: DetailedError): PolicyProblem {
  const offset = error.sourceLocations?.[0]?.start
  return {
    message: error.message,
    ...(error.help ? { help: error.help } : {}),
    ...(offset !== undefined ? { offset } : {}),
  }
}

function invalid(what: string, problems: PolicyProblem[]): ValidationError {
  const first = problems[0]
  const where = first?.policy_id ? ` (policy ${first.policy_id})` : ''
  return new ValidationError(
    `the policy set ${what}: ${first?.message ?? 'no detail'}${where}` +
      (problems.length > 1 ? `, and ${problems.length - 1} more` : ''),
    { problems },
    'PAL_POLICY_INVALID',
  )
}
