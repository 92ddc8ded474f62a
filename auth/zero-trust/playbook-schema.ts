import { readFileSync } from 'node:fs'

import { isMap, isSeq, parseDocument } from 'yaml'
import type { Document } from 'yaml'
import { z } from 'zod'

import { alertLevel } from '../../platform/alert-model.ts'
import { ValidationError } from '../../platform/errors.ts'

/** Actions a playbook may take; all but notify change what someone may do. */
export const responseActionTypes = [
  'revoke_sessions',
  'lock_account',
  'block_address',
  'quarantine_device',
  'require_step_up',
  'notify',
] as const
export type ResponseActionType = (typeof responseActionTypes)[number]

const common = {
  /** A person must approve it before it runs (POST /v1/response/actions/:id/approve). */
  approval: z.boolean().default(false),
}

const actionSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('revoke_sessions'), ...common }),
  z.strictObject({ type: z.literal('lock_account'), ...common }),
  z.strictObject({
    type: z.literal('block_address'),
    ...common,
    /** Block the range of this prefix length around the address (24 blocks its /24). */
    prefix: z.number().int().min(8).max(128).optional(),
  }),
  z.strictObject({ type: z.literal('quarantine_device'), ...common }),
  z.strictObject({ type: z.literal('require_step_up'), ...common }),
  z.strictObject({
    type: z.literal('notify'),
    ...common,
    url: z.url({ protocol: /^https?$/ }),
    /** The environment variable holding the HMAC key; the key itself is never in a file. */
    secret_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name'),
  }),
])

export type PlaybookAction = z.infer<typeof actionSchema>

const playbookSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'expected lower-case letters, digits, . _ -'),
  description: z.string().optional(),
  /** Which alerts it answers: every condition given must hold. */
  match: z
    .strictObject({
      rule_ids: z.array(z.string().min(1)).min(1).optional(),
      /** The lowest level: `high` matches high and critical. */
      min_level: alertLevel.optional(),
      /** Any of these tags (as the alert carries them). */
      tags: z.array(z.string().min(1)).min(1).optional(),
      /** Any of these entity fields (`user.name`, `source.ip`, `host.name`, ...). */
      entity_kinds: z.array(z.string().min(1)).min(1).optional(),
    })
    .refine((m) => Object.keys(m).length > 0, {
      error: 'expected at least one condition; a playbook matching every alert is a mistake',
    }),
  actions: z.array(actionSchema).min(1),
  /** Record what it would do, and do nothing. */
  dry_run: z.boolean().default(false),
})

export type Playbook = z.infer<typeof playbookSchema>

const fileSchema = z.strictObject({ version: z.literal(1), playbooks: z.array(playbookSchema) })

/**
 * Reads playbook files (YAML). A file that is not valid stops the start with every problem's
 * file, line and path, like the other configuration files: a playbook half read could lock
 * the wrong people out.
 *
 * @throws {ValidationError} `PAL_PLAYBOOK_INVALID`
 */
export function loadPlaybooks(files: readonly string[]): Playbook[] {
  const out: Playbook[] = []
  const seen = new Set<string>()
  for (const file of files) {
    const text = readFileSync(file, 'utf8')
    const doc = parseDocument(text)
    if (doc.errors.length > 0) {
      const e = doc.errors[0]!
      throw invalid(file, e.linePos?.[0]?.line, '(root)', `expected YAML: ${e.message}`)
    }
    const parsed = fileSchema.safeParse(doc.toJS())
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => ({
        file,
        line: lineOf(doc, text, issue.path),
        path: issue.path.map(String).join('.') || '(root)',
        message: issue.message,
      }))
      const first = problems[0]!
      throw new ValidationError(
        `${file}:${first.line ?? '?'}: ${first.path}: ${first.message}` +
          (problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''),
        { problems },
        'PAL_PLAYBOOK_INVALID',
      )
    }
    for (const playbook of parsed.data.playbooks) {
      if (seen.has(playbook.id)) {
        throw invalid(
          file,
          undefined,
          'playbooks',
          `expected unique ids, got "${playbook.id}" twice`,
        )
      }
      seen.add(playbook.id)
      out.push(playbook)
    }
  }
  return out
}

function invalid(file: string, line: number | undefined, path: string, message: string) {
  return new ValidationError(
    `${file}:${line ?? '?'}: ${path}: ${message}`,
    { problems: [{ file, line, path, message }] },
    'PAL_PLAYBOOK_INVALID',
  )
}

/** The line of the deepest node on `path` that exists in the document, 1-based. */
function lineOf(doc: Document, text: string, path: PropertyKey[]): number | undefined {
  let node: unknown = doc.contents
  let offset: number | undefined
  for (const key of path) {
    if (isMap(node)) node = node.items.find((p) => (p.key as { value?: unknown })?.value === key)
    else if (isSeq(node)) node = node.items[Number(key)]
    else break
    const range = (node as { range?: [number, number] } | undefined)?.range
    const keyRange = (node as { key?: { range?: [number, number] } } | undefined)?.key?.range
    offset = keyRange?.[0] ?? range?.[0] ?? offset
    node = (node as { value?: unknown } | undefined)?.value ?? node
  }
  if (offset === undefined) return undefined
  return text.slice(0, offset).split('\n').length
}
