import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'

import { parse as parseYaml, YAMLError } from 'yaml'

import { parseEvtxJson } from '../../ingest/parsers/evtx-json.ts'
import { ValidationError } from '../../platform/errors.ts'
import type { PalisadeEvent } from '../../platform/event-model.ts'
import { listRuleFiles, loadRules, isRecord } from './load-rules.ts'
import { compileRuleSet, type RuleSetOptions } from './rule-set.ts'

/** One expected detection: the rule `rule_id` must fire on at least one event of `path`. */
export interface RegressCase {
  path: string
  rule_id: string
  fired: boolean
  /** Other rules that fired on the file's events (worth reading, never a failure). */
  also_fired: string[]
  /** Why the rule did not fire, where that can be told. */
  reason?: string
}

export interface RegressReport {
  detected: number
  expected: number
  cases: RegressCase[]
}

export interface RegressOptions extends RuleSetOptions {
  /** Turns a JSON export's text into events; defaults to the EVTX-JSON ingest parser. */
  parseEvents?: (body: string) => Record<string, unknown>[]
}

/**
 * Runs SigmaHQ's regression data against rule folders. Each `info.yml` with
 * `regression_tests_info` is one case per `rule_metadata` id; its events are the `.json`
 * export beside the `.evtx` its `path` names (relative to the Sigma repository's root, so
 * resolved against the `regression_data` folder given here). A case passes when the rule
 * fires on at least one of those events.
 *
 * @throws ValidationError when a folder does not exist, or `PAL_REGRESS_INFO_INVALID` with
 *   the file and line when an `info.yml` cannot be read or is not YAML
 */
export function regress(
  regressionDir: string,
  ruleDirs: readonly string[],
  options: RegressOptions = {},
): RegressReport {
  const parseEvents = options.parseEvents ?? defaultParse
  const loaded = loadRules(ruleDirs)
  const ruleSet = compileRuleSet(loaded.documents, options)
  const rejected = new Map<string, string>()
  for (const r of [...loaded.rejections, ...ruleSet.rejections]) {
    if (r.rule_id) rejected.set(r.rule_id, r.message)
  }

  const cases: RegressCase[] = []
  for (const infoFile of listRuleFiles(regressionDir).filter((f) => f.endsWith('info.yml'))) {
    const info = readInfo(infoFile)
    if (!isRecord(info) || !Array.isArray(info['regression_tests_info'])) continue
    const ruleIds = Array.isArray(info['rule_metadata'])
      ? info['rule_metadata'].filter(isRecord).map((m) => String(m['id']))
      : []

    for (const test of info['regression_tests_info'].filter(isRecord)) {
      const given = String(test['path'] ?? '')
      const jsonPath = resolveEventsPath(regressionDir, infoFile, given)
      const path = relative(process.cwd(), jsonPath) || jsonPath
      const events = existsSync(jsonPath) ? parseEvents(readFileSync(jsonPath, 'utf8')) : undefined

      const firedOn = new Set<string>()
      for (const event of events ?? []) {
        for (const rule of ruleSet.evaluate(event as PalisadeEvent)) firedOn.add(rule.id)
      }
      for (const ruleId of ruleIds) {
        const fired = firedOn.has(ruleId)
        const also = [...firedOn].filter((id) => id !== ruleId).sort()
        const c: RegressCase = { path, rule_id: ruleId, fired, also_fired: also }
        if (!fired) c.reason = missReason(ruleId, events, rejected, ruleSet.ruleById(ruleId))
        cases.push(c)
      }
    }
  }
  return { detected: cases.filter((c) => c.fired).length, expected: cases.length, cases }
}

/** An `info.yml` as parsed; what is wrong with it, with its file and line, if it cannot be. */
function readInfo(infoFile: string): unknown {
  const file = relative(process.cwd(), infoFile) || infoFile
  let text
  try {
    text = readFileSync(infoFile, 'utf8')
  } catch (error) {
    return invalidInfo(file, undefined, `cannot read it: ${(error as Error).message}`)
  }
  try {
    return parseYaml(text) as unknown
  } catch (error) {
    if (!(error instanceof YAMLError)) throw error
    const line = error.linePos?.[0].line
    return invalidInfo(file, line, `invalid YAML: ${error.message.split('\n')[0]}`)
  }
}

function invalidInfo(file: string, line: number | undefined, message: string): never {
  throw new ValidationError(
    `${line === undefined ? file : `${file}:${line}`}: ${message}`,
    { file, ...(line === undefined ? {} : { line }) },
    'PAL_REGRESS_INFO_INVALID',
  )
}

function missReason(
  ruleId: string,
  events: Record<string, unknown>[] | undefined,
  rejected: Map<string, string>,
  rule: ReturnType<ReturnType<typeof compileRuleSet>['ruleById']>,
): string {
  if (events === undefined) return 'events file not found'
  if (events.length === 0) return 'events file holds no parsable event'
  const why = rejected.get(ruleId)
  if (why) return `rule rejected: ${why}`
  if (!rule) return 'rule not found in the rule folders'
  if (rule.kind === 'detection' && rule.missingPlaceholders) {
    const names = rule.missingPlaceholders.map((n) => `%${n}%`)
    return `placeholders without a value: ${names.join(', ')}`
  }
  if (rule.kind === 'detection' && !rule.routed) {
    return `unrouted logsource ${JSON.stringify(rule.logsource)}`
  }
  return 'did not match'
}

/** `regression_data/rules/x/y.evtx` → `<regressionDir>/rules/x/y.json`. */
function resolveEventsPath(regressionDir: string, infoFile: string, given: string): string {
  const json = given.replace(/\.evtx$/i, '.json')
  const inside = json.replace(/^regression_data\//, '')
  const candidate = join(regressionDir, inside)
  if (existsSync(candidate)) return candidate
  // Fall back to the same file name beside info.yml.
  const beside = join(dirname(infoFile), json.split('/').pop() ?? '')
  return existsSync(beside) ? beside : candidate
}

function defaultParse(body: string): Record<string, unknown>[] {
  const ctx = { stream: 'regress', receivedAt: new Date(0), timeZone: 'UTC' }
  return parseEvtxJson(body, ctx).flatMap((r) => (r.event ? [r.event] : []))
}
