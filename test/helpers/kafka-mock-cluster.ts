import { execFileSync, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

import { repoRoot } from './test-engine.ts'

const source = join(repoRoot, 'test', 'helpers', 'kafka-mock', 'kafka-mock-cluster.c')

export interface KafkaMockCluster {
  /** `host:port` of every broker, for kafkajs's `brokers`. */
  brokers: string[]
  /** Every broker refuses connections until `up()`. */
  down(): Promise<void>
  up(): Promise<void>
  /** Ends the cluster (closing its stdin) and waits for the process to exit. */
  stop(): Promise<void>
}

/**
 * Compiles the launcher (once per version of its source, into the temporary folder, never
 * into the repository) against Debian's librdkafka-dev.
 *
 * @throws Error naming the package when librdkafka's headers are missing
 */
export function kafkaMockBinary(): string {
  const text = readFileSync(source)
  const digest = createHash('sha256').update(text).digest('hex').slice(0, 12)
  const dir = join(tmpdir(), 'palisade-kafka-mock')
  const binary = join(dir, `kafka-mock-cluster-${digest}`)
  if (existsSync(binary)) return binary
  if (!existsSync('/usr/include/librdkafka/rdkafka_mock.h')) {
    throw new Error(
      'expected librdkafka headers in /usr/include/librdkafka (apt-get install librdkafka-dev)',
    )
  }
  mkdirSync(dir, { recursive: true })
  // Built under another name and renamed, so a parallel test never runs a half-written file.
  const partial = `${binary}.${process.pid}`
  execFileSync('cc', ['-O2', '-Wall', '-o', partial, source, '-lrdkafka'], { stdio: 'pipe' })
  renameSync(partial, binary)
  return binary
}

/**
 * Starts librdkafka's mock cluster in its own process: `brokers` real Kafka brokers on
 * loopback ports the OS picks, with `topics` created (name to partition count).
 */
export async function startKafkaMockCluster(
  brokers: number,
  topics: Record<string, number>,
): Promise<KafkaMockCluster> {
  const args = [String(brokers), ...Object.entries(topics).map(([t, n]) => `${t}:${n}`)]
  const child: ChildProcess = spawn(kafkaMockBinary(), args, {
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const lines = createInterface({ input: child.stdout! })
  const waiting: ((line: string) => void)[] = []
  const early: string[] = []
  lines.on('line', (line) => {
    const next = waiting.shift()
    if (next) next(line)
    else early.push(line)
  })
  const exited = once(child, 'exit')
  const nextLine = () =>
    new Promise<string>((resolve, reject) => {
      const line = early.shift()
      if (line !== undefined) return resolve(line)
      waiting.push(resolve)
      void exited.then(([code]) =>
        reject(new Error(`the Kafka mock cluster exited with ${code}: ${stderr}`)),
      )
    })

  const first = await nextLine()
  const match = /^bootstraps (\S+)$/.exec(first)
  if (!match) throw new Error(`expected "bootstraps HOST:PORT,...", got ${JSON.stringify(first)}`)

  const command = async (word: 'down' | 'up') => {
    child.stdin!.write(`${word}\n`)
    const answer = await nextLine()
    if (answer !== `ok ${word}`) throw new Error(`expected "ok ${word}", got "${answer}"`)
  }
  return {
    brokers: match[1]!.split(','),
    down: () => command('down'),
    up: () => command('up'),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.stdin!.end()
      await exited
    },
  }
}
