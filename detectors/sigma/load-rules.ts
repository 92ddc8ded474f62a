import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs'
import type { Stats } from 'node:fs'
import { extname, join, relative } from 'node:path'

import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document } from 'yaml'

import { canonicalJson } from '../../platform/event-id.ts'
import { ValidationError } from '../../platform/errors.ts'
import type {
  CorrelationRule,
  CorrelationType,
  CountCondition,
  DetectionRule,
  FilterRule,
  Logsource,
  RuleRejection,
  SigmaDocument,
} from './sigma-rule.ts'

/** What a load returns: every document that has a valid shape, and every one that has not. */
export interface LoadedRules {
  documents: SigmaDocument[]
  rejections: RuleRejection[]
  /** How many files were read. */
  files: number
}

const correlationTypes: readonly CorrelationType[] = [
  'event_count',
  'value_count',
  'temporal',
  'temporal_ordered',
  'value_sum',
  'value_avg',
  'value_percentile',
]
const conditionKeys = ['gt', 'gte', 'lt', 'lte', 'eq', 'neq'] as const
const timeUnits: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

const levels = ['informational', 'low', 'medium', 'high', 'critical']

/**
 * Lines of the keys and list items of each loaded detection block (and filter block), by
 * path, so that a compile error can say which line it is about. Kept beside the parsed
 * object rather than in it, so the rule's content (and its version hash) is unchanged.
 */
const blockLines = new WeakMap<object, Map<string, number>>()

/**
 * The line, in its file, of a part of a loaded detection block: `['sel']` is the line of the
 * identifier `sel`, `['sel', 'Image|endswith']` of that key, `['sel', 1]` of the second list
 * item. Undefined when unknown (built in code, or merged from an `action: global` document).
 */
export function lineIn(detection: object, path: readonly (string | number)[]): number | undefined {
  return blockLines.get(detection)?.get(JSON.stringify(path))
}

/** Records the lines of a block's keys and items, three levels deep (identifier, item, key). */
function recordLines(target: unknown, node: unknown, lineCounter: LineCounter): void {
  if (!isRecord(target)) return
  const lines = new Map<string, number>()
  const walk = (n: unknown, path: (string | number)[]): void => {
    if (path.length >= 3) return
    if (isMap(n)) {
      for (const pair of n.items) {
        const key = pair.key
        if (!isScalar(key) || !key.range) continue
        const p = [...path, String(key.value)]
        lines.set(JSON.stringify(p), lineCounter.linePos(key.range[0]).line)
        walk(pair.value, p)
      }
    } else if (isSeq(n)) {
      n.items.forEach((item, i) => {
        const range = (item as { range?: [number, number, number] } | null)?.range
        if (!range) return
        const p = [...path, i]
        lines.set(JSON.stringify(p), lineCounter.linePos(range[0]).line)
        walk(item, p)
      })
    }
  }
  walk(node, [])
  blockLines.set(target, lines)
}

/** Stable version of a rule: sha256 over its canonical JSON, first 16 hex characters. */
export function ruleVersion(content: unknown): string {
  return createHash('sha256').update(canonicalJson(content)).digest('hex').slice(0, 16)
}

/** Parses a Sigma timespan (`30s`, `5m`, `1h`, `7d`) to milliseconds, or undefined. */
export function parseTimespan(text: unknown): number | undefined {
  const m = typeof text === 'string' ? /^(\d+)([smhd])$/.exec(text.trim()) : null
  if (!m) return undefined
  return Number(m[1]) * timeUnits[m[2]!]!
}

/**
 * Loads Sigma rules from files and folders (recursively, `.yml` and `.yaml`, following
 * symbolic links).
 *
 * A document that cannot be read, or a link that leads nowhere, becomes a rejection with its
 * file, line and reason; the other documents load regardless. A file reached twice (folders
 * given that overlap) is read once, and a document whose `id` an earlier one already has is
 * rejected, naming both.
 *
 * @param paths folders or files
 * @throws ValidationError when a path does not exist (a hard error, unlike a bad rule)
 * @example
 *   const { documents, rejections } = loadRules(['rules/builtin'])
 */
export function loadRules(paths: readonly string[]): LoadedRules {
  const out: LoadedRules = { documents: [], rejections: [], files: 0 }
  const read = new Set<string>()
  const refused = new Set<string>()
  for (const path of paths) {
    const found = findRuleFiles(path)
    for (const r of found.rejections) {
      const key = `${r.file}\u0000${r.message}`
      if (!refused.has(key)) out.rejections.push(r)
      refused.add(key)
    }
    for (const file of found.files) {
      const real = realpathSync(file)
      if (read.has(real)) continue
      read.add(real)
      out.files++
      const text = readFileSync(file, 'utf8')
      const result = parseRuleText(text, relative(process.cwd(), file) || file)
      out.documents.push(...result.documents)
      out.rejections.push(...result.rejections)
    }
  }
  out.documents = rejectDuplicateIds(out.documents, out.rejections)
  return out
}

/**
 * The documents whose id no earlier document (in file order) has; each later one becomes a
 * rejection naming both places. Rules, correlations and filters share one namespace, since
 * each is referenced, turned off and audited by its id alone.
 */
function rejectDuplicateIds(
  documents: readonly SigmaDocument[],
  rejections: RuleRejection[],
): SigmaDocument[] {
  const first = new Map<string, SigmaDocument>()
  const kept: SigmaDocument[] = []
  for (const doc of documents) {
    const earlier = first.get(doc.id)
    if (!earlier) {
      first.set(doc.id, doc)
      kept.push(doc)
      continue
    }
    // Rules specification, "Identification": an id is globally unique. Keeping the first
    // keeps the running rule stable when a copy of its file is dropped beside it.
    rejections.push({
      file: doc.file,
      line: doc.line,
      rule_id: doc.id,
      message:
        `duplicate id ${doc.id}: this ${doc.kind} (${doc.file}:${doc.line}) has the id of the ` +
        `${earlier.kind} at ${earlier.file}:${earlier.line}, which is loaded instead; ` +
        'give one of them another id',
    })
  }
  return kept
}

/**
 * Every `.yml`/`.yaml` file under `path`, sorted so loads are reproducible. A rule's examples
 * (`x.tests.yml` beside `x.yml`, see `rules test`) are not rules and are left out.
 * Symbolic links are followed; see `findRuleFiles` for the links that lead nowhere.
 *
 * @throws ValidationError when `path` does not exist
 */
export function listRuleFiles(path: string): string[] {
  return findRuleFiles(path).files
}

/** What a walk of a rule path finds: the rule files, and links that could not be followed. */
export interface FoundRuleFiles {
  files: string[]
  rejections: RuleRejection[]
}

/**
 * Walks `path` for rule files (as `listRuleFiles`), following symbolic links to files and
 * folders: a Kubernetes ConfigMap mounts each key as a link into a hidden, timestamped folder.
 * A link whose target is missing (named like a rule file, or without an extension like a
 * folder), or that leads back into a folder being walked, becomes a rejection naming it; the
 * walk goes on. Entries whose names start with a dot are skipped:
 * `.git`, `.github` and the ConfigMap's own `..data` hold no rules, and reading the
 * ConfigMap's files through them would name each rule after a folder that changes on every
 * update.
 *
 * @throws ValidationError when `path` does not exist
 */
export function findRuleFiles(path: string): FoundRuleFiles {
  let stat
  try {
    stat = statSync(path)
  } catch {
    throw new ValidationError(
      `rule path ${path} does not exist`,
      { path },
      'PAL_RULES_PATH_MISSING',
    )
  }
  if (stat.isFile()) return { files: [path], rejections: [] }

  const out: FoundRuleFiles = { files: [], rejections: [] }
  const shown = (p: string) => relative(process.cwd(), p) || p
  const refuse = (p: string, message: string) => out.rejections.push({ file: shown(p), message })
  const walked = new Set<string>()
  const walk = (dir: string, ancestors: readonly string[]): void => {
    const real = realpathSync(dir)
    if (ancestors.includes(real)) {
      refuse(dir, `symlink loop: it leads back to ${shown(real)}, a folder it is inside; skipped`)
      return
    }
    // Two links to one folder: its files are listed once.
    if (walked.has(real)) return
    walked.add(real)

    const inside = [...ancestors, real]
    const entries = readdirSync(dir, { withFileTypes: true })
    // Sorted, so that rejections come in the same order on every file system.
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue
      const full = join(dir, entry.name)
      let kind: 'file' | 'folder' | 'other' = entry.isFile()
        ? 'file'
        : entry.isDirectory()
          ? 'folder'
          : 'other'
      if (entry.isSymbolicLink()) {
        const target = followLink(full)
        if (typeof target === 'string') {
          if (isRuleFileName(entry.name) || extname(entry.name) === '') refuse(full, target)
          continue
        }
        kind = target.isFile() ? 'file' : target.isDirectory() ? 'folder' : 'other'
      }
      if (kind === 'folder') walk(full, inside)
      else if (kind === 'file' && isRuleFileName(entry.name)) out.files.push(full)
    }
  }
  walk(path, [])
  out.files.sort()
  return out
}

/** A rule file's name: `.yml` or `.yaml`, and not a rule's examples (`x.tests.yml`). */
function isRuleFileName(name: string): boolean {
  return /\.ya?ml$/i.test(name) && !/\.tests\.ya?ml$/i.test(name)
}

/** What a symbolic link leads to, or why it leads nowhere. */
function followLink(link: string): Stats | string {
  try {
    return statSync(link)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    let target = '?'
    try {
      target = readlinkSync(link)
    } catch {
      // keep '?': the link went away while being read
    }
    if (code === 'ELOOP') {
      return `symlink loop: ${target} leads back to itself through links; skipped`
    }
    if (code === 'ENOENT') {
      return `dangling symlink: it points to ${target}, which does not exist; skipped`
    }
    return `symlink to ${target} cannot be followed (${code ?? (error as Error).message}); skipped`
  }
}

/**
 * Parses one file's text: each YAML document becomes a detection rule, a correlation rule or
 * a filter. Rule collections (`action: global` / `reset` / `repeat`, Sigma 1.0 multi-document
 * files) are merged into the documents that follow them.
 */
export function parseRuleText(
  text: string,
  file: string,
): { documents: SigmaDocument[]; rejections: RuleRejection[] } {
  const documents: SigmaDocument[] = []
  const rejections: RuleRejection[] = []
  const lineCounter = new LineCounter()
  const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: true })
  if (!Array.isArray(docs)) return { documents, rejections }

  let global: Record<string, unknown> | undefined
  let previous: Record<string, unknown> | undefined
  docs.forEach((doc, index) => {
    const line = lineCounter.linePos(doc.range[0]).line
    if (doc.errors.length > 0) {
      const err = doc.errors[0]!
      rejections.push({
        file,
        line: err.linePos?.[0].line ?? line,
        message: `invalid YAML: ${err.message.split('\n')[0]}`,
      })
      return
    }

    let value: unknown
    try {
      value = doc.toJS({ maxAliasCount: 100 })
    } catch (error) {
      // The yaml package refuses a document whose aliases would expand past the limit (a
      // "billion laughs" document) with a ReferenceError; a rule is refused, never the request.
      if (!(error instanceof ReferenceError)) throw error
      rejections.push({ file, line, message: `invalid YAML: ${error.message}` })
      return
    }
    if (value === null || value === undefined) return
    if (!isRecord(value)) {
      rejections.push({ file, line, message: `expected a YAML map, got ${typeName(value)}` })
      return
    }

    const action = value['action']
    if (action === 'global') {
      global = omit(value, 'action')
      return
    }
    if (action === 'reset') {
      global = undefined
      return
    }
    if (action === 'repeat') {
      if (!previous) {
        rejections.push({ file, line, message: 'action: repeat without a previous document' })
        return
      }
      value = deepMerge(previous, omit(value, 'action'))
    } else if (action !== undefined) {
      rejections.push({ file, line, message: `unknown collection action ${String(action)}` })
      return
    }
    const merged = global ? deepMerge(global, value as Record<string, unknown>) : value
    previous = merged as Record<string, unknown>

    const keyLine = (key: KeyPath): number | undefined => keyLineIn(doc, key, lineCounter)
    const result = toDocument(merged as Record<string, unknown>, file, line, index, keyLine)
    if ('message' in result) rejections.push(result)
    else {
      if (result.kind !== 'correlation') {
        const block = result.kind === 'filter' ? 'filter' : 'detection'
        recordLines(result.detection, doc.get(block, true), lineCounter)
      }
      documents.push(result)
    }
  })
  return { documents, rejections }
}

/** A top-level key (`'title'`) or a path of keys into nested maps (`['correlation', 'type']`). */
type KeyPath = string | readonly string[]

/**
 * The line of a key of a YAML document: of the deepest key along `path` that the document has,
 * so that a missing `correlation.type` is placed at `correlation:`. Undefined when not even the
 * first key is there.
 */
function keyLineIn(doc: Document, path: KeyPath, lineCounter: LineCounter): number | undefined {
  let node: unknown = doc.contents
  let line: number | undefined
  for (const key of typeof path === 'string' ? [path] : path) {
    if (!isMap(node)) break
    const pair = node.items.find((p) => isScalar(p.key) && p.key.value === key)
    const range = (pair?.key as { range?: [number, number, number] } | undefined)?.range
    if (!pair || !range) break
    line = lineCounter.linePos(range[0]).line
    node = pair.value
  }
  return line
}

function toDocument(
  raw: Record<string, unknown>,
  file: string,
  line: number,
  index: number,
  keyLine: (key: KeyPath) => number | undefined = () => undefined,
): SigmaDocument | RuleRejection {
  const id = typeof raw['id'] === 'string' ? raw['id'] : undefined
  /** A rejection at the line of `key` when given and known, else the document's line. */
  const reject = (message: string, key?: KeyPath): RuleRejection => ({
    file,
    line: (key === undefined ? undefined : keyLine(key)) ?? line,
    ...(id ? { rule_id: id } : {}),
    message,
  })

  if (raw['title'] === undefined) {
    return reject('missing title: every Sigma document needs a title string')
  }
  if (typeof raw['title'] !== 'string' || raw['title'].trim() === '') {
    return reject(`title must be a non-empty string, got ${describe(raw['title'])}`, 'title')
  }

  // Rules specification, "Level": one of five values.
  const level = raw['level']
  if (level !== undefined && !levels.includes(level as string)) {
    return reject(`level must be one of ${levels.join(', ')}, got ${describe(level)}`, 'level')
  }

  const base = {
    id: id ?? `${file}#${index}`,
    ...(typeof raw['name'] === 'string' ? { name: raw['name'] } : {}),
    title: raw['title'],
    file,
    line,
    version: ruleVersion(raw),
    ...(typeof raw['level'] === 'string' ? { level: raw['level'] } : {}),
    tags: Array.isArray(raw['tags']) ? raw['tags'].map(String) : [],
    ...(typeof raw['description'] === 'string' ? { description: raw['description'] } : {}),
    raw,
  }

  if ('correlation' in raw) return toCorrelation(raw, base, reject)
  if ('filter' in raw) return toFilter(raw, base, reject)

  const logsource = checkLogsource(raw['logsource'])
  if (typeof logsource === 'string') return reject(logsource, 'logsource')

  const detection = raw['detection']
  if (detection === undefined) {
    return reject(
      'missing detection: a rule needs a detection map of search identifiers and a condition',
    )
  }
  if (!isRecord(detection)) {
    return reject(
      `detection must be a map of search identifiers and a condition, got ${describe(detection)}`,
      'detection',
    )
  }
  if (!('condition' in detection)) {
    return reject(
      'detection has no condition: add condition: with a string or a list of strings',
      'detection',
    )
  }

  const rule: DetectionRule = {
    ...base,
    kind: 'detection',
    logsource,
    detection,
    ...(typeof raw['status'] === 'string' ? { status: raw['status'] } : {}),
  }
  return rule
}

function toCorrelation(
  raw: Record<string, unknown>,
  base: Omit<
    CorrelationRule,
    'kind' | 'type' | 'rules' | 'groupBy' | 'timespanMs' | 'condition' | 'aliases' | 'generate'
  >,
  reject: (message: string, key?: KeyPath) => RuleRejection,
): CorrelationRule | RuleRejection {
  const c = raw['correlation']
  if (!isRecord(c)) {
    return reject(
      'correlation must be a map with type, rules, group-by, timespan and condition, ' +
        `got ${describe(c)}`,
      'correlation',
    )
  }
  const at = (key: string): KeyPath => ['correlation', key]

  const type = c['type']
  if (!correlationTypes.includes(type as CorrelationType)) {
    return reject(
      `correlation.type must be one of ${correlationTypes.join(', ')}, got ${describe(type)}`,
      at('type'),
    )
  }

  const rules = toStringList(c['rules'])
  if (!rules || rules.length === 0) {
    return reject(
      'correlation.rules must list the ids or names of the rules it correlates, ' +
        `got ${describe(c['rules'])}`,
      at('rules'),
    )
  }

  const groupBy = c['group-by'] === undefined ? [] : toStringList(c['group-by'])
  if (!groupBy) {
    return reject(
      `correlation.group-by must be a list of field names, got ${describe(c['group-by'])}`,
      at('group-by'),
    )
  }

  const timespanKey = c['timespan'] === undefined && 'timeframe' in c ? 'timeframe' : 'timespan'
  const timespanMs = parseTimespan(c[timespanKey])
  if (timespanMs === undefined || timespanMs <= 0) {
    return reject(
      `correlation.${timespanKey} must be a number and a unit (s, m, h or d) such as 30s, 5m, ` +
        `1h or 1d, got ${describe(c[timespanKey])}`,
      at(timespanKey),
    )
  }

  const condition = toCondition(type as CorrelationType, c['condition'])
  if ('message' in condition) {
    const key = condition.key
    return reject(condition.message, key ? ['correlation', 'condition', key] : at('condition'))
  }

  const aliases: Record<string, Record<string, string>> = {}
  if (c['aliases'] !== undefined && !isRecord(c['aliases'])) {
    return reject(
      'correlation.aliases must map alias names to maps of rule names to fields, ' +
        `got ${describe(c['aliases'])}`,
      at('aliases'),
    )
  }
  for (const [alias, map] of Object.entries(c['aliases'] ?? {})) {
    if (!isRecord(map)) {
      return reject(
        `correlation.aliases.${alias} must map rule names to fields, got ${describe(map)}`,
        at('aliases'),
      )
    }
    aliases[alias] = Object.fromEntries(Object.entries(map).map(([k, v]) => [k, String(v)]))
  }

  const generate = c['generate'] ?? raw['generate']
  if (generate !== undefined && typeof generate !== 'boolean') {
    const key = c['generate'] === undefined ? 'generate' : at('generate')
    return reject(`correlation.generate must be true or false, got ${describe(generate)}`, key)
  }
  return {
    ...base,
    kind: 'correlation',
    type: type as CorrelationType,
    rules,
    groupBy,
    timespanMs,
    ...condition,
    aliases,
    generate: generate === true,
  }
}

/** Correlation types that compare a number computed from a field's values. */
const metricTypes: readonly CorrelationType[] = ['value_sum', 'value_avg', 'value_percentile']

/** What each type that needs `condition.field` does with it, for the message when it is missing. */
const fieldUse: Partial<Record<CorrelationType, string>> = {
  value_count: 'the field whose distinct values are counted',
  value_sum: 'the numeric field whose values are summed',
  value_avg: 'the numeric field whose values are averaged',
  value_percentile: 'the numeric field whose percentile is compared',
}

/**
 * A correlation's condition (correlation rules specification, "Condition"): one or more of
 * `gt`, `gte`, `lt`, `lte`, `eq`, `neq` with a number, ANDed (a range), and `field` for the
 * types that read one; or what is wrong with it.
 *
 * `value_percentile` also takes `percentile` (0 to 100), the percentile whose value is
 * compared, as pySigma reads it (SigmaCorrelationCondition in sigma/correlations.py); the
 * specification names no such key and hints that "median is a percentile 50", so it defaults
 * to 50.
 */
/** What is wrong with a correlation's condition, and under which of its keys. */
interface ConditionError {
  message: string
  key?: string | undefined
}

function toCondition(
  type: CorrelationType,
  cond: unknown,
): Pick<CorrelationRule, 'condition' | 'field' | 'percentile'> | ConditionError {
  /** What is wrong, placed at the line of the condition's `key` when given. */
  const fail = (message: string, key?: string): ConditionError => ({ message, key })
  const temporal = type === 'temporal' || type === 'temporal_ordered'
  const metric = metricTypes.includes(type)
  const keys = [
    ...conditionKeys,
    ...(temporal ? [] : ['field']),
    ...(type === 'value_percentile' ? ['percentile'] : []),
  ]
  const example = metric ? `{field: bytes, gt: 1000}` : '{gte: 10}'
  if (cond === undefined) {
    if (temporal) return { condition: {} }
    return fail(`${type} correlation needs a condition such as ${example}`)
  }
  if (!isRecord(cond)) {
    return fail(`correlation.condition must be a map such as ${example}, got ${describe(cond)}`)
  }

  const condition: CountCondition = {}
  const out: Pick<CorrelationRule, 'condition' | 'field' | 'percentile'> = { condition }
  for (const [key, value] of Object.entries(cond)) {
    if (!keys.includes(key)) {
      return fail(
        `correlation.condition has an unknown key ${JSON.stringify(key)}: ` +
          `a ${type} condition takes ${keys.join(', ')}`,
        key,
      )
    }

    if (key === 'field') {
      const list = toStringList(value)
      // value_count may count distinct combinations of several fields; the metrics read one.
      if (!list || list.length === 0 || (metric && list.length !== 1)) {
        const expected = metric ? 'one field name' : 'a field name or a list of them'
        return fail(`correlation.condition.field must be ${expected}, got ${describe(value)}`, key)
      }
      out.field = list.join(',')
      continue
    }

    if (key === 'percentile') {
      if (typeof value !== 'number' || !(value >= 0 && value <= 100)) {
        const got = describe(value)
        return fail(
          `correlation.condition.percentile must be a number from 0 to 100, got ${got}`,
          key,
        )
      }
      out.percentile = value
      continue
    }

    if (typeof value !== 'number' || !Number.isFinite(value)) {
      return fail(`correlation.condition.${key} must be a number, got ${describe(value)}`, key)
    }
    condition[key as keyof CountCondition] = value
  }

  if (!temporal && Object.keys(condition).length === 0) {
    return fail(`${type} correlation needs a comparison in its condition, such as ${example}`)
  }

  const use = fieldUse[type]
  if (use && out.field === undefined) {
    return fail(`${type} correlation needs condition.field, ${use}`)
  }
  return out
}

function toFilter(
  raw: Record<string, unknown>,
  base: Omit<FilterRule, 'kind' | 'logsource' | 'rules' | 'detection'>,
  reject: (message: string) => RuleRejection,
): FilterRule | RuleRejection {
  const f = raw['filter']
  if (!isRecord(f)) return reject('filter must be a map with rules, selections and a condition')

  const rules = toStringList(f['rules'])
  if (!rules || rules.length === 0) return reject('filter.rules must list the rules it applies to')

  if (!('condition' in f)) return reject('filter has no condition')

  // Filters specification, "Log source": mandatory, as in a rule.
  const logsource = checkLogsource(raw['logsource'])
  if (typeof logsource === 'string') return reject(logsource)
  return { ...base, kind: 'filter', logsource, rules, detection: omit(f, 'rules') }
}

/** A logsource, or what is wrong with it (rules specification, "Log Source"). */
function checkLogsource(value: unknown): Logsource | string {
  if (value === undefined) {
    return 'missing logsource: a map with product, category or service is needed'
  }
  if (!isRecord(value)) {
    return `logsource must be a map with product, category or service, got ${describe(value)}`
  }
  for (const key of ['product', 'category', 'service'] as const) {
    const v = value[key]
    if (v !== undefined && typeof v !== 'string') {
      return `logsource.${key} must be a string, got ${describe(v)}`
    }
  }
  return toLogsource(value)!
}

/** How a value is named in a message: its JSON for scalars, else its kind. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing'
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a map'
  return JSON.stringify(value) ?? String(value)
}

function toLogsource(value: unknown): Logsource | undefined {
  if (!isRecord(value)) return undefined
  const out: Logsource = {}
  for (const key of ['product', 'category', 'service'] as const) {
    const v = value[key]
    if (typeof v === 'string') out[key] = v.toLowerCase()
  }
  return out
}

function toStringList(value: unknown): string[] | undefined {
  if (typeof value === 'string') return [value]
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value
  return undefined
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function typeName(value: unknown): string {
  return Array.isArray(value) ? 'a list' : typeof value
}

function omit(value: Record<string, unknown>, key: string): Record<string, unknown> {
  const out = { ...value }
  delete out[key]
  return out
}

function deepMerge(
  a: Record<string, unknown>,
  b: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a }
  for (const [key, value] of Object.entries(b)) {
    const prev = out[key]
    out[key] = isRecord(prev) && isRecord(value) ? deepMerge(prev, value) : value
  }
  return out
}
