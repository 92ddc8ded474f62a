import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import {
  builtinMapping,
  loadMappings,
  parseMapping,
} from '../../../detectors/sigma/load-mappings.ts'
import { findRoute } from '../../../detectors/sigma/logsource-routes.ts'
import { loadRules } from '../../../detectors/sigma/load-rules.ts'
import { compileRuleSet } from '../../../detectors/sigma/rule-set.ts'
import type { PalisadeEvent } from '../../../platform/event-model.ts'
import { PalisadeError } from '../../../platform/errors.ts'
import { processRule, ruleSetFrom, sysmon } from './helpers.ts'

const dir = mkdtempSync(join(tmpdir(), 'palisade-mapping-'))
let files = 0

/** Writes a user mapping file and returns its path. */
function mappingFile(text: string): string {
  const file = join(dir, `mapping-${++files}.yml`)
  writeFileSync(file, text)
  return file
}

/** The error a mapping text gives, as the user would read it. */
function problemsOf(text: string): string {
  try {
    loadMappings([mappingFile(text)])
  } catch (error) {
    if (error instanceof PalisadeError) {
      expect(error.code).toBe('PAL_SIGMA_MAPPING_INVALID')
      return error.message
    }
    throw error
  }
  throw new Error('expected the mapping to be refused')
}

function jsonEvent(fields: Record<string, unknown>): PalisadeEvent {
  return {
    id: '00000000-0000-4000-8000-00000000c10d',
    '@timestamp': '2026-01-01T00:00:00Z',
    ...fields,
  } as PalisadeEvent
}

const sigma = '../shared/corpora/sigma/rules'

describe('the built-in mapping', () => {
  it('loads, validates and routes each logsource once', () => {
    const { routes, files } = builtinMapping()
    expect(files).toHaveLength(1)
    const keys = routes.map((r) => JSON.stringify(r.logsource))
    expect(new Set(keys).size).toBe(keys.length)
    const process = findRoute({ product: 'windows', category: 'process_creation' }, routes)
    expect(process?.variants.map((v) => v.eventIds)).toEqual([[1], [4688]])
    expect(process?.variants[1]?.fields?.['Image']).toEqual(['NewProcessName'])
  })

  it('covers Windows, Linux and the cloud audit logs', () => {
    const { routes } = builtinMapping()
    for (const logsource of [
      { product: 'windows', category: 'registry_set' },
      { product: 'windows', category: 'ps_script' },
      { product: 'windows', service: 'security' },
      { product: 'linux', service: 'sshd' },
      { product: 'aws', service: 'cloudtrail' },
      { product: 'azure', service: 'signinlogs' },
      { product: 'gcp', service: 'gcp.audit' },
      { product: 'okta', service: 'okta' },
      { product: 'm365', service: 'audit' },
    ]) {
      expect(findRoute(logsource, routes), JSON.stringify(logsource)).toBeDefined()
    }
  })

  it('runs a real CloudTrail rule on a CloudTrail record identified by its dataset', () => {
    const { documents } = loadRules([`${sigma}/cloud/aws/cloudtrail/aws_root_account_usage.yml`])
    const set = compileRuleSet(documents)
    const record = {
      event: { dataset: 'aws.cloudtrail' },
      eventSource: 'iam.amazonaws.com',
      eventName: 'CreateAccessKey',
      eventType: 'AwsApiCall',
      userIdentity: { type: 'Root', arn: 'arn:aws:iam::123456789012:root' },
    }
    expect(set.evaluate(jsonEvent(record)).map((r) => r.title)).toEqual(['AWS Root Credentials'])
    expect(set.evaluate(jsonEvent({ ...record, eventType: 'AwsServiceEvent' }))).toHaveLength(0)
    // The same record from another source is not CloudTrail's.
    expect(set.evaluate(jsonEvent({ ...record, event: { dataset: 'other' } }))).toHaveLength(0)
  })

  it('matches CloudTrail rules on events shaped by ECS as well as on raw records', () => {
    const { documents } = loadRules([
      `${sigma}/cloud/aws/cloudtrail/aws_cloudtrail_disable_logging.yml`,
    ])
    const set = compileRuleSet(documents)
    const raw = { eventSource: 'cloudtrail.amazonaws.com', eventName: 'StopLogging' }
    const ecs = { action: 'DeleteTrail', provider: 'cloudtrail.amazonaws.com' }
    expect(set.evaluate(jsonEvent({ event: { dataset: 'aws.cloudtrail' }, ...raw }))).toHaveLength(
      1,
    )
    expect(set.evaluate(jsonEvent({ event: { dataset: 'aws.cloudtrail', ...ecs } }))).toHaveLength(
      1,
    )
  })

  it('runs a real Okta rule on an Okta System Log event', () => {
    const { documents } = loadRules([`${sigma}/identity/okta/okta_api_token_created.yml`])
    const set = compileRuleSet(documents)
    const event = jsonEvent({
      event: { dataset: 'okta.system' },
      eventType: 'system.api_token.create',
      actor: { alternateId: 'admin@example.com' },
    })
    expect(set.evaluate(event)).toHaveLength(1)
  })
})

describe('user mapping files', () => {
  const crmRule = `title: crm export
id: 55555555-5555-4555-8555-555555555555
logsource: {product: acme, service: crm}
detection:
    s: {Operation: BulkExport, UserName|endswith: '@contractor.example'}
    condition: s
`

  it('add a route and a field mapping that a rule then uses', () => {
    const file = mappingFile(`routes:
  - logsource: {product: acme, service: crm}
    events:
      - datasets: acme.crm
        fields:
          UserName: [actor.email, user.name]
`)
    const set = ruleSetFrom(crmRule, { mapping: loadMappings([file]) })
    expect(set.rules[0]?.routed).toBe(true)
    const event = jsonEvent({
      event: { dataset: 'acme.crm' },
      Operation: 'BulkExport',
      actor: { email: 'eve@contractor.example' },
    })
    expect(set.evaluate(event)).toHaveLength(1)
    expect(ruleSetFrom(crmRule).rules[0]?.routed).toBe(false)
  })

  it('extend a built-in route: events are added and field mappings apply to every kind', () => {
    const file = mappingFile(`routes:
  - logsource: {product: windows, category: process_creation}
    events:
      - datasets: [edr.process]
        fields: {Image: process.executable, User: user.name}
    fields:
      User: [UserName, SubjectUserName]
`)
    const mapping = loadMappings([file])
    const rule = processRule(`s:\n    Image|endswith: '\\cmd.exe'\n    User: bob\ncondition: s`)
    const set = ruleSetFrom(rule, { mapping })
    const edr = jsonEvent({
      event: { dataset: 'edr.process' },
      process: { executable: 'C:\\x\\cmd.exe' },
      user: { name: 'bob' },
    })
    expect(set.evaluate(edr)).toHaveLength(1)
    expect(set.evaluate(sysmon(1, { Image: 'C:\\x\\cmd.exe', UserName: 'bob' }))).toHaveLength(1)
    const security = sysmon(4688, { NewProcessName: 'C:\\x\\cmd.exe', SubjectUserName: 'bob' })
    security.winlog!.channel = 'Security'
    expect(set.evaluate(security)).toHaveLength(1)
  })

  it('replace a built-in route whole with replace: true', () => {
    const file = mappingFile(`routes:
  - logsource: {product: windows, category: process_creation}
    replace: true
    events: [{channels: Security, event_ids: 4688, fields: {Image: NewProcessName}}]
`)
    const set = ruleSetFrom(processRule(`s:\n    Image|endswith: '\\cmd.exe'\ncondition: s`), {
      mapping: loadMappings([file]),
    })
    expect(set.evaluate(sysmon(1, { Image: 'C:\\x\\cmd.exe' }))).toHaveLength(0)
    const security = sysmon(4688, { NewProcessName: 'C:\\x\\cmd.exe' })
    security.winlog!.channel = 'Security'
    expect(set.evaluate(security)).toHaveLength(1)
  })

  it('give placeholder values, later files over earlier ones and --placeholders over both', () => {
    const first = mappingFile('placeholders:\n  Admins: [root, adm_*]\n  Hosts: dc1\n')
    const second = mappingFile('placeholders:\n  Admins: svc_backup\n')
    const mapping = loadMappings([first, second])
    expect(mapping.placeholders).toEqual({ Admins: ['svc_backup'], Hosts: ['dc1'] })

    const rule = processRule(`s:\n    User|expand: '%Admins%'\ncondition: s`)
    const set = ruleSetFrom(rule, { mapping })
    expect(set.warnings).toEqual([])
    expect(set.evaluate(sysmon(1, { User: 'svc_backup' }))).toHaveLength(1)
    expect(set.evaluate(sysmon(1, { User: 'root' }))).toHaveLength(0)

    const overridden = ruleSetFrom(rule, { mapping, placeholders: { Admins: ['root'] } })
    expect(overridden.evaluate(sysmon(1, { User: 'root' }))).toHaveLength(1)
  })

  it('are refused with file, line, field path, what was expected and what came', () => {
    const message = problemsOf(`routes:
  - logsource: {product: acme}
    events:
      - channels: [Security]
        event_ids: [4624, "x"]
`)
    expect(message).toMatch(
      new RegExp(
        'mapping-\\d+\\.yml:5 routes\\[0\\]\\.events\\[0\\]\\.event_ids\\[1\\]: ' +
          'expected an event id \\(an integer\\), got "x"',
      ),
    )
  })

  it('name an unknown key on its own line', () => {
    const message = problemsOf(`routes:
  - logsource: {product: acme}
    events:
      - datasets: [a]
        channel: [Security]
`)
    expect(message).toMatch(/:5 routes\[0\]\.events\[0\]: unknown key channel: expected only/)
  })

  it('say which events a selector is missing and that event ids need channels', () => {
    expect(
      problemsOf('routes:\n  - logsource: {product: acme}\n    events: [{event_ids: 4}]\n'),
    ).toMatch(/:3 routes\[0\]\.events\[0\]\.event_ids: event_ids need channels/)
    expect(problemsOf('routes:\n  - logsource: {product: acme}\n    events: [{}]\n')).toMatch(
      /routes\[0\]\.events\[0\]: expected at least one of channels, datasets, appnames or any/,
    )
  })

  it('refuse a new route without events, and a logsource given twice', () => {
    expect(problemsOf('routes:\n  - logsource: {product: acme}\n    fields: {a: b}\n')).toMatch(
      /:2 routes\[0\]: expected events: no route for \{product: acme\} is defined before/,
    )
    const twice = `routes:
  - logsource: {product: acme}
    events: [{datasets: a}]
  - logsource: {product: acme}
    events: [{datasets: b}]
`
    expect(problemsOf(twice)).toMatch(
      new RegExp(
        ':4 routes\\[1\\]\\.logsource: expected each logsource once per file, ' +
          'got \\{product: acme\\} again \\(first at routes\\[0\\], line 2\\)',
      ),
    )
  })

  it('report invalid YAML, wrong types and unreadable files', () => {
    expect(problemsOf('routes:\n  - logsource: {product: acme\n')).toMatch(
      /mapping-\d+\.yml:\d+: invalid YAML/,
    )
    expect(problemsOf('placeholders: [a, b]\n')).toMatch(
      /:1 placeholders: expected a map of placeholder name to value\(s\), got \["a","b"\]/,
    )
    expect(problemsOf('routes:\n  - logsource: {product: acme}\n    unmapped: ecs\n')).toMatch(
      /:3 routes\[0\]\.unmapped: expected windows or path, got "ecs"/,
    )
    expect(() => loadMappings([join(dir, 'missing.yml')])).toThrow(
      /missing\.yml: cannot read: ENOENT/,
    )
  })

  it('are parsed from text with the name given for errors', () => {
    expect(() => parseMapping('version: 2\n', 'site.yml')).toThrow(
      /site\.yml:1 version: expected version 1, got 2/,
    )
  })
})
