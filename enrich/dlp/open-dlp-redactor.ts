import type { PalisadeConfig } from '../../platform/config/config-schema.ts'
import { ConfigError } from '../../platform/errors.ts'
import { createDlpScanner } from './create-dlp-scanner.ts'
import { DEFAULT_DLP_POLICY, loadDlpPolicy, policyTokenises } from './dlp-policy.ts'
import { DlpRedactor } from './dlp-redactor.ts'

/** Shortest token key accepted: 256 bits of text, the HMAC-SHA256 block's worth of guessing. */
const MIN_KEY_LENGTH = 32

/**
 * The redactor the configuration asks for, or undefined when DLP is off. The token key is
 * read from the environment variable the configuration names, never from a file.
 *
 * @throws ConfigError when the policy tokenises and the key is missing or short, naming the
 *   variable; ValidationError `PAL_DLP_POLICY_INVALID` for a bad policy file.
 */
export function openDlpRedactor(
  config: PalisadeConfig['dlp'],
  env: NodeJS.ProcessEnv = process.env,
): DlpRedactor | undefined {
  if (!config.enabled) return undefined
  const policy = config.policy ? loadDlpPolicy(config.policy) : DEFAULT_DLP_POLICY
  const key = env[config.tokenKeyEnv]
  if (policyTokenises(policy) && (key === undefined || key.length < MIN_KEY_LENGTH)) {
    const arrived = key === undefined ? 'it is unset' : `it holds ${key.length} characters`
    throw new ConfigError([
      {
        path: 'dlp.tokenKeyEnv',
        message:
          `the DLP policy tokenises, so ${config.tokenKeyEnv} must hold a key of at least ` +
          `${MIN_KEY_LENGTH} characters; ${arrived}`,
      },
    ])
  }
  return new DlpRedactor({
    scanner: createDlpScanner({ minConfidence: policy.minConfidence }),
    policy,
    ...(key ? { tokenKey: Buffer.from(key, 'utf8') } : {}),
  })
}
