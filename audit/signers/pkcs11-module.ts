import { existsSync } from 'node:fs'

import type * as Pkcs11JsModule from 'pkcs11js'
import type { PKCS11 } from 'pkcs11js'

import { HsmError } from './hsm-error.ts'

/** pkcs11js is loaded on first use, so a process that signs in software never loads it. */
type Pkcs11Js = typeof Pkcs11JsModule

/**
 * One loaded PKCS#11 module (an HSM vendor's library), shared by every signer in the process
 * that names the same path: the library's state is per process (dlopen returns one handle, and
 * a second C_Initialize is refused), so loading and initialising it twice would not isolate
 * anything, and one signer's C_Finalize would end the other's sessions unannounced.
 *
 * Calls go through `run`, one at a time, so a re-initialisation never lands in the middle of
 * another signer's operation and `generation` tells each signer when its session handles have
 * become stale.
 *
 * Internal to `audit/signers`.
 */
export class Pkcs11Module {
  static readonly #loaded = new Map<string, Pkcs11Module>()

  readonly path: string
  readonly api: PKCS11
  readonly constants: Pkcs11Js
  /** Bumped by each re-initialisation; a session opened under an older one is gone. */
  generation = 0
  #users = 0
  #queue: Promise<unknown> = Promise.resolve()

  private constructor(path: string, api: PKCS11, constants: Pkcs11Js) {
    this.path = path
    this.api = api
    this.constants = constants
  }

  /**
   * The module at `path`, loaded and initialised on first use.
   *
   * @throws {HsmError} PAL_HSM_MODULE_MISSING when there is no such library or it will not load.
   */
  static async acquire(path: string): Promise<Pkcs11Module> {
    const existing = Pkcs11Module.#loaded.get(path)
    if (existing) {
      existing.#users++
      return existing
    }

    if (!existsSync(path)) {
      throw new HsmError(
        'PAL_HSM_MODULE_MISSING',
        `expected a PKCS#11 module (shared library) at ${path}, found no file there`,
        { context: { module: path } },
      )
    }

    const { default: pkcs11js } = await import('pkcs11js')
    const api = new pkcs11js.PKCS11()
    try {
      api.load(path)
      initialise(api, pkcs11js)
    } catch (error) {
      throw new HsmError(
        'PAL_HSM_MODULE_MISSING',
        `expected ${path} to load as a PKCS#11 module, it failed: ${messageOf(error)}`,
        { context: { module: path }, cause: error },
      )
    }
    const module = new Pkcs11Module(path, api, pkcs11js)
    module.#users = 1
    Pkcs11Module.#loaded.set(path, module)
    return module
  }

  /** Runs `operation` after every operation queued before it has settled. */
  run<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(operation)
    this.#queue = result.catch(() => undefined)
    return result
  }

  /**
   * C_Finalize then C_Initialize: the one way to make a module see a token that was removed
   * and has come back (SoftHSM2 rescans its token directory only at C_Initialize, and many
   * USB/PCIe HSM libraries need the same after a device reset). Every session ends.
   */
  reinitialise(): void {
    this.generation++
    try {
      this.api.C_Finalize()
    } catch {
      // Not initialised, or the device is gone: either way there is nothing left to finalise.
    }
    initialise(this.api, this.constants)
  }

  /** One signer is done with the module; the last one finalises and unloads it. */
  release(): void {
    if (--this.#users > 0) return
    Pkcs11Module.#loaded.delete(this.path)
    this.generation++
    try {
      this.api.C_Finalize()
      this.api.close()
    } catch {
      // Unloading a module whose device is gone can fail; the process lets go of it anyway.
    }
  }
}

function initialise(api: PKCS11, pkcs11js: Pkcs11Js): void {
  try {
    // Sign calls run on libuv's thread pool (C_SignAsync), so the library must lock itself.
    api.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK })
  } catch (error) {
    if (ckrOf(error) !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw error
  }
}

/** The PKCS#11 return value (CKR_*) a pkcs11js error carries, if it is one. */
export function ckrOf(error: unknown): number | undefined {
  if (!(error instanceof Error) || !/^CKR_/.test(error.message)) return undefined
  const code = (error as { code?: unknown }).code
  return typeof code === 'number' ? code : undefined
}

/** The CKR_* name, or the message of another error. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
