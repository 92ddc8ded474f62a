import { describe, expect, it } from 'vitest'

import { batchQuery, planHunt } from '../../../detectors/hunts/hunt-plan.ts'
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
        '  group-by: [Computer]\n  timespan: 5m\n  condition: {gte: 3}\n',
    ].join('---\n'),
  )
  const plan = planHunt(docs)

  it('runs the rules SQL can run, with the version the stream gives them', () => {
    const stream = compileRuleSet(docs)
    expect(plan.rules.map((r) => r.id)).toEqual([ids[0]])
    // The filter is folded in, so the version is the stream's, not the bare rule's.
    expect(plan.rules[0]!.version).toBe(stream.ruleById(ids[0]!)!.version)
    expect(plan.rules[0]!.version).not.toBe(docs[0]!.version)
    expect(plan.rules[0]).toMatchObject({ title: `rule ${ids[0]}`, level: 'high' })
  })

  it('refuses every other rule with its kind and reason', () => {
    expect(plan.refused.map((r) => [r.id, r.kind])).toEqual([
      [ids[1], 'sql_unsupported'],
      [ids[2], 'unrouted'],
      [ids[4], 'correlation'],
    ])
    expect(plan.refused[0]!.reason).toMatch(/fieldref without cased/)
    expect(plan.refused[1]!.reason).toMatch(/no route covers logsource {"product":"nowhere"}/)
    expect(plan.refused[2]!.reason).toMatch(/hunt the rules it references/)
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
