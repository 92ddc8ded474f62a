import { existsSync, readFileSync, writeFileSync } from 'node:fs'

import { type Command } from 'commander'

import { toBase64Url } from '../../crypto/bytes.ts'
import { CryptoError } from '../../crypto/crypto-error.ts'
import { openSealedEvent } from '../../crypto/open-sealed-event.ts'
import { generateSealingKeyPair } from '../../crypto/sealing-key-pair.ts'
import type { SealingKeyPair } from '../../crypto/sealing-key-pair.ts'
import { unwrapPrivateKey, wrapPrivateKey } from '../../crypto/wrap-private-key.ts'
import { EventsTextError, readEvents as readEventsText } from '../../crypto/read-events.ts'
import { PalisadeError } from '../errors.ts'

const DEFAULT_PASSPHRASE_ENV = 'PALISADE_KEY_PASSPHRASE'

interface DecryptOptions {
  key: string[]
  passphraseEnv: string
}

/**
 * `palisade decrypt` and `palisade sealing-key generate`: offline tools that run on the
 * analyst's machine and never send a key or a passphrase anywhere. The passphrase comes from
 * an environment variable, never a flag, so it stays out of shell history and process lists.
 * Exit codes: 0 when every sealed field opened, 1 when some stayed sealed (each reported on
 * stderr), 2 on a hard error (an unreadable file or key file, a wrong passphrase).
 */
export function registerDecryptCommands(program: Command): void {
  program
    .command('decrypt')
    .description(
      'open the sealed fields of events locally with your key files, printing each event ' +
        'with its values back in place, one JSON object a line',
    )
    .argument(
      '[file]',
      'events: a JSON array, `palisade events --json` output, or NDJSON; - or none for stdin',
    )
    .requiredOption(
      '--key <file>',
      'a key file from `sealing-key generate`; repeat for keys you rotated through',
      collect,
    )
    .option(
      '--passphrase-env <var>',
      'the environment variable holding the key files’ passphrase',
      DEFAULT_PASSPHRASE_ENV,
    )
    .action(async (file: string | undefined, options: DecryptOptions) => {
      const passphrase = passphraseFrom(options.passphraseEnv)
      const keys: SealingKeyPair[] = []
      for (const path of options.key) keys.push(await unwrap(path, passphrase))

      const events = readEvents(file)
      let opened = 0
      let unopened = 0
      for (const stored of events) {
        const result = await openSealedEvent(stored, keys).catch(hardError)
        opened += result.opened.length
        unopened += result.unopened.length
        for (const u of result.unopened) {
          process.stderr.write(`palisade: event ${String(stored.id)} ${u.field}: ${u.message}\n`)
        }
        process.stdout.write(`${JSON.stringify(result.event)}\n`)
      }
      process.stderr.write(
        `opened ${opened} sealed field${opened === 1 ? '' : 's'} in ${events.length} ` +
          `event${events.length === 1 ? '' : 's'}` +
          (unopened ? `; ${unopened} stayed sealed\n` : '\n'),
      )
      if (unopened > 0) process.exitCode = 1
    })

  program
    .command('sealing-key')
    .description('sealing keys for end-to-end encrypted fields, made on this machine')
    .command('generate')
    .description(
      'make a sealing key pair, write its private key wrapped under a passphrase (scrypt, ' +
        'AES-256-GCM) and print its key id and public key to register',
    )
    .requiredOption('--out <file>', 'where to write the key file (created with mode 0600)')
    .option(
      '--passphrase-env <var>',
      'the environment variable holding the passphrase',
      DEFAULT_PASSPHRASE_ENV,
    )
    .action(async (options: { out: string; passphraseEnv: string }) => {
      const passphrase = passphraseFrom(options.passphraseEnv)
      // Checked before the second of scrypt, and again by `wx` below against a race.
      if (existsSync(options.out)) throw unwritable(options.out, 'the file exists')
      const pair = await generateSealingKeyPair()
      const file = await wrapPrivateKey(pair, passphrase)
      // `wx`: never overwrite a key file, which would lose the only copy of a private key.
      try {
        writeFileSync(options.out, `${JSON.stringify(file, null, 2)}\n`, {
          mode: 0o600,
          flag: 'wx',
        })
      } catch (error) {
        throw unwritable(options.out, (error as Error).message)
      }
      process.stdout.write(
        `${JSON.stringify({ kid: pair.kid, suite: pair.suite, public_key: toBase64Url(pair.publicKey) })}\n`,
      )
    })
}

/** Never overwrite a key file: it may be the only copy of a private key. */
function unwritable(path: string, why: string): PalisadeError {
  return new PalisadeError('PAL_FILE_UNWRITABLE', `cannot write the key file ${path}: ${why}`, {
    status: 400,
  })
}

function passphraseFrom(variable: string): string {
  const value = process.env[variable]
  if (!value) {
    throw new PalisadeError(
      'PAL_PASSPHRASE_MISSING',
      `expected the key passphrase in the environment variable ${variable}, which is unset or empty`,
      { status: 400 },
    )
  }
  return value
}

async function unwrap(path: string, passphrase: string): Promise<SealingKeyPair> {
  let json: unknown
  try {
    json = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    throw new PalisadeError(
      'PAL_KEY_FILE_UNREADABLE',
      `cannot read the key file ${path}: ${(error as Error).message}`,
      { status: 400 },
    )
  }
  return unwrapPrivateKey(json, passphrase).catch((error: unknown) =>
    hardError(error, `key file ${path}: `),
  )
}

/** A crypto failure that stops the whole command, as a PalisadeError the CLI exits 2 on. */
function hardError(error: unknown, prefix = ''): never {
  if (error instanceof CryptoError) {
    throw new PalisadeError(error.code, `${prefix}${error.message}`, { status: 400 })
  }
  throw error
}

/** The events of a file (or stdin): a JSON array, `{items: [...]}`, one object, or NDJSON. */
function readEvents(file: string | undefined): Record<string, unknown>[] {
  const from = file === undefined || file === '-' ? 'stdin' : file
  let text: string
  try {
    text = readFileSync(from === 'stdin' ? 0 : from, 'utf8')
  } catch (error) {
    throw new PalisadeError(
      'PAL_FILE_UNREADABLE',
      `cannot read ${from}: ${(error as Error).message}`,
      {
        status: 400,
      },
    )
  }
  // Nothing to open is not an error here: `palisade events --json` over an empty range.
  if (text.trim() === '') return []
  try {
    return readEventsText(text)
  } catch (error) {
    if (!(error instanceof EventsTextError)) throw error
    throw new PalisadeError('PAL_INVALID_INPUT', `${from}: ${error.message}`, { status: 400 })
  }
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}
