import { z } from 'zod'

import { alertSchema } from '../../platform/alert-model.ts'
import { describeValue, ValidationError } from '../../platform/errors.ts'

/**
 * The messages Palisade puts on Kafka: JSON objects with a version `v`, checked by these
 * schemas on the way out and on the way in. A new envelope version is a new topic (see
 * `kafka-topics.ts`).
 */

/** One record for a worker to normalise, detect on and store (`<prefix>.events.v1`). */
export const eventEnvelope = z.strictObject({
  v: z.literal(1),
  /** Where it came from: `http`, `syslog-udp`, `syslog-tcp`, `producer`, `replay`. */
  source: z.string().min(1),
  format: z.string().min(1),
  stream: z.string(),
  /** Position of the record in its stream, kept on a dead letter for replay. */
  position: z.number().int().nonnegative(),
  /** When Palisade (or the emitting service) received it: RFC 3339. */
  received: z.iso.datetime({ offset: true }),
  /** Only Palisade's own emitters set it (see `Batch.internal`). */
  internal: z.boolean().optional(),
  /** The record's original text, kept on a dead letter if the worker refuses it. */
  raw: z.string(),
  /** The event as an object: ECS field names, validated by the worker as ingest does. */
  event: z.record(z.string(), z.unknown()),
})
export type EventEnvelope = z.infer<typeof eventEnvelope>

/** A record ingest refused, for a worker to store (`<prefix>.dead-letters.v1`). */
export const deadLetterEnvelope = z.strictObject({
  v: z.literal(1),
  letter: z.strictObject({
    id: z.uuid(),
    received: z.iso.datetime({ offset: true }),
    status: z.enum(['pending', 'replayed', 'failed_again']),
    source: z.string(),
    format: z.string(),
    stream: z.string(),
    position: z.number().int().nonnegative(),
    reason_code: z.string(),
    reason: z.string(),
    path: z.string(),
    raw: z.string(),
  }),
})
export type DeadLetterEnvelope = z.infer<typeof deadLetterEnvelope>

/** An alert a worker stored (`<prefix>.alerts.v1`). */
export const alertEnvelope = z.strictObject({ v: z.literal(1), alert: alertSchema })
export type AlertEnvelope = z.infer<typeof alertEnvelope>

/** Where a message was read, for the error that refuses it. */
export interface MessagePlace {
  topic: string
  partition: number
  offset: string
}

/**
 * Reads a message value as the envelope `schema` describes.
 *
 * @throws ValidationError `PAL_KAFKA_ENVELOPE_INVALID` saying what was expected, what came and
 *   where (topic, partition, offset, field path)
 */
export function decodeEnvelope<T>(
  schema: z.ZodType<T>,
  value: Buffer | null,
  place: MessagePlace,
): T {
  const where = `${place.topic}[${place.partition}]@${place.offset}`
  if (value === null) {
    throw invalid(`expected a JSON envelope at ${where}, got a message without a value`, place)
  }

  let parsed: unknown
  try {
    parsed = JSON.parse(value.toString('utf8'))
  } catch (error) {
    const came = describeValue(value.toString('utf8'))
    throw invalid(
      `expected a JSON envelope at ${where}, got ${came} (${(error as Error).message})`,
      place,
    )
  }

  const result = schema.safeParse(parsed)
  if (!result.success) {
    const issue = result.error.issues[0]!
    const path = issue.path.map(String).join('.')
    const version = (parsed as { v?: unknown } | null)?.v
    const message =
      version !== 1 && path === 'v'
        ? `expected envelope version 1 at ${where}, got ${describeValue(version)}`
        : `expected a version 1 envelope at ${where}: ${path || '(root)'}: ${issue.message}`
    throw invalid(message, { ...place, path })
  }
  return result.data
}

/**
 * Serialises an envelope after checking it against `schema`, so a bug on the producing side
 * is caught where it happens, not by every consumer.
 *
 * @throws ValidationError `PAL_KAFKA_ENVELOPE_INVALID`
 */
export function encodeEnvelope<T>(schema: z.ZodType<T>, envelope: T): string {
  const result = schema.safeParse(envelope)
  if (!result.success) {
    const issue = result.error.issues[0]!
    const path = issue.path.map(String).join('.')
    throw new ValidationError(
      `expected a version 1 envelope: ${path || '(root)'}: ${issue.message}`,
      { path },
      'PAL_KAFKA_ENVELOPE_INVALID',
    )
  }
  return JSON.stringify(result.data)
}

function invalid(message: string, context: MessagePlace & { path?: string }): ValidationError {
  return new ValidationError(message, { ...context }, 'PAL_KAFKA_ENVELOPE_INVALID')
}
