import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import type { AuditEntry } from '../../../audit/audit-log.ts'
import { signCheckpoint } from '../../../audit/checkpoint.ts'
import type { SignedCheckpoint } from '../../../audit/checkpoint.ts'
import { leafHash, MerkleFrontier } from '../../../audit/merkle/index.ts'
import type { SignatureAlgorithm } from '../../../audit/signers/checkpoint-signer.ts'
import { SoftwareSigner } from '../../../audit/signers/software-signer.ts'
import type { ExportSource } from '../../../audit/export/write-export.ts'
import { canonicalJson } from '../../../platform/event-id.ts'

/** An audit log held in memory: entry texts as the log writes them, and their leaf hashes. */
export interface MemoryLog {
  texts: string[]
  leaves: Uint8Array[]
  /** MTH(D[n]) for every n from 0 to the log's size. */
  roots: Uint8Array[]
}

const actions = ['token.create', 'token.revoke', 'dead_letter.replay', 'rule.update']

/** A log of `size` entries shaped like `AuditEntry`, written through canonicalJson. */
export function memoryLog(size: number): MemoryLog {
  const texts: string[] = []
  const leaves: Uint8Array[] = []
  const frontier = new MerkleFrontier()
  const roots = [frontier.root()]
  for (let index = 0; index < size; index++) {
    const entry: AuditEntry = {
      v: 1,
      index,
      time: new Date(Date.UTC(2026, 11, 3, 20, 0, index)).toISOString(),
      actor: { kind: 'token', id: `tok-${index % 7}` },
      action: actions[index % actions.length]!,
      target: { kind: 'token', id: `tok-${(index * 31) % 101}` },
      outcome: index % 5 === 0 ? 'failure' : 'success',
      details: { n: index, note: `entry ${index} é` },
    }
    const text = canonicalJson(entry)
    const leaf = leafHash(Buffer.from(text, 'utf8'))
    texts.push(text)
    leaves.push(leaf)
    frontier.append(leaf)
    roots.push(frontier.root())
  }
  return { texts, leaves, roots }
}

/** Checkpoints of `log` at each size, signed by `signer` at a fixed time. */
export async function signAt(
  log: MemoryLog,
  signer: SoftwareSigner,
  sizes: readonly number[],
): Promise<SignedCheckpoint[]> {
  const signed: SignedCheckpoint[] = []
  for (const size of sizes) {
    const time = new Date(Date.UTC(2026, 11, 3, 21, 0, size % 60))
    signed.push(await signCheckpoint(signer, { treeSize: size, root: log.roots[size]!, time }))
  }
  return signed
}

/** An export source over `log`, as the engine's would be over ClickHouse. */
export function memorySource(
  log: MemoryLog,
  signer: SoftwareSigner,
  checkpoints: SignedCheckpoint[],
): ExportSource {
  return {
    readEntries: async (start, end) =>
      log.texts.slice(start, end).map((text, k) => ({ index: start + k, text })),
    leaves: { leafHashes: async (start, end) => log.leaves.slice(start, end) },
    checkpoints,
    signer,
  }
}

const signers = new Map<string, SoftwareSigner>()

/** One software key per name and algorithm for the whole test file: generating keys costs. */
export function testSigner(name = 'test', algorithm: SignatureAlgorithm = 'ed25519') {
  const key = `${algorithm}:${name}`
  let signer = signers.get(key)
  if (!signer) {
    signer = SoftwareSigner.generate(algorithm, name)
    signers.set(key, signer)
  }
  return signer
}

/** A fresh temporary folder, and a function that removes it. */
export function tempFolder(prefix = 'palisade-export-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** The lines of a `.jsonl` file, without their LFs. */
export function readLines(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  return text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n')
}

/** Writes lines back, each with its LF. */
export function writeLines(file: string, lines: readonly string[]): void {
  writeFileSync(file, lines.map((line) => `${line}\n`).join(''))
}
