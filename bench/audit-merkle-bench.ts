/**
 * `node bin/run-ts.js bench/audit-merkle-bench.ts`: the audit log's Merkle tree on a tree of
 * 1,000,000 leaves (`--leaves N` to change): appends to the frontier, inclusion and consistency
 * proofs built by `ProofBuilder` over an in-memory leaf store, and their verification.
 *
 * The machine is shared and absolute rates drift, so the run starts and ends with a baseline of
 * raw SHA-256 calls on a node's 65 bytes, and each row also says how many of those one operation
 * costs: that figure is what to compare between versions. Proofs are timed twice: "cold" with an
 * empty subtree cache (a restarted log), and "warm" with the cache the frontier fed while
 * appending (a running log), where a proof reads at most one 256-leaf block.
 *
 * Flags: `--json` prints the results as JSON.
 */
import { createHash } from 'node:crypto'

import {
  leafHash,
  MerkleFrontier,
  ProofBuilder,
  verifyConsistency,
  verifyInclusion,
} from '../audit/merkle/index.ts'
import { formatRate, formatTable } from './measure.ts'

const argv = process.argv.slice(2)
const json = argv.includes('--json')
const leafCount = Number(argv[argv.indexOf('--leaves') + 1] ?? 1_000_000) || 1_000_000

interface Row {
  operation: string
  count: number
  seconds: number
}

const rows: Row[] = []

function time(operation: string, count: number, work: () => void): void {
  const start = process.hrtime.bigint()
  work()
  rows.push({ operation, count, seconds: Number(process.hrtime.bigint() - start) / 1e9 })
}

async function timeAsync(operation: string, count: number, work: () => Promise<void>) {
  const start = process.hrtime.bigint()
  await work()
  rows.push({ operation, count, seconds: Number(process.hrtime.bigint() - start) / 1e9 })
}

// A fixed sequence of indices, the same on every run.
let state = 0x9162
const nextIndex = (below: number) => {
  state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0
  return Math.floor((state / 2 ** 32) * below)
}

const node = new Uint8Array(65).fill(7)
const sha256Baseline = (operation: string) =>
  time(operation, 1_000_000, () => {
    for (let i = 0; i < 1_000_000; i++) createHash('sha256').update(node).digest()
  })
sha256Baseline('SHA-256 of 65 bytes (baseline, before)')

const entries = Array.from({ length: leafCount }, (_, i) => new TextEncoder().encode(`entry ${i}`))
const hashes: Uint8Array[] = new Array(leafCount)
time('leafHash of an entry', leafCount, () => {
  for (let i = 0; i < leafCount; i++) hashes[i] = leafHash(entries[i]!)
})

const source = { leafHashes: async (start: number, end: number) => hashes.slice(start, end) }
const warm = new ProofBuilder(source)
const tree = new MerkleFrontier()
time('frontier append', leafCount, () => {
  for (const h of hashes) tree.append(h)
})
const fed = new MerkleFrontier()
time('frontier append, feeding the proof cache', leafCount, () => {
  for (const h of hashes)
    fed.append(h, (subtree) => warm.cache.set(subtree.level, subtree.index, subtree.hash))
})
time('frontier root', 100_000, () => {
  for (let i = 0; i < 100_000; i++) tree.root()
})

const root = tree.root()
const cold = new ProofBuilder(source)
await timeAsync('inclusion proof, cold cache (first one)', 1, async () => {
  await cold.inclusionProof(nextIndex(leafCount), leafCount)
})

const proofs = 20_000
const inclusions: { index: number; proof: Uint8Array[] }[] = []
await timeAsync('inclusion proof, warm cache', proofs, async () => {
  for (let i = 0; i < proofs; i++) {
    const index = nextIndex(leafCount)
    inclusions.push({ index, proof: await warm.inclusionProof(index, leafCount) })
  }
})

time('inclusion verification', proofs, () => {
  for (const { index, proof } of inclusions) {
    verifyInclusion({
      leafIndex: index,
      treeSize: leafCount,
      leafHash: hashes[index]!,
      proof,
      root,
    })
  }
})

// Consistency from random earlier sizes to the whole tree: roots of the earlier sizes come
// from the warm builder too, so the verification below checks real pairs.
const consistencies: { size1: number; root1: Uint8Array; proof: Uint8Array[] }[] = []
await timeAsync('consistency proof, warm cache', proofs, async () => {
  for (let i = 0; i < proofs; i++) {
    const size1 = 1 + nextIndex(leafCount - 1)
    consistencies.push({ size1, root1: root, proof: await warm.consistencyProof(size1, leafCount) })
  }
})
for (const c of consistencies) c.root1 = await warm.rootHash(c.size1)

time('consistency verification', proofs, () => {
  for (const { size1, root1, proof } of consistencies) {
    verifyConsistency({ size1, size2: leafCount, root1, root2: root, proof })
  }
})

sha256Baseline('SHA-256 of 65 bytes (baseline, after)')

// The mean of the two baselines, so that a drift during the run shows in both of them.
const [before, after] = [rows[0]!, rows[rows.length - 1]!]
const baseline = (before.count / before.seconds + after.count / after.seconds) / 2
const results = rows.map((row) => {
  const perSecond = row.count / row.seconds
  return { ...row, perSecond, sha256Calls: baseline / perSecond }
})

if (json) {
  console.log(JSON.stringify({ leaves: leafCount, results }, null, 2))
} else {
  console.log(`Merkle tree of ${leafCount} leaves, cache of ${warm.cache.size} subtrees\n`)
  console.log(
    formatTable(
      ['operation', 'count', 'per second', 'SHA-256 calls each'],
      results.map((r) => [
        r.operation,
        String(r.count),
        formatRate(r.perSecond),
        r.sha256Calls.toFixed(1),
      ]),
    ),
  )
}
