import { Partitioners } from 'kafkajs'

/**
 * The key of an event's message: the value of the first of `fields` (dotted ECS paths) the
 * event holds, prefixed by that field, so `source.ip=203.0.113.7`. Kafka sends equal keys to
 * one partition, and so one worker holds the correlation windows of that entity. An event
 * with none of the fields is keyed by its id when it has one (spread evenly; no correlation
 * can group it with others on those fields), and by nothing otherwise.
 *
 * Correlations that group on different fields of one event (one on `source.ip`, another on
 * `host.name`) cannot all be served by one key: an event goes where its first field sends
 * it, so `fields` should list first what the loaded correlations group on.
 */
export function entityKey(
  event: Record<string, unknown>,
  fields: readonly string[],
): string | null {
  for (const field of fields) {
    const value = valueAt(event, field)
    if (typeof value === 'string' && value !== '') return `${field}=${value}`
    if (typeof value === 'number' || typeof value === 'boolean') return `${field}=${value}`
  }
  return typeof event.id === 'string' ? `id=${event.id}` : null
}

/** The value at a dotted path, reading a flattened key (`"source.ip"`) as well as nesting. */
function valueAt(event: Record<string, unknown>, path: string): unknown {
  if (path in event) return event[path]
  let node: unknown = event
  for (const part of path.split('.')) {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined
    node = (node as Record<string, unknown>)[part]
  }
  return node
}

const partitioner = Partitioners.DefaultPartitioner()

/**
 * The partition kafkajs's default partitioner (murmur2, as the Java client) gives `key` among
 * `partitions`: a worker given a partition finds the stored events that came through it.
 */
export function partitionOf(key: string, partitions: number): number {
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
    partitionErrorCode: 0,
  }))
  return partitioner({ topic: '', partitionMetadata, message: { key, value: null } })
}
