import { derivedId } from '../platform/event-id.ts'

/**
 * Sigma correlation rules made up for the correlation benchmark, as one multi-document YAML
 * text: five detection rules over sshd events (what the OpenSSH log holds) and `count`
 * correlations over them, each with its own id. The correlations cycle through the types
 * (event_count twice as often as the others, as in real packs), group by source address or by
 * user in turn, and vary their timespans (1m to 1h) and thresholds, so some fire and most
 * hold state without firing, as a real pack does. The metric types read `source.port`, the
 * only number these events carry: meaningless as a detection, but the same work as bytes.
 */

/** The detection rules the generated correlations count, by name, with their selection. */
const baseRules: readonly (readonly [string, string])[] = [
  ['bench_ssh_failure', 'event.action: ssh_login\n        event.outcome: failure'],
  ['bench_ssh_success', 'event.category: authentication\n        event.outcome: success'],
  ['bench_ssh_invalid_user', 'event.action: invalid_user'],
  ['bench_ssh_pam_failure', 'event.action: auth_failure'],
  ['bench_ssh_disconnect', 'event.action: disconnect'],
]

const types = [
  'event_count',
  'event_count',
  'value_count',
  'temporal',
  'temporal_ordered',
  'value_sum',
  'value_avg',
  'value_percentile',
] as const

const timespans = ['1m', '5m', '10m', '1h'] as const

function detectionRule(name: string, selection: string): string {
  return `title: Bench ${name}
id: ${derivedId('bench-rule', name)}
name: ${name}
logsource:
    product: linux
    service: sshd
detection:
    selection:
        ${selection}
    condition: selection
level: low
`
}

/** The `condition:` block of correlation `i` of `type`, grouped by `groupBy`. */
function condition(type: (typeof types)[number], i: number, groupBy: string): string {
  const n = 2 + (i % 17)
  switch (type) {
    case 'value_count':
      return `    condition:\n        field: ${groupBy === 'user.name' ? 'source.ip' : 'user.name'}
        gte: ${1 + (i % 5)}\n`
    case 'value_sum':
      return `    condition:\n        field: source.port\n        gte: ${n * 50_000}\n`
    case 'value_avg':
      return `    condition:\n        field: source.port\n        gt: ${30_000 + (i % 7) * 5_000}\n`
    case 'value_percentile':
      return `    condition:\n        field: source.port\n        percentile: 95
        gte: ${40_000 + (i % 5) * 5_000}\n`
    case 'temporal':
    case 'temporal_ordered':
      return ''
    default:
      return `    condition:\n        gte: ${n}\n`
  }
}

function correlationRule(i: number): string {
  const type = types[i % types.length]!
  const groupBy = i % 2 === 0 ? 'source.ip' : 'user.name'
  const first = baseRules[i % baseRules.length]![0]
  const rules =
    type === 'temporal' || type === 'temporal_ordered'
      ? [first, baseRules[(i + 1) % baseRules.length]![0]]
      : [first]
  return `title: Bench correlation ${i} (${type})
id: ${derivedId('bench-correlation', String(i))}
correlation:
    type: ${type}
    rules:
${rules.map((r) => `        - ${r}`).join('\n')}
    group-by:
        - ${groupBy}
    timespan: ${timespans[Math.floor(i / types.length) % timespans.length]}
${condition(type, i, groupBy)}level: medium
`
}

/** The five base detection rules and `count` correlations over them, as one YAML text. */
export function generateCorrelationRules(count: number): string {
  const documents = baseRules.map(([name, selection]) => detectionRule(name, selection))
  for (let i = 0; i < count; i++) documents.push(correlationRule(i))
  return documents.join('---\n')
}
