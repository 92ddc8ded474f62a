import { alertId, alertLevels, type Alert, type AlertLevel } from '../../platform/alert-model.ts'
import type { PalisadeEvent } from '../../platform/event-model.ts'
import { compileDetection, allOf } from './compile-detection.ts'
import { RuleCompileError, type EventPredicate, type FieldResolver } from './compile-value.ts'
import { FieldCache } from './field-cache.ts'
import { fieldResolver, pathGetter } from './field-resolver.ts'
import { ruleVersion } from './load-rules.ts'
import { builtinMapping, type SigmaMapping } from './load-mappings.ts'
import {
  findRoute,
  variantKeys,
  type FieldFamily,
  type LogsourceRoute,
  type RouteVariant,
} from './logsource-routes.ts'
import { placeholderNames } from './placeholder-names.ts'
import { Gates, keywordCheck, needsOf } from './rule-needs.ts'
import type {
  CorrelationRule,
  DetectionRule,
  FilterRule,
  Logsource,
  RuleRejection,
  SigmaDocument,
} from './sigma-rule.ts'

/** A detection rule ready to run. */
export interface CompiledRule {
  kind: 'detection'
  id: string
  name?: string
  title: string
  /** Hash of the rule's content and of every filter applied to it. */
  version: string
  level: AlertLevel
  tags: string[]
  logsource: Logsource
  file: string
  /** False when no route covers the logsource: the rule is kept but never fires. */
  routed: boolean
  /** False when only correlations use it (`generate: false`, the spec's default). */
  standalone: boolean
  /** Reads a Sigma field name from an event the way this rule's route maps it. */
  field: FieldResolver
  /** Placeholders the rule (or a filter on it) uses that have no value: it matches nothing. */
  missingPlaceholders?: readonly string[]
}

/** A rule that loaded but will not work as written; reported, never a rejection. */
export interface RuleWarning {
  file: string
  line?: number
  rule_id: string
  kind: 'missing-placeholder'
  /** The placeholder names without a value. */
  placeholders: string[]
  message: string
}

/** A correlation rule whose references resolved to loaded rules. */
export interface CompiledCorrelation extends CorrelationRule {
  /** Referenced rules' ids, in the order written (temporal_ordered needs it). */
  ruleIds: string[]
}

export interface RuleSetOptions {
  /** Routes and placeholder values; defaults to the built-in mapping (`builtinMapping()`). */
  mapping?: SigmaMapping
  /**
   * Values for `%name%` placeholders (the `expand` modifier), over the mapping's. A rule using
   * a placeholder that has no value loads but matches nothing, with a warning.
   */
  placeholders?: Readonly<Record<string, readonly string[]>>
  /** Logsource routes, instead of the mapping's. */
  routes?: readonly LogsourceRoute[]
  /**
   * Whether to skip rules whose needs an event does not meet (rule-needs.ts); default true.
   * Off, every routed rule runs on every event of its route: slower, with the same results,
   * which is how the prefilter is tested.
   */
  prefilter?: boolean
  /**
   * Outputs of other detectors (an anomaly feature set's id) that correlations may name in
   * `rules:` like a rule. Each becomes a rule that no event matches and that never alerts on
   * its own; its detector hands the correlator an event for it (`SigmaDetector.correlate`).
   */
  externalRules?: readonly { id: string; title: string }[]
}

export interface RuleSet {
  rules: readonly CompiledRule[]
  correlations: readonly CompiledCorrelation[]
  /** Documents that did not compile, with reasons (loader rejections are not repeated). */
  rejections: readonly RuleRejection[]
  /** Rules that loaded but match nothing until something is given (a placeholder's value). */
  warnings: readonly RuleWarning[]
  /** Detection rules that matched the event (no alert policy applied). */
  evaluate(event: PalisadeEvent): readonly CompiledRule[]
  /** Single-event alerts for matched rules that alert on their own. */
  alertsFor(event: PalisadeEvent, matched: readonly CompiledRule[]): Alert[]
  ruleById(id: string): CompiledRule | CompiledCorrelation | undefined
  /** Whether a rule or correlation alerts on its own (see `generate`). */
  isStandalone(id: string): boolean
}

interface Entry {
  rule: CompiledRule
  slot: { matched: number }
  test: EventPredicate
}

/** The rules filed under one index key, and what each needs of an event to be worth running. */
interface Bucket {
  entries: Entry[]
  gates: Gates
}

/** The rule lists one kind of event is run through, in order, and their keyword check. */
interface Route {
  buckets: Bucket[]
  /** False when no leaf holds a keyword needle of any of them (`keywordCheck`). */
  keywords?: (event: PalisadeEvent) => boolean
}

const NO_MATCH: readonly CompiledRule[] = Object.freeze([])

/**
 * Routes worked out are kept per channel and event id (and per dataset and program), up to this
 * many of each: a flood of made-up channel names must not grow the cache without end.
 */
const MAX_ROUTES = 4096

/**
 * Compiles loaded Sigma documents into a rule set: detection rules become predicates filed
 * under the routes their logsource can match, filters are folded into the rules they name,
 * and correlation rules have their references resolved.
 *
 * @example
 *   const set = compileRuleSet(loadRules(['rules/builtin']).documents)
 *   for (const rule of set.evaluate(event)) console.log(rule.title)
 */
export function compileRuleSet(
  documents: readonly SigmaDocument[],
  options: RuleSetOptions = {},
): RuleSet {
  const mapping = options.mapping ?? builtinMapping()
  const routes = options.routes ?? mapping.routes
  const placeholders = { ...mapping.placeholders, ...options.placeholders }
  // One cache for every rule: a field several rules read is read and folded once per event.
  const cache = new FieldCache()
  const valueOptions = { placeholders, cache }
  // One resolver per family and field mapping, so that rules reading a field share its
  // getter; mappings are compared by content, since each route made from a file has its own.
  const resolvers = new Map<string, FieldResolver>()
  const resolverFor = (family: FieldFamily, fields: RouteVariant['fields']): FieldResolver => {
    const key = `${family}:${JSON.stringify(fields ?? {})}`
    let resolve = resolvers.get(key)
    if (!resolve) {
      resolve = fieldResolver(family, fields)
      resolvers.set(key, resolve)
    }
    return resolve
  }
  const rejections: RuleRejection[] = []
  const warnings: RuleWarning[] = []
  const reject = (doc: SigmaDocument, message: string, line = doc.line): void => {
    rejections.push({ file: doc.file, line, rule_id: doc.id, message })
  }

  const detections = documents.filter((d): d is DetectionRule => d.kind === 'detection')
  const filters = documents.filter((d): d is FilterRule => d.kind === 'filter')
  const correlationDocs = documents.filter((d): d is CorrelationRule => d.kind === 'correlation')

  // Names and ids resolve to ids, for filters and correlations.
  const nameToId = new Map<string, string>()
  for (const r of options.externalRules ?? []) nameToId.set(r.id, r.id)
  for (const d of [...detections, ...correlationDocs]) {
    nameToId.set(d.id, d.id)
    if (d.name) nameToId.set(d.name, d.id)
  }

  const filtersFor = new Map<string, FilterRule[]>()
  for (const f of filters) {
    const unknown = f.rules.filter((r) => !nameToId.has(r))
    if (unknown.length > 0) {
      reject(f, `filter names rules that are not loaded: ${unknown.join(', ')}`)
    }
    for (const ref of f.rules) {
      const id = nameToId.get(ref)
      if (id) filtersFor.set(id, [...(filtersFor.get(id) ?? []), f])
    }
  }

  const correlations: CompiledCorrelation[] = []
  const referencedQuietly = new Set<string>()
  for (const c of correlationDocs) {
    const missing = c.rules.filter((r) => !nameToId.has(r))
    if (missing.length > 0) {
      reject(c, `correlation references rules that are not loaded: ${missing.join(', ')}`)
      continue
    }
    const ruleIds = c.rules.map((r) => nameToId.get(r)!)
    correlations.push({ ...c, ruleIds })
  }
  // Spec ("Generate"): a referenced rule stays quiet unless some correlation using it says
  // `generate: true`.
  const generated = new Set(correlations.filter((c) => c.generate).flatMap((c) => c.ruleIds))
  for (const c of correlations) {
    for (const id of c.ruleIds) if (!generated.has(id)) referencedQuietly.add(id)
  }

  const rules: CompiledRule[] = []
  const index = new Map<string, Entry[]>()
  for (const doc of detections) {
    const route = findRoute(doc.logsource, routes)
    const applied = filtersFor.get(doc.id) ?? []
    const family = route?.family ?? (doc.logsource.product === 'windows' ? 'windows' : 'ecs')
    const rule: CompiledRule = {
      kind: 'detection',
      id: doc.id,
      ...(doc.name ? { name: doc.name } : {}),
      title: doc.title,
      version:
        applied.length === 0 ? doc.version : ruleVersion([doc.raw, ...applied.map((f) => f.raw)]),
      level: (alertLevels as readonly string[]).includes(doc.level ?? '')
        ? (doc.level as AlertLevel)
        : 'medium',
      tags: doc.tags,
      logsource: doc.logsource,
      file: doc.file,
      routed: route !== undefined,
      standalone: !referencedQuietly.has(doc.id),
      field: resolverFor(family, undefined),
    }

    // A value left for the site to give (admins, domain controllers) cannot be guessed. The
    // spec ("Placeholders") has a tool that cannot expand placeholders reject the rule; this
    // one can, so a rule still waiting for its value loads, matches nothing and is reported,
    // and works once the value is given. It is compiled with an empty value meanwhile, so
    // that the rest of it is checked.
    const missing = [doc, ...applied]
      .flatMap((d) => placeholderNames(d.detection))
      .filter((name, i, all) => all.indexOf(name) === i && !placeholders[name]?.length)
    const ruleOptions =
      missing.length === 0
        ? valueOptions
        : {
            cache,
            placeholders: { ...placeholders, ...Object.fromEntries(missing.map((n) => [n, ['']])) },
          }

    // Compile once per route variant, each with its own field names (Sysmon vs Security).
    const variants = route?.variants ?? [{}]
    const compiled: { keys: string[]; test: EventPredicate }[] = []
    try {
      for (const variant of variants) {
        const resolve = resolverFor(family, variant.fields)
        let test = compileDetection(doc.detection, resolve, ruleOptions)
        if (applied.length > 0) {
          // A filter's condition is ANDed into the rule as written, so an exclusion is written
          // `condition: not selection`. The filters specification (v2.1.0, "Examples") shows
          // `condition: selection` with a description that reads as an exclusion, which is
          // ambiguous; pySigma, which the specification was written with, ANDs the condition
          // unchanged (SigmaFilter.apply_on_rule in sigma/filters.py) and writes exclusions
          // with `not`. Following it makes one filter file mean the same in both tools.
          const conditions = applied.map((f): EventPredicate => {
            try {
              return compileDetection(f.detection, resolve, ruleOptions)
            } catch (err) {
              // The fault is the filter's: say which, and where, not the rule's line.
              if (!(err instanceof RuleCompileError)) throw err
              const at = `${f.file}:${err.line ?? f.line}`
              throw new RuleCompileError(`filter ${f.id} (${at}): ${err.message}`)
            }
          })
          test = allOf([test, ...conditions])
        }
        compiled.push({ keys: variantKeys(variant), test })
      }
    } catch (err) {
      if (err instanceof RuleCompileError) {
        reject(doc, err.message, err.line)
        continue
      }
      throw err
    }

    if (missing.length > 0) {
      rule.missingPlaceholders = missing
      const list = missing.map((n) => `%${n}%`).join(', ')
      warnings.push({
        file: doc.file,
        line: doc.line,
        rule_id: doc.id,
        kind: 'missing-placeholder',
        placeholders: missing,
        message:
          `placeholder ${list} ${missing.length === 1 ? 'has' : 'have'} no value: the rule ` +
          'matches nothing until a mapping file or --placeholders gives one',
      })
    }
    rules.push(rule)
    if (!route || missing.length > 0) continue
    const slot = { matched: 0 }
    for (const { keys, test } of compiled) {
      for (const key of keys) {
        const list = index.get(key) ?? []
        list.push({ rule, slot, test })
        index.set(key, list)
      }
    }
  }

  const buckets = new Map<string, Bucket>()
  for (const [key, entries] of index) {
    const needs = entries.map((e) => (options.prefilter === false ? [] : needsOf(e.test)))
    buckets.set(key, { entries, gates: new Gates(needs, cache) })
  }

  const byId = new Map<string, CompiledRule | CompiledCorrelation>()
  for (const r of options.externalRules ?? []) {
    byId.set(r.id, {
      kind: 'detection',
      id: r.id,
      title: r.title,
      version: ruleVersion(r),
      level: 'medium',
      tags: [],
      logsource: {},
      file: '',
      routed: false,
      standalone: false,
      field: resolverFor('ecs', undefined),
    })
  }
  for (const r of rules) byId.set(r.id, r)
  for (const c of correlations) byId.set(c.id, c)

  /** The route of the buckets under these keys, in order; one of each is made and kept. */
  const routeOf = (keys: readonly string[]): Route => {
    const list = keys.flatMap((key) => buckets.get(key) ?? [])
    const keywords = keywordCheck(list.map((b) => b.gates))
    return keywords ? { buckets: list, keywords } : { buckets: list }
  }
  const windowsRoutes = new Map<unknown, Map<unknown, Route>>()
  const windowsRoute = (channel: unknown, eventId: unknown): Route => {
    let byId = windowsRoutes.get(channel)
    if (!byId) {
      if (windowsRoutes.size >= MAX_ROUTES) windowsRoutes.clear()
      byId = new Map()
      windowsRoutes.set(channel, byId)
    }
    let route = byId.get(eventId)
    if (!route) {
      const ch = typeof channel === 'string' ? channel.toLowerCase() : ''
      route = routeOf([`w:${ch}:${String(eventId)}`, `w:${ch}`, 'w'])
      if (byId.size >= MAX_ROUTES) byId.clear()
      byId.set(eventId, route)
    }
    return route
  }
  const keyedRoutes = new Map<string, Route>()
  const keyedRoute = (key: string): Route => {
    let route = keyedRoutes.get(key)
    if (!route) {
      // A program's syslog rules, then every syslog rule.
      route = routeOf(key.startsWith('a:') ? [key, 's'] : [key])
      if (keyedRoutes.size >= MAX_ROUTES) keyedRoutes.clear()
      keyedRoutes.set(key, route)
    }
    return route
  }

  let generation = 0
  const run = (route: Route, event: PalisadeEvent, out: CompiledRule[] | undefined) => {
    const keywords = route.keywords === undefined || route.keywords(event)
    for (const { entries: list, gates } of route.buckets) {
      gates.open(event, keywords)
      const { openItems, openTotal } = gates
      for (let k = 0; k < openTotal; k++) {
        const entry = list[openItems[k]!]!
        if (entry.slot.matched === generation) continue
        if (entry.test(event)) {
          entry.slot.matched = generation
          ;(out ??= []).push(entry.rule)
        }
      }
    }
    return out
  }

  return {
    rules,
    correlations,
    rejections,
    warnings,
    ruleById: (id) => byId.get(id),
    isStandalone: (id) => !referencedQuietly.has(id),
    evaluate(event) {
      generation++
      cache.next()
      let out: CompiledRule[] | undefined
      const w = event.winlog
      if (w) out = run(windowsRoute(w.channel, w.event_id), event, out)
      const dataset = event.event?.dataset
      if (dataset) out = run(keyedRoute(`d:${dataset}`), event, out)
      const syslog = event.log?.syslog
      if (syslog) out = run(keyedRoute(syslog.appname ? `a:${syslog.appname}` : 's'), event, out)
      if ((event as { dlp?: unknown }).dlp) out = run(keyedRoute('p'), event, out)
      return out ?? NO_MATCH
    },
    alertsFor(event, matched) {
      const alerts: Alert[] = []
      for (const rule of matched) {
        if (!rule.standalone) continue
        alerts.push({
          id: alertId(rule.id, rule.version, event.id),
          '@timestamp': event['@timestamp'],
          rule: { id: rule.id, version: rule.version, title: rule.title, kind: 'sigma' },
          level: rule.level,
          tags: rule.tags,
          entity: mainActor(event),
          event_ids: [event.id],
          message: rule.title,
        })
      }
      return alerts
    },
  }
}

const actorFields = ['source.ip', 'user.name', 'host.name', 'winlog.computer_name'].map(
  (path) => [path, pathGetter(path)] as const,
)

/**
 * The entity a single-event alert is about: the remote address when there is one (the
 * attacker in an authentication or network event), else the user, else the host. An event
 * without any of them is its own entity.
 */
export function mainActor(event: PalisadeEvent): { kind: string; value: string } {
  for (const [kind, get] of actorFields) {
    const v = get(event)
    if (typeof v === 'string' && v !== '') return { kind, value: v }
  }
  return { kind: 'event', value: event.id }
}
