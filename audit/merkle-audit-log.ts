import type { AnalyticsStore } from '../platform/clickhouse/analytics-store.ts'
import {
  countAuditEntries,
  insertAuditEntry,
  readAuditRows,
} from '../platform/clickhouse/audit-repository.ts'
import { PalisadeError, StoreError } from '../platform/errors.ts'
import { canonicalJson } from '../platform/event-id.ts'
import { readAuditTree, writeAuditTree } from '../platform/state/audit-tree.ts'
import type { StateStore } from '../platform/state/state-store.ts'
import type { AuditEntry, AuditEntryInput, AuditLog, AuditReceipt } from './audit-log.ts'
import { checkAuditEntry } from './check-audit-entry.ts'
import { leafHash, MerkleFrontier, ProofBuilder } from './merkle/index.ts'
import type { LeafHashSource, SubtreeHash } from './merkle/index.ts'

export interface MerkleAuditLogOptions {
  store: AnalyticsStore
  state: StateStore
  /** The clock entries are stamped with; tests pass a fixed one. */
  now?: () => Date
}

/**
 * The audit log as a Merkle tree (RFC 9162): each entry's canonical JSON is a leaf, the entries
 * live in ClickHouse (`audit_entries`, never expired) and the tree's frontier in the state
 * store (`audit_tree`).
 *
 * Appends run one at a time in this process, each in two writes: the entry row, then the
 * frontier. A crash between them leaves ClickHouse one or more entries ahead, so opening the
 * log replays the leaf hashes the frontier lacks; the reverse (a frontier ahead of the entries)
 * cannot come from a crash and is refused. Only one process may append to a log.
 *
 * @example
 * const audit = await openAuditLog({ store, state })
 * const { index } = await audit.record({ actor, action: 'token.create', outcome: 'success' })
 * const proof = await audit.proofs.inclusionProof(index, audit.size())
 */
export async function openAuditLog(options: MerkleAuditLogOptions): Promise<MerkleAuditLog> {
  const log = new MerkleAuditLog(options)
  await log.recover()
  return log
}

export class MerkleAuditLog implements AuditLog {
  /** Proofs and past roots, reading leaf hashes from ClickHouse. */
  readonly proofs: ProofBuilder
  /** The leaf hashes as stored, for proofs and exports. */
  readonly leaves: LeafHashSource
  readonly #store: AnalyticsStore
  readonly #state: StateStore
  readonly #now: () => Date
  #frontier = new MerkleFrontier()
  /** The end of the last append; each append waits for it. */
  #tail: Promise<unknown> = Promise.resolve()
  /** Set when an append failed half way: the stores must be reconciled before the next. */
  #unsure = true

  constructor(options: MerkleAuditLogOptions) {
    this.#store = options.store
    this.#state = options.state
    this.#now = options.now ?? (() => new Date())
    this.leaves = { leafHashes: (start, end) => this.#leafHashes(start, end) }
    this.proofs = new ProofBuilder(this.leaves)
  }

  /** How many entries the tree holds. */
  size(): number {
    return this.#frontier.size
  }

  /** The tree's root hash now, MTH(D[size]). */
  root(): Uint8Array {
    return this.#frontier.root()
  }

  /** Resolves once every append already asked for has ended; call before closing the stores. */
  async drain(): Promise<void> {
    await this.#tail
  }

  async record(input: AuditEntryInput): Promise<AuditReceipt> {
    // Checked before queueing, so a refused entry never takes an index; everything up to the
    // return runs in the call itself, so entries take indexes in the order `record` is called.
    checkAuditEntry(input)
    const next = this.#tail.then(() => this.#append(input))
    this.#tail = next.catch(() => undefined)
    return next
  }

  /**
   * Brings the frontier in line with the stored entries: loads it from the state store and
   * appends the leaf hashes of entries stored after it was last written.
   *
   * @throws {PalisadeError} `PAL_AUDIT_LOG_INCONSISTENT` when the entries have a gap or a
   *   duplicate index, the frontier is ahead of them, or a stored leaf hash is not its entry's.
   */
  async recover(): Promise<void> {
    const saved = await readAuditTree(this.#state.db)
    const frontier =
      saved === null ? new MerkleFrontier() : MerkleFrontier.fromJSON(JSON.parse(saved))
    const { count, end } = await countAuditEntries(this.#store)

    if (count !== end) {
      throw inconsistent(`audit_entries holds ${count} rows for indexes 0 to ${end - 1}`)
    }

    if (end < frontier.size) {
      throw inconsistent(`the stored tree has ${frontier.size} leaves but only ${end} entries`)
    }

    if (end > frontier.size) {
      const rows = await readAuditRows(this.#store, frontier.size, end)
      for (const row of rows) {
        // The replayed leaves were never hashed by this code: check each against its entry.
        const hash = leafHash(Buffer.from(row.entry, 'utf8'))
        if (Buffer.from(hash).toString('hex') !== row.leaf_hash) {
          throw inconsistent(`entry ${row.idx}'s stored leaf hash is not the hash of its entry`)
        }
        frontier.append(hash, (subtree) => this.proofs.remember([subtree]))
      }
      await writeAuditTree(this.#state.db, frontier.size, JSON.stringify(frontier.toJSON()))
    }

    this.#frontier = frontier
    this.#unsure = false
  }

  async #append(input: AuditEntryInput): Promise<AuditReceipt> {
    if (this.#unsure) await this.recover()

    const index = this.#frontier.size
    const entry: AuditEntry = { v: 1, index, time: this.#now().toISOString(), ...input }
    const text = canonicalJson(entry)
    const hash = leafHash(Buffer.from(text, 'utf8'))
    const hex = Buffer.from(hash).toString('hex')
    const next = this.#frontier.clone()
    const subtrees: SubtreeHash[] = []
    next.append(hash, (subtree) => subtrees.push(subtree))

    try {
      await insertAuditEntry(this.#store, {
        idx: index,
        time: entry.time,
        entry: text,
        leaf_hash: hex,
      })
      await writeAuditTree(this.#state.db, next.size, JSON.stringify(next.toJSON()))
    } catch (error) {
      // The row may or may not be stored: find out from the stores before the next append.
      this.#unsure = true
      throw new StoreError(`audit entry ${index} (${input.action}) could not be stored`, {
        cause: error,
      })
    }

    this.#frontier = next
    this.proofs.remember(subtrees)
    return { index, leaf_hash: hex }
  }

  async #leafHashes(start: number, end: number): Promise<Uint8Array[]> {
    const rows = await readAuditRows(this.#store, start, end, 'idx, leaf_hash')
    // A short or out-of-order answer is passed on as is; the proof builder checks the count,
    // and a gap shows here as a wrong index.
    return rows.map((row, i) => {
      if (row.idx !== start + i) throw inconsistent(`audit entry ${start + i} is missing`)
      return new Uint8Array(Buffer.from(row.leaf_hash, 'hex'))
    })
  }
}

function inconsistent(message: string): PalisadeError {
  return new PalisadeError('PAL_AUDIT_LOG_INCONSISTENT', `audit log: ${message}`, { status: 500 })
}
