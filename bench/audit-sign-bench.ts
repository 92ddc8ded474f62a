/**
 * `node bin/run-ts.js bench/audit-sign-bench.ts`: checkpoint signatures per second, in a key
 * inside SoftHSM2 through PKCS#11 next to a node:crypto key, for ECDSA P-256 and Ed25519, in
 * the same run. Signing is sequential, as checkpoints are. The HSM figure includes what the
 * signer does around the token: the SHA-256 digest (ECDSA) and verifying each signature with
 * the pinned public key before it is released. Absolute rates drift on a shared machine; the
 * ratio is what to compare.
 *
 * Needs Debian's softhsm2. Flags: `--json`; `--seconds S` per measurement (default 1).
 */
import type { CheckpointSigner, SignatureAlgorithm } from '../audit/signers/checkpoint-signer.ts'
import { Pkcs11Signer } from '../audit/signers/pkcs11-signer.ts'
import { SoftwareSigner } from '../audit/signers/software-signer.ts'
import { createSoftHsm, softHsmAvailable } from '../test/helpers/softhsm.ts'
import { formatRate, formatTable, median, rateFlags } from './measure.ts'

const RUNS = 3
const algorithms: SignatureAlgorithm[] = ['ecdsa-p256-sha256', 'ed25519']

async function signaturesPerSecond(signer: CheckpointSigner, seconds: number): Promise<number> {
  const message = new TextEncoder().encode(`palisade checkpoint\n${'0'.repeat(64)}\n`)
  const until = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9))
  const start = process.hrtime.bigint()
  let count = 0
  while (process.hrtime.bigint() < until) {
    await signer.sign(message)
    count++
  }
  return count / (Number(process.hrtime.bigint() - start) / 1e9)
}

async function main(): Promise<void> {
  const { json, seconds } = rateFlags()
  if (!softHsmAvailable()) process.exit(1)

  const hsm = createSoftHsm()
  const token = hsm.createToken('palisade-bench')
  const results = []
  try {
    for (const algorithm of algorithms) {
      const inToken = await Pkcs11Signer.open({
        modulePath: token.modulePath,
        tokenLabel: token.label,
        pin: token.pin,
        keyLabel: `bench-${algorithm}`,
        algorithm,
        generate: true,
      })
      const inMemory = SoftwareSigner.generate(algorithm, 'bench')
      const hsmRates: number[] = []
      const softwareRates: number[] = []
      for (let run = 0; run < RUNS; run++) {
        hsmRates.push(await signaturesPerSecond(inToken, seconds))
        softwareRates.push(await signaturesPerSecond(inMemory, seconds))
      }
      await inToken.close()
      const hsmRate = median(hsmRates)
      const softwareRate = median(softwareRates)
      results.push({ algorithm, hsmRate, softwareRate, ratio: hsmRate / softwareRate })
    }
  } finally {
    hsm.destroy()
  }

  if (json) {
    process.stdout.write(`${JSON.stringify({ runs: RUNS, seconds, results }, null, 2)}\n`)
    return
  }
  const rows = results.map((r) => [
    r.algorithm,
    formatRate(r.hsmRate),
    formatRate(r.softwareRate),
    `${r.ratio.toFixed(2)}x`,
  ])
  process.stdout.write(
    `checkpoint signatures per second, median of ${RUNS} runs of ${seconds}s, sequential\n` +
      `${formatTable(['algorithm', 'SoftHSM2 (PKCS#11)', 'node:crypto', 'HSM/software'], rows)}\n`,
  )
}

await main()
