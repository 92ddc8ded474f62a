import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { loadConfig, maskSecrets } from '../../../platform/config/load-config.ts'
import { ConfigError } from '../../../platform/errors.ts'

const dir = mkdtempSync(join(tmpdir(), 'palisade-config-'))
const file = (name: string, text: string) => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

function problemsOf(run: () => unknown) {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as ConfigError).problems
  }
  throw new Error('expected a ConfigError')
}

describe('loadConfig', () => {
  it('gives the embedded defaults when nothing is set', () => {
    const config = loadConfig({ env: {} })
    expect(config.dataDir).toBe('.palisade')
    expect(config.http).toMatchObject({ host: '127.0.0.1', port: 8470 })
    expect(config.syslog).toMatchObject({ udpPort: 5514, tcpPort: 5514, timeZone: 'UTC' })
    expect(config.clickhouse.url).toBeUndefined()
    expect(config.builtinRules).toBe(true)
  })

  it('lets flags win over variables, variables over the file, the file over defaults', () => {
    const path = file('layers.yml', 'http:\n  port: 9001\n  host: 0.0.0.0\ndataDir: /from/file\n')
    const env = { PALISADE_PORT: '9002', PALISADE_DATA_DIR: '/from/env' }
    const config = loadConfig({ file: path, env, flags: { http: { port: 9003 } } })
    expect(config.http.port).toBe(9003)
    expect(config.dataDir).toBe('/from/env')
    expect(config.http.host).toBe('0.0.0.0')
  })

  it('reads the file named by PALISADE_CONFIG, in JSON too', () => {
    const path = file('c.json', JSON.stringify({ syslog: { timeZone: 'Europe/Paris' } }))
    expect(loadConfig({ env: { PALISADE_CONFIG: path } }).syslog.timeZone).toBe('Europe/Paris')
  })

  it('splits list variables on commas', () => {
    expect(loadConfig({ env: { PALISADE_RULES: 'a, b,,c' } }).rules).toEqual(['a', 'b', 'c'])
  })

  it('takes Sigma mapping files from the file, PALISADE_SIGMA_MAPPINGS and --mapping', () => {
    expect(loadConfig({ env: {} }).sigma.mappings).toEqual([])
    const path = file('mappings.yml', 'sigma:\n  mappings: [site.yml]\n')
    expect(loadConfig({ file: path, env: {} }).sigma.mappings).toEqual(['site.yml'])
    const env = { PALISADE_SIGMA_MAPPINGS: 'a.yml, b.yml' }
    expect(loadConfig({ file: path, env }).sigma.mappings).toEqual(['a.yml', 'b.yml'])
    const flags = { sigma: { mappings: ['c.yml'] } }
    expect(loadConfig({ file: path, env, flags }).sigma.mappings).toEqual(['c.yml'])
  })

  it('bounds and checkpoints correlation state by default, and takes both from variables', () => {
    expect(loadConfig({ env: {} }).sigma.correlation).toEqual({
      maxGroups: 100_000,
      maxPercentileValues: 10_000,
      allowedLatenessMs: 60_000,
      checkpoint: { everyBatches: 100, everySeconds: 10 },
    })
    const env = {
      PALISADE_CORRELATION_MAX_GROUPS: '5000',
      PALISADE_CORRELATION_MAX_PERCENTILE_VALUES: '1000',
      PALISADE_CORRELATION_ALLOWED_LATENESS_MS: '0',
      PALISADE_CORRELATION_CHECKPOINT_BATCHES: '1',
      PALISADE_CORRELATION_CHECKPOINT_SECONDS: '600',
    }
    expect(loadConfig({ env }).sigma.correlation).toEqual({
      maxGroups: 5000,
      maxPercentileValues: 1000,
      allowedLatenessMs: 0,
      checkpoint: { everyBatches: 1, everySeconds: 600 },
    })
    const problems = problemsOf(() => loadConfig({ env: { PALISADE_CORRELATION_MAX_GROUPS: '0' } }))
    expect(problems).toEqual([
      {
        path: 'sigma.correlation.maxGroups',
        message: expect.stringMatching(/^PALISADE_CORRELATION_MAX_GROUPS: .*>0/),
      },
    ])
  })

  it('reports every problem at once, each with its path', () => {
    const path = file('bad.yml', 'http:\n  port: 70000\nnonsense: 1\n')
    const problems = problemsOf(() =>
      loadConfig({ file: path, env: { PALISADE_SYSLOG_UDP_PORT: 'abc', PALISADE_URL: 'nope' } }),
    )
    const byPath = Object.fromEntries(problems.map((p) => [p.path, p.message]))
    expect(byPath['syslog.udpPort']).toMatch(
      /PALISADE_SYSLOG_UDP_PORT: expected an integer, got "abc"/,
    )
    expect(byPath['http.port']).toMatch(/65535/)
    expect(byPath['url']).toBeDefined()
    expect(problems.find((p) => p.message.includes('nonsense'))).toBeDefined()
  })

  it('names the file when it cannot be read or parsed', () => {
    const missing = problemsOf(() => loadConfig({ file: join(dir, 'absent.yml'), env: {} }))
    expect(missing[0]!.message).toMatch(/absent\.yml/)
    const broken = problemsOf(() => loadConfig({ file: file('broken.yml', 'a: [1, 2'), env: {} }))
    expect(broken[0]!.message).toMatch(/broken\.yml/)
    const list = problemsOf(() => loadConfig({ file: file('list.yml', '- 1\n- 2\n'), env: {} }))
    expect(list[0]!.message).toMatch(/expected a mapping/)
  })

  it('rejects a bool variable that is not true or false', () => {
    const problems = problemsOf(() => loadConfig({ env: { PALISADE_BUILTIN_RULES: 'maybe' } }))
    expect(problems[0]!.message).toMatch(/expected true or false, got "maybe"/)
  })
})

describe('maskSecrets', () => {
  it('hides tokens, passwords and URL credentials but keeps the rest readable', () => {
    const config = loadConfig({
      env: {
        PALISADE_TOKEN: 'pal_secret',
        PALISADE_CLICKHOUSE_URL: 'https://user:hunter2@ch.example:8443/',
        PALISADE_CLICKHOUSE_PASSWORD: 'hunter2',
        PALISADE_STATE_URL: 'postgres://app:pw@db:5432/palisade',
      },
    })
    const text = JSON.stringify(maskSecrets(config))
    expect(text).not.toMatch(/pal_secret|hunter2|:pw@/)
    expect(text).toMatch(/ch\.example:8443/)
    expect(text).toMatch(/db:5432\/palisade/)
  })
})

describe('the audit signer settings', () => {
  it('defaults to checkpoints every 1000 entries or 300 s, signed by a software key', () => {
    const config = loadConfig({ env: {} })
    expect(config.audit).toEqual({
      checkpoint: { everyEntries: 1000, everySeconds: 300 },
      signer: { kind: 'software' },
    })
  })

  it('takes a PKCS#11 signer from variables, holding the PIN variable name, never the PIN', () => {
    const env = {
      PALISADE_AUDIT_SIGNER: 'pkcs11',
      PALISADE_PKCS11_MODULE: '/usr/lib/softhsm/libsofthsm2.so',
      PALISADE_PKCS11_TOKEN: 'palisade',
      PALISADE_PKCS11_PIN_ENV: 'HSM_PIN',
      PALISADE_AUDIT_CHECKPOINT_ENTRIES: '50',
      HSM_PIN: '918273',
    }
    const config = loadConfig({ env })
    expect(config.audit.checkpoint.everyEntries).toBe(50)
    expect(config.audit.signer).toEqual({
      kind: 'pkcs11',
      module: '/usr/lib/softhsm/libsofthsm2.so',
      tokenLabel: 'palisade',
      keyLabel: 'palisade-audit-checkpoint',
      algorithm: 'ecdsa-p256-sha256',
      pinEnv: 'HSM_PIN',
      generateKey: false,
    })
    expect(JSON.stringify(maskSecrets(config))).not.toContain('918273')
  })

  it('refuses a PKCS#11 signer without its module, naming the path', () => {
    const problems = problemsOf(() =>
      loadConfig({ env: { PALISADE_AUDIT_SIGNER: 'pkcs11', PALISADE_PKCS11_TOKEN: 't' } }),
    )
    expect(problems.map((p) => p.path)).toContain('audit.signer.module')
  })
})
