import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml'
import type { Document, Node as YamlNode } from 'yaml'

import { ValidationError } from '../../platform/errors.ts'
import type { FieldFamily, LogsourceRoute, RouteVariant } from './logsource-routes.ts'
import { mappingFileSchema } from './mapping-schema.ts'
import type { EventSelector, MappingFile, RouteEntry } from './mapping-schema.ts'
import type { Logsource } from './sigma-rule.ts'

/** Routes and placeholder values in effect: the built-in mapping with user files over it. */
export interface SigmaMapping {
  routes: readonly LogsourceRoute[]
  /** Placeholder name (without `%`) → its values, for the `expand` modifier. */
  placeholders: Readonly<Record<string, readonly string[]>>
  /** The files it was made from, built-in first. */
  files: readonly string[]
}

/** One mapping file, validated, with a way back from a field path to its line. */
export interface ParsedMapping {
  file: string
  data: MappingFile
  lineOf(path: readonly PropertyKey[]): number | undefined
}

interface Problem {
  line?: number
  path: string
  message: string
}

/** The mapping Palisade ships: routes for Windows, Linux and cloud audit logs. */
export const builtinMappingFile = fileURLToPath(new URL('./mappings/palisade.yml', import.meta.url))

let builtin: SigmaMapping | undefined

/** The built-in mapping, read and validated on first use only. */
export function builtinMapping(): SigmaMapping {
  builtin ??= applyMapping(
    { routes: [], placeholders: {}, files: [] },
    readMapping(builtinMappingFile),
  )
  return builtin
}

/**
 * The built-in mapping with each user file laid over it, in order. How a file combines with
 * what is already defined:
 * - a route for a logsource not yet routed is added (it needs `events`);
 * - a route for a logsource already routed extends it: its `events` are added, and its
 *   route-level `fields` are added to every kind of event of the route, a user's mapping of a
 *   Sigma field name replacing the one before it; `unmapped` replaces the one before;
 * - with `replace: true` the route replaces the one before, whole (it needs `events`);
 * - placeholders are added, a user's value for a name replacing the one before.
 *
 * @throws ValidationError `PAL_SIGMA_MAPPING_INVALID` naming the file, line and field path of
 *   every problem, with what was expected and what came
 * @example loadMappings(['site/mapping.yml']).routes
 */
export function loadMappings(files: readonly string[] = []): SigmaMapping {
  let mapping = builtinMapping()
  for (const file of files) mapping = applyMapping(mapping, readMapping(file))
  return mapping
}

/**
 * Reads and validates one mapping file.
 *
 * @throws ValidationError `PAL_SIGMA_MAPPING_INVALID` when it cannot be read or is not valid
 */
export function readMapping(file: string): ParsedMapping {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw mappingError(file, [{ path: '', message: `cannot read: ${(error as Error).message}` }])
  }
  return parseMapping(text, file)
}

/**
 * Parses and validates the text of a mapping file; `file` names it in errors.
 *
 * @throws ValidationError `PAL_SIGMA_MAPPING_INVALID`
 */
export function parseMapping(text: string, file: string): ParsedMapping {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true })
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => ({
      ...(e.linePos ? { line: e.linePos[0].line } : {}),
      path: '',
      message: `invalid YAML: ${firstLine(e.message).replace(/ at line \d+, column \d+:?$/, '')}`,
    }))
    throw mappingError(file, problems)
  }
  const lineOf = (path: readonly PropertyKey[]) => lineAt(doc, lineCounter, path)

  const result = mappingFileSchema.safeParse(doc.toJS(), { reportInput: true })
  if (!result.success) {
    const problems = result.error.issues.map((issue): Problem => {
      const at = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path
      return { line: lineOf(at), path: formatPath(issue.path), message: issue.message }
    })
    throw mappingError(file, problems)
  }

  const seen = new Map<string, number>()
  const problems: Problem[] = []
  for (const [i, route] of (result.data.routes ?? []).entries()) {
    const key = logsourceKey(route.logsource)
    const first = seen.get(key)
    if (first === undefined) {
      seen.set(key, i)
      continue
    }
    problems.push({
      line: lineOf(['routes', i, 'logsource']),
      path: formatPath(['routes', i, 'logsource']),
      message:
        `expected each logsource once per file, got ${describeLogsource(route.logsource)} ` +
        `again (first at routes[${first}], line ${lineOf(['routes', first]) ?? '?'})`,
    })
  }
  if (problems.length > 0) throw mappingError(file, problems)

  return { file, data: result.data, lineOf }
}

/**
 * Lays one mapping file over a mapping (see `loadMappings` for how they combine).
 *
 * @throws ValidationError `PAL_SIGMA_MAPPING_INVALID` for a route that would have no events
 */
export function applyMapping(base: SigmaMapping, layer: ParsedMapping): SigmaMapping {
  const routes = [...base.routes]
  const indexOf = new Map(routes.map((r, i) => [logsourceKey(r.logsource), i]))
  const problems: Problem[] = []

  for (const [i, entry] of (layer.data.routes ?? []).entries()) {
    const at = indexOf.get(logsourceKey(entry.logsource))
    const prior = at === undefined ? undefined : routes[at]

    if (!entry.events && (prior === undefined || entry.replace)) {
      const why = prior
        ? 'replace: true drops the events defined before'
        : `no route for ${describeLogsource(entry.logsource)} is defined before this file`
      problems.push({
        line: layer.lineOf(['routes', i]),
        path: formatPath(['routes', i]),
        message: `expected events: ${why}`,
      })
      continue
    }

    const route = prior && !entry.replace ? extendRoute(prior, entry) : newRoute(entry)
    if (at === undefined) {
      indexOf.set(logsourceKey(entry.logsource), routes.length)
      routes.push(route)
    } else routes[at] = route
  }
  if (problems.length > 0) throw mappingError(layer.file, problems)

  const placeholders: Record<string, readonly string[]> = { ...base.placeholders }
  for (const [name, values] of Object.entries(layer.data.placeholders ?? {})) {
    placeholders[name] = values
  }
  return { routes, placeholders, files: [...base.files, layer.file] }
}

function newRoute(entry: RouteEntry): LogsourceRoute {
  const logsource = cleanLogsource(entry.logsource)
  const family = familyOf(entry.unmapped, logsource)
  const variants = (entry.events ?? []).map((s) => variantOf(s, entry.fields))
  return { logsource, family, variants }
}

function extendRoute(prior: LogsourceRoute, entry: RouteEntry): LogsourceRoute {
  const kept = prior.variants.map((v) => withFields(v, entry.fields))
  const added = (entry.events ?? []).map((s) => variantOf(s, entry.fields))
  const family = entry.unmapped ? familyOf(entry.unmapped, prior.logsource) : prior.family
  return { logsource: prior.logsource, family, variants: [...kept, ...added] }
}

function familyOf(unmapped: RouteEntry['unmapped'], logsource: Logsource): FieldFamily {
  if (unmapped === 'windows') return 'windows'
  if (unmapped === 'path') return 'ecs'
  return logsource.product === 'windows' ? 'windows' : 'ecs'
}

function variantOf(s: EventSelector, routeFields: RouteEntry['fields']): RouteVariant {
  const v: RouteVariant = {
    ...(s.channels ? { channels: s.channels } : {}),
    ...(s.event_ids ? { eventIds: s.event_ids } : {}),
    ...(s.datasets ? { datasets: s.datasets } : {}),
    ...(s.appnames ? { appnames: s.appnames } : {}),
    ...(s.any ? { anyOf: s.any } : {}),
  }
  // The event kind's own mapping wins over the route's.
  return withFields(withFields(v, routeFields), s.fields)
}

function withFields(v: RouteVariant, fields: RouteEntry['fields']): RouteVariant {
  if (!fields || Object.keys(fields).length === 0) return v
  return { ...v, fields: { ...v.fields, ...fields } }
}

function cleanLogsource(ls: Logsource): Logsource {
  return {
    ...(ls.product !== undefined ? { product: ls.product } : {}),
    ...(ls.category !== undefined ? { category: ls.category } : {}),
    ...(ls.service !== undefined ? { service: ls.service } : {}),
  }
}

function logsourceKey(ls: Logsource): string {
  return JSON.stringify([ls.product ?? null, ls.category ?? null, ls.service ?? null])
}

function describeLogsource(ls: Logsource): string {
  const parts = (['product', 'category', 'service'] as const)
    .filter((k) => ls[k] !== undefined)
    .map((k) => `${k}: ${ls[k]}`)
  return `{${parts.join(', ')}}`
}

/** `routes[3].events[0].fields["gcp.audit.method_name"]` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(String(seg)))
      out += out ? `.${String(seg)}` : String(seg)
    else out += `[${JSON.stringify(String(seg))}]`
  }
  return out
}

/**
 * The 1-based line of the node at `path`: for a map entry the line of its key, for a list item
 * its own. A path that goes beyond the document (a scalar validated as a one-item list) stops
 * at the deepest node it reaches.
 */
export function lineAt(
  doc: Document,
  counter: LineCounter,
  path: readonly PropertyKey[],
): number | undefined {
  let node: unknown = doc.contents
  let offset = (doc.contents as YamlNode | null)?.range?.[0]
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc)
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === seg)
      if (!pair) break
      offset = (pair.key as YamlNode | null)?.range?.[0] ?? offset
      node = pair.value
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as YamlNode | undefined
      if (!item) break
      offset = item.range?.[0] ?? offset
      node = item
    } else break
  }
  return offset === undefined ? undefined : counter.linePos(offset).line
}

function mappingError(file: string, problems: Problem[]): ValidationError {
  const lines = problems.map((p) => {
    const where = p.line ? `${file}:${p.line}` : file
    return `  ${where}${p.path ? ` ${p.path}` : ''}: ${p.message}`
  })
  return new ValidationError(
    `invalid Sigma mapping file ${file}:\n${lines.join('\n')}`,
    { file, problems },
    'PAL_SIGMA_MAPPING_INVALID',
  )
}

function firstLine(text: string): string {
  return text.split('\n')[0]!
}
