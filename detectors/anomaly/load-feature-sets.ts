import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

import { LineCounter, parseDocument } from 'yaml'

import { ValidationError } from '../../platform/errors.ts'
import { formatPath, lineAt } from '../sigma/load-mappings.ts'
import { parseTimespan, ruleVersion } from '../sigma/load-rules.ts'
import { featureSetFileSchema } from './feature-set-schema.ts'
import type { Feature, FeatureSetEntry } from './feature-set-schema.ts'

/** A feature set ready to run: its window in milliseconds and a version of its content. */
export interface FeatureSet extends Omit<FeatureSetEntry, 'window'> {
  windowMs: number
  /** A hash of the set as written: a changed set is a new version, and old models are not used. */
  version: string
  features: Feature[]
  file: string
}

interface Problem {
  line?: number
  path: string
  message: string
}

/** The feature sets Palisade ships: user, host and source address behaviour. */
export const builtinFeatureSetsFile = fileURLToPath(new URL('./feature-sets.yml', import.meta.url))

/**
 * The built-in feature sets, then each user file's, in order. A user's set with the id of one
 * before it replaces it (so a site can change the built-in windows or features).
 *
 * @throws ValidationError `PAL_ANOMALY_FEATURES_INVALID` naming the file, line and field path of
 *   every problem, with what was expected and what came
 * @example loadFeatureSets(['site/features.yml']).map((s) => s.id)
 */
export function loadFeatureSets(files: readonly string[] = [], builtin = true): FeatureSet[] {
  const byId = new Map<string, FeatureSet>()
  for (const file of builtin ? [builtinFeatureSetsFile, ...files] : files) {
    for (const set of readFeatureSets(file)) byId.set(set.id, set)
  }
  return [...byId.values()]
}

/**
 * Reads and validates one feature set file.
 *
 * @throws ValidationError `PAL_ANOMALY_FEATURES_INVALID` when it cannot be read or is not valid
 */
export function readFeatureSets(file: string): FeatureSet[] {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw featuresError(file, [{ path: '', message: `cannot read: ${(error as Error).message}` }])
  }
  return parseFeatureSets(text, file)
}

/**
 * Parses and validates the text of a feature set file; `file` names it in errors.
 *
 * @throws ValidationError `PAL_ANOMALY_FEATURES_INVALID`
 */
export function parseFeatureSets(text: string, file: string): FeatureSet[] {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true })
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => ({
      ...(e.linePos ? { line: e.linePos[0].line } : {}),
      path: '',
      message: `invalid YAML: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
    }))
    throw featuresError(file, problems)
  }
  const lineOf = (path: readonly PropertyKey[]) => lineAt(doc, lineCounter, path)

  const result = featureSetFileSchema.safeParse(doc.toJS(), { reportInput: true })
  if (!result.success) {
    const problems = result.error.issues.map((issue): Problem => {
      const at = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path
      return { line: lineOf(at), path: formatPath(issue.path), message: issue.message }
    })
    throw featuresError(file, problems)
  }

  const problems: Problem[] = []
  const ids = new Map<string, number>()
  for (const [i, set] of result.data.feature_sets.entries()) {
    const first = ids.get(set.id)
    if (first !== undefined) {
      problems.push({
        line: lineOf(['feature_sets', i, 'id']),
        path: formatPath(['feature_sets', i, 'id']),
        message: `expected each id once per file, got ${set.id} again (first at line ${
          lineOf(['feature_sets', first, 'id']) ?? '?'
        })`,
      })
    } else ids.set(set.id, i)

    const names = new Map<string, number>()
    for (const [j, feature] of set.features.entries()) {
      const before = names.get(feature.name)
      if (before === undefined) {
        names.set(feature.name, j)
        continue
      }
      const at = ['feature_sets', i, 'features', j, 'name']
      problems.push({
        line: lineOf(at),
        path: formatPath(at),
        message: `expected each feature name once per set, got ${feature.name} again (first at features[${before}])`,
      })
    }
  }
  if (problems.length > 0) throw featuresError(file, problems)

  return result.data.feature_sets.map(({ window, ...set }) => ({
    ...set,
    windowMs: parseTimespan(window)!,
    version: ruleVersion({ ...set, window }),
    file,
  }))
}

function featuresError(file: string, problems: Problem[]): ValidationError {
  const lines = problems.map((p) => {
    const where = p.line ? `${file}:${p.line}` : file
    return `  ${where}${p.path ? ` ${p.path}` : ''}: ${p.message}`
  })
  return new ValidationError(
    `invalid anomaly feature set file ${file}:\n${lines.join('\n')}`,
    { file, problems },
    'PAL_ANOMALY_FEATURES_INVALID',
  )
}
