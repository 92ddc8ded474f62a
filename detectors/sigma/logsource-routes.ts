import type { Logsource } from './sigma-rule.ts'

/**
 * Logsource routing and field mapping as data, in the manner of pySigma's processing
 * pipelines: each route says which events a Sigma logsource covers and how the rule's field
 * names map onto those events. The routes come from mapping files (`mappings/palisade.yml`
 * and the user's, read by `load-mappings.ts`); adding a source is adding an entry there, never
 * a code branch.
 */

/** How field names resolve: Windows EventData names, or ECS dotted paths. */
export type FieldFamily = 'windows' | 'ecs'

/** One way a logsource shows up in events; a route may have several (Sysmon or Security). */
export interface RouteVariant {
  /** Windows channels (compared case-insensitively). */
  channels?: readonly string[]
  /** Windows event ids within those channels; absent means every event of the channel. */
  eventIds?: readonly number[]
  /** `event.dataset` values. */
  datasets?: readonly string[]
  /** `log.syslog.appname` values. */
  appnames?: readonly string[]
  /**
   * Every event of a family: any Windows event, any syslog record, or any event the DLP
   * scanner found something in (one that carries `dlp`, whatever its source).
   */
  anyOf?: 'windows' | 'syslog' | 'dlp'
  /** Sigma field name → the event's field names to try, in order. */
  fields?: Readonly<Record<string, readonly string[]>>
}

export interface LogsourceRoute {
  logsource: Logsource
  family: FieldFamily
  variants: readonly RouteVariant[]
}

/**
 * The route for a rule's logsource: the entry whose product, category and service are
 * exactly the rule's (absent on both sides counts as equal). Undefined means unrouted.
 */
export function findRoute(
  logsource: Logsource,
  routes: readonly LogsourceRoute[],
): LogsourceRoute | undefined {
  return routes.find(
    (r) =>
      r.logsource.product === logsource.product &&
      r.logsource.category === logsource.category &&
      r.logsource.service === logsource.service,
  )
}

/** The index keys a variant is filed under; an event looks itself up by the same keys. */
export function variantKeys(v: RouteVariant): string[] {
  const keys: string[] = []
  if (v.anyOf === 'windows') keys.push('w')
  if (v.anyOf === 'syslog') keys.push('s')
  if (v.anyOf === 'dlp') keys.push('p')
  for (const channel of v.channels ?? []) {
    const ch = channel.toLowerCase()
    if (v.eventIds) for (const id of v.eventIds) keys.push(`w:${ch}:${id}`)
    else keys.push(`w:${ch}`)
  }
  for (const d of v.datasets ?? []) keys.push(`d:${d}`)
  for (const a of v.appnames ?? []) keys.push(`a:${a}`)
  return keys
}
