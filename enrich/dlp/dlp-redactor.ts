import { createHmac } from 'node:crypto'

import type { Alert } from '../../platform/alert-model.ts'
import type { PalisadeEvent } from '../../platform/event-model.ts'
import type { DlpScanner, DlpType, Finding } from './finding.ts'
import { actionsFor } from './dlp-policy.ts'
import type { DlpAction, DlpActions, DlpPolicy } from './dlp-policy.ts'

/** A finding and what the policy did about it. */
export interface ActedFinding extends Finding {
  action: DlpAction
}

/** What the policy makes of one event. */
export interface EventOutcome {
  /** The copy that may be stored: masked, redacted, tokenised, fields dropped. */
  stored: PalisadeEvent
  /** Every finding acted on (`ignore` ones are left out), with the event's field paths. */
  findings: ActedFinding[]
  /** A `block` finding: nothing of the event may be stored. */
  blocked: boolean
  /** Each field value the policy changed, original to stored, to redact alerts alike. */
  replaced: Map<string, string>
}

/** The summary of findings put on the event as `dlp.*`, which Sigma rules can match. */
export interface DlpSummary {
  count: number
  types: DlpType[]
  actions: DlpAction[]
}

/** Top-level fields that are Palisade's own and hold nothing an emitter wrote. */
const UNSCANNED = new Set(['id', '@timestamp', 'dlp'])

/**
 * Applies a DLP policy: scans events and texts and writes the copies that may be stored.
 * Detection keeps reading the original event, to which only `dlp.*` is added.
 *
 * The token key never leaves this object: tokens are HMAC-SHA256 (RFC 2104) of the type and
 * the value under it, so the same value of the same type always gives the same token and no
 * one without the key can test a guess against one.
 */
export class DlpRedactor {
  readonly #scanner: DlpScanner
  readonly #policy: DlpPolicy
  readonly #tokenKey: Buffer | undefined
  readonly #actions = new Map<string, DlpActions>()

  constructor(options: { scanner: DlpScanner; policy: DlpPolicy; tokenKey?: Buffer }) {
    this.#scanner = options.scanner
    this.#policy = options.policy
    this.#tokenKey = options.tokenKey
  }

  /** The per-type actions for a source and dataset, resolved once per pair. */
  actions(source: string, dataset: string): DlpActions {
    const key = `${source}\u0000${dataset}`
    let actions = this.#actions.get(key)
    if (!actions) {
      actions = actionsFor(this.#policy, source, dataset)
      this.#actions.set(key, actions)
    }
    return actions
  }

  /**
   * Scans an event and applies its policy. When something is found, `event` itself gains
   * `dlp` (count, types, actions) for detection, and so does the stored copy.
   */
  applyToEvent(event: PalisadeEvent, source: string): EventOutcome {
    // `dlp` is Palisade's own: one an emitter sent would pass unscanned and could forge or
    // hide what the bulk exfiltration rule counts, so it is removed before the scan.
    delete (event as Record<string, unknown>).dlp
    const actions = this.actions(source, event.event?.dataset ?? '')
    const findings: ActedFinding[] = []
    const replaced = new Map<string, string>()
    // Changes to make to the stored copy, by key path; the copy is made only if there are any,
    // since most events hold nothing to redact.
    const edits: { keys: string[]; value: string | undefined }[] = []
    // Keys to rename in the stored copy, outermost first: a map keyed by card number or
    // address (`{"cards": {"4111…": …}}`) holds the value in its field name.
    const renames: { keys: string[]; key: string | undefined }[] = []
    let blocked = false

    walk(event as Record<string, unknown>, [], 0, (value, keyPath, path, isKey) => {
      const text = String(value)
      const acted = this.#act(text, path, actions)
      if (acted.length === 0) return
      findings.push(...acted)
      if (acted.some((f) => f.action === 'block')) blocked = true
      const dropped = acted.some((f) => f.action === 'drop_field')
      const rewritten = dropped ? '[DROPPED]' : this.#rewrite(text, acted)
      if (rewritten === text) return
      replaced.set(text, rewritten)
      if (isKey) renames.push({ keys: keyPath(), key: dropped ? undefined : rewritten })
      else edits.push({ keys: keyPath(), value: dropped ? undefined : rewritten })
    })

    let stored = event
    if (edits.length > 0 || renames.length > 0) {
      stored = structuredClone(event)
      for (const { keys, value } of edits) edit(stored as Record<string, unknown>, keys, value)
      // Innermost first, so each key path still names the original keys above it.
      for (const { keys, key } of renames.reverse()) {
        rename(stored as Record<string, unknown>, keys, key)
      }
    }
    // A finding's path is stored and shown: it names a renamed key as the stored copy does.
    for (const { keys, key } of renames) {
      const from = keys[keys.length - 1]!
      for (const f of findings) f.path = f.path.split(from).join(key ?? '[DROPPED]')
    }
    if (findings.length > 0) {
      const summary = summarise(findings)
      ;(event as Record<string, unknown>).dlp = summary
      if (stored !== event) (stored as Record<string, unknown>).dlp = summary
    }
    return { stored, findings, blocked, replaced }
  }

  /**
   * A text as it may be stored (a dead letter's raw bytes and reason, an alert's message):
   * every finding its actions do not merely tag is masked, redacted or tokenised in place;
   * what would drop a field or block an event is redacted, as a text has no fields.
   */
  redactText(text: string, actions: DlpActions): string {
    const acted = this.#act(text, '', actions)
    return acted.length === 0 ? text : this.#rewrite(text, acted)
  }

  /**
   * An alert as it may be stored: its entity value and message get what the same values got
   * in the events of its batch (`replaced`), and are scanned themselves besides.
   */
  redactAlert(alert: Alert, replaced: ReadonlyMap<string, string>, actions: DlpActions): Alert {
    const value = replaced.get(alert.entity.value) ?? this.redactText(alert.entity.value, actions)
    const message =
      alert.message === undefined ? undefined : this.redactText(alert.message, actions)
    if (value === alert.entity.value && message === alert.message) return alert
    return {
      ...alert,
      entity: { ...alert.entity, value },
      ...(message === undefined ? {} : { message }),
    }
  }

  #act(text: string, path: string, actions: DlpActions): ActedFinding[] {
    const acted: ActedFinding[] = []
    for (const finding of this.#scanner.scanText(text, path)) {
      if (finding.confidence < this.#policy.minConfidence) continue
      const action = actions[finding.type]
      if (action !== 'ignore') acted.push({ ...finding, action })
    }
    return acted
  }

  /** The text with each finding's span replaced as its action says, from the end backwards. */
  #rewrite(text: string, findings: readonly ActedFinding[]): string {
    let out = text
    for (const f of [...findings].sort((a, b) => b.start - a.start)) {
      if (f.action === 'tag') continue
      const value = text.slice(f.start, f.end)
      out = out.slice(0, f.start) + this.#replacement(value, f.type, f.action) + out.slice(f.end)
    }
    return out
  }

  #replacement(value: string, type: DlpType, action: DlpAction): string {
    if (action === 'mask') return mask(value)
    if (action === 'tokenise') {
      // Checked at start (`policyTokenises`); a redaction is the safe answer if it is absent.
      if (!this.#tokenKey) return `[REDACTED:${type}]`
      const hmac = createHmac('sha256', this.#tokenKey).update(`${type}\u0000${value}`)
      return `tok_${hmac.digest('base64url').slice(0, 22)}`
    }
    return `[REDACTED:${type}]`
  }
}

/** Stars every letter and digit but the last four, keeping separators where they were. */
export function mask(value: string): string {
  let keep = 4
  let out = ''
  for (let i = value.length - 1; i >= 0; i--) {
    const c = value[i]!
    if (/[A-Za-z0-9]/.test(c)) {
      out = (keep > 0 ? c : '*') + out
      keep--
    } else {
      out = c + out
    }
  }
  // Four characters or fewer would be shown whole: star them all.
  return keep >= 0 ? out.replace(/[A-Za-z0-9]/g, '*') : out
}

function summarise(findings: readonly ActedFinding[]): DlpSummary {
  return {
    count: findings.length,
    types: [...new Set(findings.map((f) => f.type))].sort(),
    actions: [...new Set(findings.map((f) => f.action))].sort(),
  }
}

type Visit = (value: string | number, keys: () => string[], path: string, isKey: boolean) => void

/**
 * Calls `visit` with every string and number under `value`, and every key of an object below
 * the top level, and its dotted path; `keys()` gives the key path, made only when asked for (a
 * value to change), as most values hold nothing.
 */
function walk(
  value: Record<string, unknown> | unknown[],
  stack: string[],
  depth: number,
  visit: Visit,
) {
  if (depth > 128) return
  // Called while `visit` runs, when the stack is the value's key path.
  const keyPath = () => [...stack]
  const keys = Array.isArray(value) ? value.map((_, i) => String(i)) : Object.keys(value)
  for (const key of keys) {
    if (depth === 0 && UNSCANNED.has(key)) continue
    const child = (value as Record<string, unknown>)[key]
    stack.push(key)
    if (!Array.isArray(value)) visit(key, keyPath, stack.join('.'), true)
    if (typeof child === 'string' || typeof child === 'number') {
      visit(child, keyPath, stack.join('.'), false)
    } else if (child !== null && typeof child === 'object') {
      walk(child as Record<string, unknown>, stack, depth + 1, visit)
    }
    stack.pop()
  }
}

/** Sets the value at `keys` (or removes it: an array element becomes `[DROPPED]`). */
function edit(root: Record<string, unknown>, keys: readonly string[], value: string | undefined) {
  let holder: Record<string, unknown> = root
  for (const key of keys.slice(0, -1)) holder = holder[key] as Record<string, unknown>
  const last = keys[keys.length - 1]!
  if (value !== undefined) holder[last] = value
  else if (Array.isArray(holder)) holder[Number(last)] = '[DROPPED]'
  else delete holder[last]
}

/** Renames the key at `keys` (or removes it with its value), keeping its place among the keys. */
function rename(root: Record<string, unknown>, keys: readonly string[], key: string | undefined) {
  let holder: Record<string, unknown> = root
  for (const k of keys.slice(0, -1)) holder = holder[k] as Record<string, unknown>
  const last = keys[keys.length - 1]!
  const entries = Object.entries(holder)
  for (const k of Object.keys(holder)) delete holder[k]
  for (const [k, v] of entries) {
    if (k !== last) holder[k] = v
    else if (key !== undefined) holder[key] = v
  }
}
