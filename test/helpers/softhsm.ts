import { execFileSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Debian's `softhsm2` package: the PKCS#11 module and the tool that makes tokens. */
export const softHsmModulePath = '/usr/lib/softhsm/libsofthsm2.so'
const softHsmUtil = '/usr/bin/softhsm2-util'

/**
 * Whether SoftHSM2 is here. Under CI (`process.env.CI`) its absence is an error, since
 * `.ci/run` installs it; elsewhere the caller skips, and this prints why.
 */
export function softHsmAvailable(): boolean {
  const missing = [softHsmModulePath, softHsmUtil].filter((path) => !existsSync(path))
  if (missing.length === 0) return true
  const reason = `SoftHSM2 is not installed (no ${missing.join(', ')}): apt-get install softhsm2`
  if (process.env.CI) throw new Error(`CI must have SoftHSM2 for the HSM tests. ${reason}`)
  console.warn(`skipping the HSM tests: ${reason}`)
  return false
}

export interface TestToken {
  /** The PKCS#11 module to load. */
  modulePath: string
  label: string
  pin: string
  soPin: string
  /**
   * The token is gone: its directory is moved out of SoftHSM2's token directory. An open
   * session then fails (CKR_OBJECT_HANDLE_INVALID, CKR_GENERAL_ERROR for new calls), and after
   * C_Finalize/C_Initialize the slot list no longer shows the label, as when a USB HSM is
   * pulled. SoftHSM2 sees a token that comes back only at its next C_Initialize.
   */
  remove(): void
  /** The token is back: its directory is moved back, keys and PINs as they were. */
  restore(): void
  /**
   * Sets a new user PIN as the security officer would (C_InitPIN), from another process so
   * that this one's sessions and login state are left alone.
   */
  setUserPin(pin: string): void
}

export interface SoftHsm {
  /** A new token in this run's token directory; labels must differ within one SoftHsm. */
  createToken(label: string, pins?: { pin?: string; soPin?: string }): TestToken
  /** Deletes the token directory and its configuration. */
  destroy(): void
}

/**
 * A SoftHSM2 for one test run: a temporary token directory and a private configuration file,
 * named by SOFTHSM2_CONF in this process (SoftHSM2 reads it at C_Initialize, so set it before
 * any signer opens the module). Every token made here lives only in that directory.
 */
export function createSoftHsm(): SoftHsm {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-softhsm-'))
  const tokenDir = join(dir, 'tokens')
  const awayDir = join(dir, 'removed')
  for (const d of [tokenDir, awayDir]) mkdirSync(d)
  const conf = join(dir, 'softhsm2.conf')
  writeFileSync(
    conf,
    [
      `directories.tokendir = ${tokenDir}`,
      'objectstore.backend = file',
      'log.level = ERROR',
      'slots.removable = true',
      '',
    ].join('\n'),
  )
  process.env.SOFTHSM2_CONF = conf

  return {
    createToken(label, pins = {}) {
      const pin = pins.pin ?? '246810'
      const soPin = pins.soPin ?? '13579111'
      const before = new Set(readdirSync(tokenDir))
      execFileSync(
        softHsmUtil,
        ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', soPin],
        { env: { ...process.env, SOFTHSM2_CONF: conf }, stdio: 'pipe' },
      )
      const made = readdirSync(tokenDir).filter((name) => !before.has(name))
      if (made.length !== 1) {
        throw new Error(`expected softhsm2-util to make one token directory, saw ${made.length}`)
      }
      const here = join(tokenDir, made[0]!)
      const away = join(awayDir, made[0]!)
      return {
        modulePath: softHsmModulePath,
        label,
        pin,
        soPin,
        remove: () => renameSync(here, away),
        restore: () => renameSync(away, here),
        setUserPin(newPin) {
          execFileSync(process.execPath, ['--input-type=commonjs', '-e', initPinScript], {
            env: { ...process.env, SOFTHSM2_CONF: conf, LABEL: label, SO_PIN: soPin, PIN: newPin },
            stdio: 'pipe',
          })
        },
      }
    },
    destroy() {
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** C_InitPIN as the security officer, run in a child process by `setUserPin`. */
const initPinScript = `
const p = require(${JSON.stringify(createRequire(import.meta.url).resolve('pkcs11js'))})
const m = new p.PKCS11()
m.load(${JSON.stringify(softHsmModulePath)})
m.C_Initialize()
const slot = m.C_GetSlotList(true).find((s) => m.C_GetTokenInfo(s).label.trim() === process.env.LABEL)
const session = m.C_OpenSession(slot, p.CKF_SERIAL_SESSION | p.CKF_RW_SESSION)
m.C_Login(session, p.CKU_SO, process.env.SO_PIN)
m.C_InitPIN(session, process.env.PIN)
m.C_Logout(session)
m.C_Finalize()
`
