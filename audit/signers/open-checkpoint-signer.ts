import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { generateKeyPairSync } from 'node:crypto'
import { join } from 'node:path'

import type { PalisadeConfig } from '../../platform/config/config-schema.ts'
import { ConfigError } from '../../platform/errors.ts'
import type { Logger } from '../../platform/logger.ts'
import type { CheckpointSigner } from './checkpoint-signer.ts'
import { Pkcs11Signer } from './pkcs11-signer.ts'
import { SoftwareSigner } from './software-signer.ts'

export type SignerConfig = PalisadeConfig['audit']['signer']

export interface OpenSignerOptions {
  /** Where the software signer keeps its key. */
  dataDir: string
  /** Where a PKCS#11 PIN is read from, by the variable name `pinEnv` gives. */
  env?: NodeJS.ProcessEnv
  logger?: Logger
}

/**
 * Opens the one checkpoint signer the configuration names.
 *
 * - `software`: an ECDSA P-256 key in `dataDir/audit-signing-key.pem` (PKCS#8, mode 0600),
 *   generated at first start and read again at every later one, so checkpoints signed before
 *   a restart still verify with the published key. For development only: the key is on disk.
 * - `pkcs11`: the HSM key, with the PIN read from the environment variable named by `pinEnv`.
 *
 * @throws {ConfigError} when the PIN variable is not set.
 * @throws {HsmError} whatever `Pkcs11Signer.open` throws (module, token, PIN, key).
 */
export async function openCheckpointSigner(
  config: SignerConfig,
  options: OpenSignerOptions,
): Promise<CheckpointSigner> {
  if (config.kind === 'software') return openSoftwareSigner(options.dataDir)

  const pin = (options.env ?? process.env)[config.pinEnv]
  if (!pin) {
    throw new ConfigError([
      {
        path: 'audit.signer.pinEnv',
        message: `expected the token's user PIN in the environment variable ${config.pinEnv}, which is not set`,
      },
    ])
  }

  return Pkcs11Signer.open({
    modulePath: config.module,
    tokenLabel: config.tokenLabel,
    keyLabel: config.keyLabel,
    algorithm: config.algorithm,
    pin,
    generate: config.generateKey,
    ...(options.logger ? { logger: options.logger } : {}),
  })
}

/** Path of the development signing key in a data dir. */
export function softwareKeyPath(dataDir: string): string {
  return join(dataDir, 'audit-signing-key.pem')
}

function openSoftwareSigner(dataDir: string): SoftwareSigner {
  const path = softwareKeyPath(dataDir)
  let pem: string
  try {
    pem = readFileSync(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    // 'wx': two processes starting on one data dir never overwrite each other's key.
    writeFileSync(path, pem, { mode: 0o600, flag: 'wx' })
  }
  // The umask or a copy may have widened it; the key is a secret.
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600)
  return SoftwareSigner.fromPrivateKeyPem(pem, 'development')
}
