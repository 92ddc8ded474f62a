import { describe, expect, it } from 'vitest'

import { batchQuery, correlationQuery, planHunt } from '../../../detectors/hunts/hunt-plan.ts'
import { parseRuleText } from '../../../detectors/sigma/load-rules.ts'
import { compileRuleSet } from '../../../detectors/sigma/rule-set.ts'

function documents(yaml: string) {
  const { documents, rejections } = parseRuleText(yaml, 'test.yml')
  if (rejections.length > 0) throw new Error(JSON.stringify(rejections))
  return documents
}

const rule = (id: string, detection: string, logsource = '{product: windows, service: security}') =>
  `title: rule ${id}\nid: ${id}\nlevel: high\nlogsource: ${logsource}\ndetection:\n${detection}\n`

const ids = [1, 2, 3, 4, 5].map((n) => `0000000${n}-0000-4000-8000-000000000000`)

describe('planning a hunt', () => {
  const docs = documents(
    [
      rule(ids[0]!, "  s: {TargetUserName|endswith: '$'}\n  condition: s"),
      rule(ids[1]!, '  s: {SubjectUserName|fieldref: TargetUserName}\n  condition: s'),
      rule(ids[2]!, '  s: {a: b}\n  condition: s', '{product: nowhere}'),
      `title: filter\nid: ${ids[3]}\nlogsource: {product: windows, service: security}\n` +
        `filter:\n  rules: [${ids[0]}]\n  s: {TargetUserName: 'krbtgt$'}\n  condition: not s\n`,
      `title: corr\nid: ${ids[4]}\ncorrelation:\n  type: event_count\n  rules: [${ids[0]}]\n` +
        '  group-by: [Computer]\n  timespan: 5m\n  generate: true\n  condition: {gte: 3}\n',
    ].join('---\n'),
  )
  const plan = planHunt(docs)

  it('runs the rules SQL can run, with the version the stream gives them', () => {
    const stream = compileRuleSet(docs)
    expect(plan.rules.map((r) => r.id).sort()).toEqual([ids[0], ids[4]])
    const detection = plan.batches.flatMap((b) => b.rules)
    expect(detection.map((r) => r.id)).toEqual([ids[0]])
    // The filter is folded in, so the version is the stream's, not the bare rule's.
    expect(detection[0]!.version).toBe(stream.ruleById(ids[0]!)!.version)
    expect(detection[0]!.version).not.toBe(docs[0]!.version)
    expect(detection[0]).toMatchObject({ title: `rule ${ids[0]}`, level: 'high' })
  })

  it('refuses every other rule with its kind and reason', () => {
    expect(plan.refused.map((r) => [r.id, r.kind])).toEqual([
      [ids[1], 'sql_unsupported'],
      [ids[2], 'unrouted'],
    ])
    expect(plan.refused[0]!.reason).toMatch(/fieldref without cased/)
    expect(plan.refused[1]!.reason).toMatch(/no route covers logsource {"product":"nowhere"}/)
  })

  it('binds every rule value as a parameter, never in the SQL text', () => {
    const [batch] = plan.batches
    const query = batchQuery(batch!, 'palisade')
    expect(query).not.toContain('krbtgt')
    expect(query).not.toContain("'$'")
    expect(Object.values(batch!.params)).toContain('krbtgt$')
    expect(query).toMatch(/\{hunt_from:Int64\}/)
    expect(query).toMatch(/\{hunt_to:Int64\}/)
    expect(query).toMatch(/FROM palisade\.events/)
    expect(query).toMatch(/WHERE r0$/)
  })

  it('closes a batch at the rule limit, each batch with its own parameters', () => {
    const many = documents(
      Array.from({ length: 7 }, (_, i) =>
        rule(
          `1000000${i}-0000-4000-8000-000000000000`,
          `  s: {TargetUserName: u${i}}\n  condition: s`,
        ),
      ).join('---\n'),
    )
    const batched = planHunt(many, { batchRules: 3 })
    expect(batched.batches.map((b) => b.rules.length)).toEqual([3, 3, 1])
    expect(batched.batches.map((b) => batchQuery(b, 'db').match(/ AS r\d+/g)!.length)).toEqual([
      3, 3, 1,
    ])
    expect(Object.values(batched.batches[2]!.params)).toContain('u6')
    expect(Object.values(batched.batches[2]!.params)).not.toContain('u0')
  })
})

describe('planning a hunt of correlations', () => {
  const c = ['a', 'b', 'c', 'd', 'e', 'f'].map((n) => `c000000${n}-0000-4000-8000-000000000000`)
  const correlation = (id: string, type: string, rules: string[], field = '', generate = false) =>
    `title: corr ${id}\nid: ${id}\nlevel: critical\ncorrelation:\n  type: ${type}\n` +
    `  rules: [${rules.join(', ')}]\n  group-by: [Computer]\n  timespan: 5m\n` +
    `  generate: ${generate}\n` +
    `  condition: {gte: 3${field ? `, field: ${field}` : ''}}\n`
  const docs = documents(
    [
      rule(ids[0]!, "  s: {TargetUserName|endswith: '$'}\n  condition: s"),
      rule(ids[1]!, '  s: {EventID: 4625}\n  condition: s'),
      correlation(c[0]!, 'event_count', [ids[0]!]),
      correlation(c[1]!, 'value_count', [ids[1]!], 'TargetUserName'),
      correlation(c[2]!, 'temporal', [ids[0]!, ids[1]!]),
      // generate: true, so the correlation it chains on alerts on its own too.
      correlation(c[3]!, 'event_count', [c[0]!], '', true),
      correlation(c[4]!, 'value_sum', [ids[1]!], 'Count'),
    ].join('---\n'),
  )
  const plan = planHunt(docs)

  it('runs event_count and value_count as one query each, with the stream version', () => {
    expect(plan.correlations.map((h) => h.rule.id)).toEqual([c[0], c[1]])
    expect(plan.correlations[0]!.rule).toEqual({
      id: c[0],
      title: `corr ${c[0]}`,
      version: compileRuleSet(docs).ruleById(c[0]!)!.version,
      level: 'critical',
      tags: [],
    })
    expect(plan.correlations[1]!.rules.map((r) => r.id)).toEqual([ids[1]])
  })

  it('keeps the rules its correlations reference with generate false quiet', () => {
    expect(plan.rules.map((r) => r.id).sort()).toEqual([c[0], c[1]].sort())
    expect(plan.batches).toEqual([])
  })

  it('still runs a referenced rule on its own when the user asked for it', () => {
    const asked = planHunt(docs, { requested: [ids[1]!] })
    expect(asked.batches.flatMap((b) => b.rules.map((r) => r.id))).toEqual([ids[1]])
  })

  it('keeps a correlation that only feeds another quiet, as the stream does', () => {
    const chained = documents(
      [
        rule(ids[0]!, "  s: {TargetUserName|endswith: '$'}\n  condition: s"),
        correlation(c[0]!, 'event_count', [ids[0]!]),
        correlation(c[2]!, 'temporal', [c[0]!]),
      ].join('---\n'),
    )
    const quiet = planHunt(chained)
    expect(quiet.rules).toEqual([])
    expect(quiet.refused.map((r) => r.id)).toEqual([c[2]])
    expect(planHunt(chained, { requested: [c[0]!] }).rules.map((r) => r.id)).toEqual([c[0]])
  })

  it('refuses the correlations SQL does not compile with the compiler’s reason', () => {
    expect(plan.refused.map((r) => [r.id, r.kind])).toEqual([
      [c[2], 'correlation'],
      [c[3], 'correlation'],
      [c[4], 'correlation'],
    ])
    expect(plan.refused[0]!.reason).toMatch(/temporal is not compiled to SQL/)
    expect(plan.refused[1]!.reason).toMatch(/a correlation over correlations is not compiled/)
    expect(plan.refused[2]!.reason).toMatch(/value_sum is not compiled to SQL/)
  })

  it('refuses a correlation whose referenced rules are not given, saying which', () => {
    const alone = planHunt(documents(correlation(c[5]!, 'event_count', [ids[2]!])))
    expect(alone.refused).toMatchObject([{ id: c[5], kind: 'rejected' }])
    expect(alone.refused[0]!.reason).toContain(ids[2])
  })

  it('compiles a correlation over the whole hunted range, bound as parameters', () => {
    const from = Date.parse('2026-01-01T00:00:00Z')
    const to = Date.parse('2026-02-01T00:00:00Z')
    const { sql, params } = correlationQuery(plan.correlations[0]!, 'palisade', from, to)
    expect(sql).toMatch(/FROM palisade\.events/)
    expect(sql).not.toContain(String(from))
    expect(Object.values(params)).toEqual(expect.arrayContaining([from, to]))
  })
})
