import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'

import type { AuditLog } from '../../audit/audit-log.ts'
import {
  auditRulesReload,
  auditRulesReloadRefused,
  auditRuleToggle,
} from '../../audit/audit-rule-changes.ts'
import { describeRules, ruleKinds } from '../../detectors/describe-rules.ts'
import type { RuleInfo } from '../../detectors/describe-rules.ts'
import type { RuleControl } from '../../detectors/rule-control.ts'
import { PalisadeError, ValidationError } from '../../platform/errors.ts'
import { setRuleDisabled } from '../../platform/state/disabled-rules.ts'
import type { StateDb } from '../../platform/state/state-store.ts'
import { auditContext } from '../audit-context.ts'
import { requireScope } from '../auth.ts'
import { pageQuery } from './query-schemas.ts'

export interface RuleRouteDeps {
  db: StateDb
  audit: AuditLog
  rules: RuleControl
}

const flag = z
  .enum(['true', 'false'], { error: 'expected true or false' })
  .transform((v) => v === 'true')

// Strict, as the PATCH body is: a misspelt filter (`?knd=filter`) would otherwise list every
// rule as if it had been applied.
const ruleQuery = z.strictObject({
  enabled: flag.optional(),
  kind: z.enum(ruleKinds, { error: 'expected detection, correlation or filter' }).optional(),
  q: z.string().min(1).max(200).optional().meta({
    description: 'Text in the id, name, title or file, in any case',
  }),
  tag: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .meta({
      description:
        'A tag as written, or an ATT&CK one without its prefix (`t1110` finds `attack.t1110` ' +
        'and its sub-techniques)',
    }),
  limit: pageQuery.shape.limit,
  cursor: pageQuery.shape.cursor,
})

const ruleParams = z.object({
  id: z.string().min(1).max(256, { error: 'expected a rule id of at most 256 characters' }),
})

/** A reload takes no options: no body, or an empty object. */
const reloadBody = z.strictObject({}).nullish()

const toggleBody = z.strictObject({
  enabled: z.boolean({ error: 'expected enabled: true or false' }),
})

/**
 * The rules the engine runs, for the people who write them: list and read them (`read`), turn
 * one off or on and reload the folders (`admin`). Both changes take effect at the next batch,
 * without a restart, and are audited before they are answered; a request for an unknown rule
 * is audited as a failure. Whether a rule is off is kept in the state store, so it survives a
 * restart and a reload.
 */
export const ruleRoutes: FastifyPluginAsyncZod<RuleRouteDeps> = async (app, deps) => {
  const read = requireScope(deps.db, 'read')
  // Turning a rule off or reloading changes what is detected: a sensitive action (step-up).
  const admin = requireScope(deps.db, 'admin', deps.audit, { stepUp: true })
  const { rules, audit } = deps
  const describe = () => describeRules(rules.live, (id) => rules.isEnabled(id))

  app.get(
    '/v1/rules',
    {
      onRequest: read,
      schema: {
        summary: 'Loaded rules, correlations and filters, in file order',
        tags: ['rules'],
        querystring: ruleQuery,
      },
    },
    async (request) => pageRules(describe(), request.query),
  )

  app.get(
    '/v1/rules/:id',
    {
      onRequest: read,
      schema: {
        summary: 'One loaded rule, correlation or filter',
        tags: ['rules'],
        params: ruleParams,
      },
    },
    async (request) => findRule(describe(), request.params.id),
  )

  app.patch(
    '/v1/rules/:id',
    {
      onRequest: admin,
      // Refused before the body is read, so whether it would have enabled or disabled is
      // not known: a refusal is audited as rule.toggle, a change as rule.enable or .disable.
      config: { audit: { action: 'rule.toggle', target: { kind: 'rule' } } },
      schema: {
        summary: 'Turn a rule, correlation or filter on or off',
        description:
          'Takes effect at the next batch and survives restarts and reloads. A rule that is ' +
          'off neither alerts nor feeds correlations.',
        tags: ['rules'],
        params: ruleParams,
        body: toggleBody,
      },
    },
    async (request) => {
      const { id } = request.params
      const { enabled } = request.body
      const caller = auditContext(request)
      const doc = rules.find(id)
      if (!doc) {
        await auditRuleToggle(audit, caller, { id, enabled })
        throw notFound(id)
      }

      const by = `${caller.actor.kind}:${caller.actor.id}`
      await setRuleDisabled(deps.db, id, !enabled, by)
      const changed = rules.setEnabled(id, enabled)
      const info = findRule(describe(), id)
      await auditRuleToggle(audit, caller, {
        id,
        enabled,
        rule: { kind: info.kind, version: info.version },
        changed,
      })
      return { ...info, changed }
    },
  )

  app.post(
    '/v1/rules/reload',
    {
      onRequest: admin,
      config: { audit: { action: 'rules.reload', target: { kind: 'rule_set', id: 'loaded' } } },
      schema: {
        summary: 'Read the rule folders again and swap the new rules in',
        description:
          'Compiles every rule file and replaces the running set between two batches. ' +
          'Correlations whose content did not change keep their open windows. Answers with ' +
          'the ids added, changed and removed and every rejected document with its file, ' +
          'line and reason. When nothing compiles, or a folder cannot be read, the running ' +
          'set is kept and the answer is 422.',
        tags: ['rules'],
        body: reloadBody,
      },
    },
    async (request) => {
      const caller = auditContext(request)
      const before = rules.ruleSet
      let report
      try {
        report = rules.reload()
      } catch (error) {
        if (error instanceof PalisadeError) await auditRulesReloadRefused(audit, caller, error)
        throw error
      }
      await auditRulesReload(audit, deps.db, caller, { before, after: rules.ruleSet, report })
      return {
        added: report.added,
        changed: report.changed,
        removed: report.removed,
        rejected: report.rejections,
        warnings: report.warnings,
        rules: report.rules,
        correlations: report.correlations,
        filters: report.filters,
        correlation_state_dropped: report.correlationStateDropped,
      }
    },
  )
}

function notFound(id: string): PalisadeError {
  return new PalisadeError(
    'PAL_NOT_FOUND',
    `no loaded rule, correlation or filter with id ${id}; see GET /v1/rules`,
    { status: 404 },
  )
}

function findRule(infos: RuleInfo[], id: string): RuleInfo {
  const info = infos.find((r) => r.id === id)
  if (!info) throw notFound(id)
  return info
}

interface RuleCursor {
  file: string
  line: number
}

/**
 * One page of rules in file order, filtered. The cursor is the (file, line) of the last item
 * a page returned, so a reload between two pages neither repeats nor skips a rule that
 * stayed where it was.
 */
export function pageRules(
  infos: RuleInfo[],
  query: z.output<typeof ruleQuery>,
): { items: RuleInfo[]; next_cursor: string | null } {
  const after = query.cursor === undefined ? undefined : decodeRuleCursor(query.cursor)
  const q = query.q?.toLowerCase()
  const tag = query.tag?.toLowerCase()
  const matches = infos
    .filter((r) => query.enabled === undefined || r.enabled === query.enabled)
    .filter((r) => query.kind === undefined || r.kind === query.kind)
    .filter((r) => q === undefined || searchText(r).includes(q))
    .filter((r) => tag === undefined || r.tags.some((t) => tagMatches(t.toLowerCase(), tag)))
    .sort(byPlace)
    .filter((r) => after === undefined || byPlace(r, after) > 0)
  const items = matches.slice(0, query.limit)
  const last = items.at(-1)
  const more = matches.length > items.length && last !== undefined
  return {
    items,
    next_cursor: more ? encodeRuleCursor({ file: last.file, line: last.line }) : null,
  }
}

function byPlace(a: RuleCursor, b: RuleCursor): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1
  return a.line - b.line
}

function searchText(r: RuleInfo): string {
  return [r.id, r.name ?? '', r.title, r.file].join('\u0000').toLowerCase()
}

/** `t1110` finds `attack.t1110` and `attack.t1110.001`; any tag as written finds itself. */
function tagMatches(tag: string, wanted: string): boolean {
  for (const w of wanted.startsWith('attack.') ? [wanted] : [wanted, `attack.${wanted}`]) {
    if (tag === w || (w.startsWith('attack.t') && tag.startsWith(`${w}.`))) return true
  }
  return false
}

function encodeRuleCursor(key: RuleCursor): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url')
}

function decodeRuleCursor(cursor: string): RuleCursor {
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as RuleCursor
    if (typeof key.file === 'string' && Number.isInteger(key.line)) return key
  } catch {
    // fall through to the error below
  }
  throw new ValidationError('cursor: expected a cursor returned by a previous page', {
    field: 'cursor',
  })
}
