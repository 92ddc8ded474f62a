import { readFileSync } from 'node:fs'

import { isMap, isSeq, LineCounter, parseDocument } from 'yaml'
import type { Node as YamlNode } from 'yaml'
import { z } from 'zod'

import { describeValue, ValidationError } from '../../platform/errors.ts'
import { DLP_TYPES } from './finding.ts'
import type { DlpType } from './finding.ts'

/**
 * What to do with a value of one type:
 * - `ignore`: nothing, and no finding is kept (IP addresses are what a SIEM is made of);
 * - `tag`: keep the value, record the finding and count it on the event;
 * - `mask`: keep the last four letters or digits, star the others (`**** **** **** 1111`);
 * - `redact`: replace the value with `[REDACTED:TYPE]`;
 * - `tokenise`: replace it with a keyed HMAC token (`tok_…`): the same value gives the same
 *   token, so analysts can still correlate without seeing it;
 * - `drop_field`: remove the whole field that holds it;
 * - `block`: store nothing of the event; it goes to dead letters, its raw text redacted.
 */
export const DLP_ACTIONS = [
  'ignore',
  'tag',
  'mask',
  'redact',
  'tokenise',
  'drop_field',
  'block',
] as const
export type DlpAction = (typeof DLP_ACTIONS)[number]

const action = z.enum(DLP_ACTIONS, {
  error: (i) => `expected one of ${DLP_ACTIONS.join(', ')}, got ${describeValue(i.input)}`,
})

/** Per type an action; `'*'` stands for every type not named. */
const actions = z.record(z.string(), action).superRefine((value, ctx) => {
  for (const key of Object.keys(value)) {
    if (key !== '*' && !(DLP_TYPES as readonly string[]).includes(key)) {
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `expected a DLP type (${DLP_TYPES.join(', ')}) or '*', got ${describeValue(key)}`,
      })
    }
  }
})

const names = z.array(z.string().min(1)).min(1)

export const dlpPolicySchema = z.strictObject({
  version: z.literal(1, { error: (i) => `expected version: 1, got ${describeValue(i.input)}` }),
  /** Findings below this confidence are not acted on (the scanner's default, 0.5). */
  minConfidence: z.number().min(0).max(1).default(0.5),
  /** The actions for every event. */
  default: actions.default({}),
  /**
   * Actions for events of some sources or datasets, over the default; every scope that
   * matches applies, a later one winning over an earlier one. `datasets` entries may end in
   * `*` (`payments.*`). A scope with both lists needs both to match.
   */
  scopes: z
    .array(
      z.strictObject({
        sources: names.optional(),
        datasets: names.optional(),
        actions,
      }),
    )
    .default([]),
})

export type DlpPolicy = z.infer<typeof dlpPolicySchema>

/**
 * The policy that applies when none is configured: payment and identity numbers masked or
 * redacted, secrets redacted, private keys blocking their event, contact data tagged, and IP
 * addresses left alone.
 */
export const DEFAULT_DLP_POLICY: DlpPolicy = dlpPolicySchema.parse({
  version: 1,
  default: {
    CREDIT_CARD: 'mask',
    IBAN_CODE: 'mask',
    US_SSN: 'redact',
    EMAIL_ADDRESS: 'tag',
    PHONE_NUMBER: 'tag',
    IP_ADDRESS: 'ignore',
    PRIVATE_KEY: 'block',
    '*': 'redact',
  },
})

/** The action for each type, for events of `source` and `dataset`. */
export type DlpActions = Readonly<Record<DlpType, DlpAction>>

/** Resolves a policy into per-type actions for one source and dataset. */
export function actionsFor(policy: DlpPolicy, source: string, dataset: string): DlpActions {
  const layers = [policy.default]
  for (const scope of policy.scopes) {
    if (scope.sources && !scope.sources.includes(source)) continue
    if (scope.datasets && !scope.datasets.some((d) => datasetMatches(d, dataset))) continue
    layers.push(scope.actions)
  }
  const out = {} as Record<DlpType, DlpAction>
  for (const type of DLP_TYPES) {
    let chosen: DlpAction = 'tag'
    for (const layer of layers) chosen = layer[type] ?? layer['*'] ?? chosen
    out[type] = chosen
  }
  return out
}

function datasetMatches(pattern: string, dataset: string): boolean {
  return pattern.endsWith('*') ? dataset.startsWith(pattern.slice(0, -1)) : pattern === dataset
}

/** True when some scope or the default tokenises, so a token key must be configured. */
export function policyTokenises(policy: DlpPolicy): boolean {
  return [policy.default, ...policy.scopes.map((s) => s.actions)].some((a) =>
    Object.values(a).includes('tokenise'),
  )
}

/**
 * Reads a DLP policy file (YAML or JSON).
 *
 * @throws ValidationError `PAL_DLP_POLICY_INVALID` with the file, the line and the field path,
 *   what was expected and what arrived.
 */
export function loadDlpPolicy(file: string): DlpPolicy {
  const text = readFileSync(file, 'utf8')
  const counter = new LineCounter()
  const document = parseDocument(text, { lineCounter: counter, prettyErrors: false })
  const syntax = document.errors[0]
  if (syntax) {
    const line = syntax.linePos?.[0].line ?? counter.linePos(syntax.pos[0]).line
    throw invalid(`${file}${line ? `:${line}` : ''}: ${syntax.message}`, { file, line })
  }
  const parsed = dlpPolicySchema.safeParse(document.toJS({ maxAliasCount: 100 }))
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]!
  const path = issue.path.map(String)
  const node = document.getIn(path, true) as YamlNode | undefined
  const offset = node?.range?.[0] ?? nearest(document.contents as YamlNode | null, path)
  const line = offset === undefined ? undefined : counter.linePos(offset).line
  const where = `${file}${line ? `:${line}` : ''}`
  throw invalid(`${where}: ${path.join('.') || '(root)'}: ${issue.message}`, {
    file,
    line,
    path: path.join('.'),
  })
}

/** The offset of the deepest node along `path` that exists, for a line to point at. */
function nearest(node: YamlNode | null, path: readonly string[]): number | undefined {
  let current: unknown = node
  let offset = node?.range?.[0]
  for (const key of path) {
    if (!isMap(current) && !isSeq(current)) break
    const next = current.get(isSeq(current) ? Number(key) : key, true) as YamlNode | undefined
    if (!next) break
    offset = next.range?.[0] ?? offset
    current = next
  }
  return offset
}

function invalid(message: string, context: Record<string, unknown>): ValidationError {
  return new ValidationError(message, context, 'PAL_DLP_POLICY_INVALID')
}
