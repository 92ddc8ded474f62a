import { existsSync, readFileSync, statSync } from 'node:fs'
import { relative } from 'node:path'

import { isSeq, LineCounter, parseDocument } from 'yaml'
import type { Node } from 'yaml'

import { normaliseRecord } from '../../ingest/normalise.ts'
import { parseEvtxJson } from '../../ingest/parsers/evtx-json.ts'
import { parseJsonArray } from '../../ingest/parsers/json-events.ts'
import { splitConcatenatedJson, splitJsonArray } from '../../ingest/parsers/split-json.ts'
import { describeValue, ValidationError } from '../../platform/errors.ts'
import type { PalisadeEvent } from '../../platform/event-model.ts'
import { createCorrelator } from './correlation-engine.ts'
import { isRecord, listRuleFiles, loadRules } from './load-rules.ts'
import { compileRuleSet } from './rule-set.ts'
import type { RuleSet, RuleSetOptions } from './rule-set.ts'

/**
 * What may sit beside a rule file `x.yml` as its examples, in the order they run: cases
 * (`x.tests.yml`, `x.tests.yaml`, `x.tests.json`) and plain events (`x.json`, `x.jsonl`,
 * `x.ndjson`), which mean "a rule of x.yml fires on at least one of them".
 */
export const exampleSuffixes = [
  '.tests.yml',
  '.tests.yaml',
  '.tests.json',
  '.json',
  '.jsonl',
  '.ndjson',
] as const

const CASE_KEYS = new Set(['name', 'description', 'rule', 'fires', 'event', 'events', 'format'])
const FORMATS = ['ecs', 'evtx-json'] as const

export interface RuleTestOptions extends RuleSetOptions {
  /** Rule paths loaded beside the tested ones (rules they reference, filters), not tested. */
  rules?: readonly string[]
  /** Arrival time given to events, the time of those without `@timestamp`. */
  receivedAt?: Date
}

export interface RuleTestCase {
  /** The rule file the case tests. */
  rule_file: string
  /** The examples file, and the line the case starts on. */
  file: string
  line: number
  name: string
  /** The rules the case is about: its `rule`, or those of the file that alert on their own. */
  rules: string[]
  fires: boolean
  /** Of `rules`, those that fired: a detection rule matched, a correlation alerted. */
  fired: string[]
  pass: boolean
  /** Why a case failed. */
  reason?: string
}

export interface RuleTestReport {
  passed: number
  failed: number
  cases: RuleTestCase[]
  /** Rule files under a folder that have no examples beside them. */
  untested: string[]
}

/**
 * Runs rules against the examples beside them (see `exampleSuffixes`). A case file holds a
 * list of cases, or `{rule?, cases}`; each case is a map:
 *
 *   - name: root's failed login fires   # default "case N"
 *     rule: <id or name>               # default: the rules of x.yml that alert on their own
 *     fires: true                      # or false: none of those rules may fire
 *     event: {...}                     # one event, or `events: [...]`, run in order
 *     format: ecs                      # or evtx-json; guessed from the event by default
 *
 * Events are parsed and normalised as ingest does (an exported Windows event by the EVTX-JSON
 * parser), so a case sees what the engine would store. Each case runs on fresh correlation
 * state, whose windows are all closed after its last event. An offline tool: files only.
 *
 * @param paths rule files (each must have examples) or folders (rule files without examples
 *   are listed as untested)
 * @throws {ValidationError} `PAL_RULE_TEST_INVALID` with file and line for a file that cannot
 *   be read, a rule of a tested file that does not compile, or a malformed example;
 *   `PAL_RULES_PATH_MISSING` for a path that does not exist
 */
export function runRuleTests(
  paths: readonly string[],
  options: RuleTestOptions = {},
): RuleTestReport {
  const tested: string[] = []
  const untested: string[] = []
  const context: string[] = []
  for (const given of paths) {
    const isFile = existsSync(given) && statSync(given).isFile()
    // A rule's examples given instead of the rule: test the rule they are beside.
    const path = isFile ? ruleOfExamples(given) : given
    const files = listRuleFiles(path)
    const withExamples = files.filter((f) => examplesOf(f).length > 0)
    if (isFile && withExamples.length === 0) {
      throw invalid(
        path,
        undefined,
        `no examples beside it: expected one of ${examplePaths(path).join(', ')}`,
      )
    }
    if (withExamples.length === 0) {
      throw invalid(path, undefined, 'no rule file in this folder has examples beside it')
    }
    tested.push(...withExamples)
    untested.push(...files.filter((f) => !withExamples.includes(f)).map(shown))
    context.push(...files)
  }
  for (const path of options.rules ?? []) context.push(...listRuleFiles(path))

  let loaded
  try {
    loaded = loadRules([...new Set(context)])
  } catch (error) {
    if (error instanceof ValidationError) throw error
    const path = (error as NodeJS.ErrnoException).path ?? context.join(', ')
    throw invalid(path, undefined, `cannot read it: ${(error as Error).message}`)
  }
  const ruleSet = compileRuleSet(loaded.documents, options)
  const testedNames = new Set(tested.map(shown))
  const broken = [...loaded.rejections, ...ruleSet.rejections].filter((r) =>
    testedNames.has(r.file),
  )
  if (broken.length > 0) {
    const lines = broken.map((r) => `${r.line ? `${r.file}:${r.line}` : r.file}: ${r.message}`)
    throw new ValidationError(
      `a tested rule does not compile:\n  ${lines.join('\n  ')}`,
      {
        file: broken[0]!.file,
        line: broken[0]!.line,
        rejections: broken,
      },
      'PAL_RULE_TEST_INVALID',
    )
  }

  const receivedAt = options.receivedAt ?? new Date()
  const cases: RuleTestCase[] = []
  for (const ruleFile of [...new Set(tested)]) {
    const name = shown(ruleFile)
    const own = [...ruleSet.rules, ...ruleSet.correlations].filter((r) => r.file === name)
    const alerting = own.filter((r) => ruleSet.isStandalone(r.id)).map((r) => r.id)
    const defaults = alerting.length > 0 ? alerting : own.map((r) => r.id)
    for (const examples of examplesOf(ruleFile)) {
      const read = /\.tests\.(ya?ml|json)$/i.test(examples) ? readCases : readEventsFile
      for (const c of read(examples, receivedAt)) {
        const targets = c.rule === undefined ? defaults : [resolveRule(ruleSet, c, examples)]
        cases.push(runCase(ruleSet, { ...c, rule_file: name, file: shown(examples) }, targets))
      }
    }
  }
  const passed = cases.filter((c) => c.pass).length
  return { passed, failed: cases.length - passed, cases, untested }
}

/** A case as read from its file, before it runs. */
interface ReadCase {
  line: number
  name: string
  rule?: string
  fires: boolean
  events: PalisadeEvent[]
}

function runCase(
  ruleSet: RuleSet,
  c: ReadCase & { rule_file: string; file: string },
  targets: string[],
): RuleTestCase {
  const fired = new Set<string>()
  const correlator = createCorrelator(ruleSet)
  for (const event of c.events) {
    const matched = ruleSet.evaluate(event)
    for (const rule of matched) fired.add(rule.id)
    for (const alert of correlator.process(event, matched)) fired.add(alert.rule.id)
  }
  // Every window is decided after the last event, as if the stream had gone quiet for good.
  for (const alert of correlator.flush(Number.MAX_SAFE_INTEGER)) fired.add(alert.rule.id)

  const hit = targets.filter((id) => fired.has(id))
  const pass = c.fires ? hit.length > 0 : hit.length === 0
  const result: RuleTestCase = {
    rule_file: c.rule_file,
    file: c.file,
    line: c.line,
    name: c.name,
    rules: targets,
    fires: c.fires,
    fired: hit,
    pass,
  }
  if (!pass) result.reason = failureReason(ruleSet, c.fires, targets, hit, [...fired])
  return result
}

function failureReason(
  ruleSet: RuleSet,
  fires: boolean,
  targets: string[],
  hit: string[],
  fired: string[],
): string {
  if (!fires) return `expected no alert, but ${hit.join(', ')} fired`
  const unrouted = targets.filter((id) => {
    const r = ruleSet.ruleById(id)
    return r?.kind === 'detection' && !r.routed
  })
  if (unrouted.length === targets.length && targets.length > 0) {
    return `expected ${targets.join(', ')} to fire; no logsource route covers it, so it never does`
  }
  const others = fired.filter((id) => !targets.includes(id))
  const also = others.length > 0 ? `; other rules fired: ${others.join(', ')}` : ''
  return `expected ${targets.join(' or ')} to fire, none did${also}`
}

function resolveRule(ruleSet: RuleSet, c: ReadCase, file: string): string {
  const wanted = c.rule!
  if (ruleSet.ruleById(wanted)) return wanted
  const named = [...ruleSet.rules, ...ruleSet.correlations].find((r) => r.name === wanted)
  if (named) return named.id
  throw invalid(file, c.line, `${c.name}: rule ${wanted} is not loaded (expected an id or name)`)
}

/** Reads a cases file (YAML or JSON), checking each case. */
function readCases(file: string, receivedAt: Date): ReadCase[] {
  const text = readText(file)
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true })
  if (doc.errors.length > 0) {
    const err = doc.errors[0]!
    throw invalid(file, err.linePos?.[0].line, `invalid YAML: ${err.message.split('\n')[0]}`)
  }
  const lineOf = (node: unknown, fallback: number) => {
    const range = (node as Node | null)?.range
    return range ? lineCounter.linePos(range[0]).line : fallback
  }

  const root = doc.toJS({ maxAliasCount: 100 }) as unknown
  let list: unknown
  let listNode: unknown
  let defaultRule: string | undefined
  if (Array.isArray(root)) {
    list = root
    listNode = doc.contents
  } else if (isRecord(root) && Array.isArray(root['cases'])) {
    list = root['cases']
    listNode = doc.getIn(['cases'], true)
    if (root['rule'] !== undefined) {
      if (typeof root['rule'] !== 'string') {
        throw invalid(
          file,
          1,
          `rule: expected a rule id or name, got ${describeValue(root['rule'])}`,
        )
      }
      defaultRule = root['rule']
    }
  } else {
    throw invalid(
      file,
      1,
      `expected a list of cases, or a map with cases:, got ${describeValue(root)}`,
    )
  }

  const items = isSeq(listNode) ? listNode.items : []
  return (list as unknown[]).map((value, i) => {
    const line = lineOf(items[i], 1)
    const where = `case ${i + 1}`
    if (!isRecord(value))
      throw invalid(file, line, `${where}: expected a map, got ${describeValue(value)}`)

    const unknown = Object.keys(value).filter((k) => !CASE_KEYS.has(k))
    if (unknown.length > 0) {
      throw invalid(
        file,
        line,
        `${where}: unknown key ${unknown.join(', ')}; expected ${[...CASE_KEYS].join(', ')}`,
      )
    }

    const name = value['name'] === undefined ? where : value['name']
    if (typeof name !== 'string') {
      throw invalid(file, line, `${where}: name: expected text, got ${describeValue(name)}`)
    }

    const fires = value['fires'] ?? true
    if (typeof fires !== 'boolean') {
      throw invalid(
        file,
        line,
        `${where}: fires: expected true or false, got ${describeValue(fires)}`,
      )
    }

    const rule = value['rule'] ?? defaultRule
    if (rule !== undefined && typeof rule !== 'string') {
      throw invalid(
        file,
        line,
        `${where}: rule: expected a rule id or name, got ${describeValue(rule)}`,
      )
    }

    const format = value['format']
    if (format !== undefined && !(FORMATS as readonly unknown[]).includes(format)) {
      throw invalid(
        file,
        line,
        `${where}: format: expected ecs or evtx-json, got ${describeValue(format)}`,
      )
    }

    const hasOne = value['event'] !== undefined
    const hasMany = value['events'] !== undefined
    if (hasOne === hasMany) {
      throw invalid(
        file,
        line,
        `${where}: expected event: {...} or events: [...], exactly one of them`,
      )
    }
    const raw = hasOne ? [value['event']] : value['events']
    if (!Array.isArray(raw) || raw.length === 0) {
      throw invalid(
        file,
        line,
        `${where}: events: expected a non-empty list, got ${describeValue(raw)}`,
      )
    }
    const events = raw.map((e, n) =>
      toEvent(e, format as (typeof FORMATS)[number] | undefined, receivedAt, (message) =>
        invalid(file, line, `${where}: event ${n + 1}: ${message}`),
      ),
    )
    return { line, name, fires, events, ...(rule === undefined ? {} : { rule }) }
  })
}

/** Reads a plain events file (`x.json`, `x.jsonl`): one case, which must fire. */
function readEventsFile(file: string, receivedAt: Date): ReadCase[] {
  const text = readText(file)
  const lineAt = (offset: number) => text.slice(0, offset).split('\n').length
  const values: { value: unknown; line: number }[] = []
  for (const span of splitConcatenatedJson(text)) {
    const line = lineAt(span.start)
    if (span.error) throw invalid(file, line, `cannot frame the JSON: ${span.error}`)
    const raw = text.slice(span.start, span.end)
    const parse = (json: string, at: number): unknown => {
      try {
        return JSON.parse(json)
      } catch (error) {
        throw invalid(file, at, `invalid JSON: ${(error as Error).message}`)
      }
    }
    const value = parse(raw, line)
    if (!Array.isArray(value)) {
      values.push({ value, line })
      continue
    }
    for (const el of splitJsonArray(raw) ?? []) {
      const at = lineAt(span.start + el.start)
      values.push({ value: parse(raw.slice(el.start, el.end), at), line: at })
    }
  }
  if (values.length === 0) throw invalid(file, 1, 'expected JSON events, got none')

  const events = values.map(({ value, line }, n) =>
    toEvent(value, undefined, receivedAt, (message) =>
      invalid(file, line, `event ${n + 1}: ${message}`),
    ),
  )
  return [{ line: 1, name: `events in ${shown(file)}`, fires: true, events }]
}

/**
 * One example event as ingest would store it: parsed by the EVTX-JSON parser when it is an
 * exported Windows event (or `format` says so), else as an ECS/JSON event, then normalised.
 */
function toEvent(
  value: unknown,
  format: 'ecs' | 'evtx-json' | undefined,
  receivedAt: Date,
  fail: (message: string) => Error,
): PalisadeEvent {
  if (!isRecord(value)) throw fail(`expected a JSON object, got ${describeValue(value)}`)
  const evtx = format
    ? format === 'evtx-json'
    : isRecord(value['Event']) || isRecord(value['System'])
  const ctx = { stream: 'rules-test', receivedAt, timeZone: 'UTC' }
  const [record] = evtx
    ? parseEvtxJson(JSON.stringify(value), ctx)
    : parseJsonArray(JSON.stringify([value]), ctx)
  const result = normaliseRecord(record!, { receivedAt })
  if (!result.ok) {
    const path = result.reason.path ? ` (at ${result.reason.path})` : ''
    throw fail(`not a valid ${evtx ? 'Windows' : 'ECS'} event${path}: ${result.reason.message}`)
  }
  return result.event
}

/** The example files beside a rule file, in the order of `exampleSuffixes`. */
export function examplesOf(ruleFile: string): string[] {
  return exampleSuffixes.map((s) => stem(ruleFile) + s).filter((f) => existsSync(f))
}

/**
 * The rule file that examples at `file` belong to (`x.tests.yml` and `x.json` to `x.yml` or
 * `x.yaml`), or `file` itself when it is not named like examples.
 *
 * @throws {ValidationError} `PAL_RULE_TEST_INVALID` when it is named like examples and no rule
 *   file is beside it
 */
function ruleOfExamples(file: string): string {
  if (/\.ya?ml$/i.test(file) && !/\.tests\.ya?ml$/i.test(file)) return file
  // Longest first, so that x.tests.json is read as examples of x, not of x.tests.
  const suffix = [...exampleSuffixes]
    .sort((a, b) => b.length - a.length)
    .find((s) => file.toLowerCase().endsWith(s))
  if (!suffix) return file
  const base = file.slice(0, -suffix.length)
  const candidates = [`${base}.yml`, `${base}.yaml`]
  const rule = candidates.find((f) => existsSync(f))
  if (rule) return rule
  throw invalid(
    file,
    undefined,
    `this is a rule's examples, not a rule: pass the rule beside it, expected ` +
      `${candidates.map(shown).join(' or ')}, and neither exists`,
  )
}

function stem(ruleFile: string): string {
  return ruleFile.replace(/\.ya?ml$/i, '')
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    throw invalid(file, undefined, `cannot read it: ${(error as Error).message}`)
  }
}

/** A path as `loadRules` names files in rejections, so the two compare. */
function shown(file: string): string {
  return relative(process.cwd(), file) || file
}

function invalid(file: string, line: number | undefined, message: string): ValidationError {
  const where = line ? `${shown(file)}:${line}` : shown(file)
  return new ValidationError(
    `${where}: ${message}`,
    { file: shown(file), line },
    'PAL_RULE_TEST_INVALID',
  )
}

function examplePaths(path: string): string[] {
  return exampleSuffixes.map((suffix) => stem(path) + suffix)
}
