import type { Message, Producer } from 'kafkajs'
import { Partitioners } from 'kafkajs'
import { pino } from 'pino'
import type { z } from 'zod'

import { CryptoError } from '../crypto/crypto-error.ts'
import { sealEventFields } from '../crypto/seal-event-fields.ts'
import type { SealingPublicKey } from '../crypto/sealing-key-pair.ts'
import { createDlpScanner } from '../enrich/dlp/create-dlp-scanner.ts'
import { fieldsToSeal } from '../enrich/dlp/fields-to-seal.ts'
import type { DlpScanner, DlpType } from '../enrich/dlp/finding.ts'
import { ValidationError } from '../platform/errors.ts'
import { newId } from '../platform/event-id.ts'
import { incomingEvent } from '../platform/event-model.ts'
import type { Logger } from '../platform/logger.ts'
import { entityKey } from './kafka/entity-key.ts'
import { createKafka, transportUnavailable, withTimeout } from './kafka/kafka-connection.ts'
import { kafkaTopics } from './kafka/kafka-topics.ts'
import type { KafkaTopics } from './kafka/kafka-topics.ts'
import { deadLetterEnvelope, encodeEnvelope, eventEnvelope } from './kafka/message-envelope.ts'
import type { DeadLetterEnvelope, EventEnvelope } from './kafka/message-envelope.ts'

/** What a service may emit: an ECS event; `id` (a UUIDv7 is made) and `@timestamp` optional. */
export const producerEvent = incomingEvent.partial({ '@timestamp': true })
export type ProducerEvent = z.input<typeof producerEvent>

/** Which fields the producer seals before an event leaves the service, and to whom. */
export interface EmitterSealing {
  /** The data owner's registered public key (`GET /v1/sealing-keys/:kid` gives it). */
  recipient: SealingPublicKey
  /** Dotted paths sealed whenever an event holds them (`user.email`). */
  fields?: string[]
  /**
   * DLP types (`CREDIT_CARD`, `US_SSN`...): a field whose text holds a finding of one of them
   * is sealed instead of sent in the clear, found by the scanner the pipeline runs.
   */
  dlpTypes?: DlpType[]
  /** When given, each sealed field carries a blind index under this 32-byte key. */
  blindIndexKey?: Uint8Array
}

export interface EventProducerOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: string[]
  clientId?: string
  /** As `transport.kafka.topicPrefix` on the workers; default `palisade`. */
  topicPrefix?: string
  /** As `transport.kafka.keyFields` on the gateways; default source.ip, host.name, user.name. */
  keyFields?: string[]
  /** Names the emitter in stored dead letters; default `producer`. */
  stream?: string
  /** How long `send` calls are gathered into one request to the brokers; default 5 ms. */
  lingerMs?: number
  /** Most messages in one request; a fuller batch is sent at once. Default 1000. */
  maxBatchMessages?: number
  /** How long one request may wait for the brokers' acknowledgement; default 10 s. */
  sendTimeoutMs?: number
  /** Retries of a failed request (with backoff) before `send` rejects; default 5. */
  retries?: number
  /** Where kafkajs's and the producer's log lines go; silent by default. */
  logger?: Logger
  /** Fields to seal to a data owner before sending; none by default. */
  sealing?: EmitterSealing
}

export interface KeyedEnvelope {
  key: string | null
  envelope: EventEnvelope
}

interface Pending {
  messages: { topic: string; message: Message }[]
  resolve: () => void
  reject: (error: unknown) => void
}

/**
 * Sends security events straight to Palisade's Kafka topics, for Node services that emit
 * without going through the HTTP gateway. Each event is checked against Palisade's event
 * schema before anything is sent, given an id when it has none (so a retried send stays one
 * event: workers drop duplicates by id), keyed by its detection entity and wrapped in a
 * version 1 envelope. Calls made within `lingerMs` go to the brokers as one request, and a
 * `send` resolves only once the brokers acknowledged it with `acks=all`.
 *
 * @example
 * const producer = await EventProducer.connect({ brokers: ['kafka-1:9092'] })
 * const [id] = await producer.send([
 *   { event: { dataset: 'app.auth', outcome: 'failure' }, source: { ip: '203.0.113.7' } },
 * ])
 * await producer.disconnect()
 */
export class EventProducer {
  readonly topics: KafkaTopics
  readonly #producer: Producer
  readonly #options: Required<
    Omit<EventProducerOptions, 'logger' | 'clientId' | 'topicPrefix' | 'sealing'>
  >
  readonly #sealing: EmitterSealing | undefined
  readonly #scanner: DlpScanner | undefined
  #pending: Pending[] = []
  #pendingMessages = 0
  #timer: NodeJS.Timeout | undefined
  #closed = false

  private constructor(producer: Producer, options: EventProducerOptions) {
    this.#producer = producer
    this.topics = kafkaTopics(options.topicPrefix ?? 'palisade')
    this.#options = {
      brokers: options.brokers,
      keyFields: options.keyFields ?? ['source.ip', 'host.name', 'user.name'],
      stream: options.stream ?? 'producer',
      lingerMs: options.lingerMs ?? 5,
      maxBatchMessages: options.maxBatchMessages ?? 1000,
      sendTimeoutMs: options.sendTimeoutMs ?? 10_000,
      retries: options.retries ?? 5,
    }
    this.#sealing = options.sealing
    if (options.sealing?.dlpTypes?.length) this.#scanner = createDlpScanner()
  }

  /**
   * Connects to the brokers.
   *
   * @throws PalisadeError `PAL_TRANSPORT_UNAVAILABLE` (retriable) when none answers
   */
  static async connect(options: EventProducerOptions): Promise<EventProducer> {
    const logger = options.logger ?? pino({ level: 'silent' })
    const kafka = createKafka({
      brokers: options.brokers,
      clientId: options.clientId ?? 'palisade-producer',
      logger,
      retry: { retries: options.retries ?? 5, initialRetryTime: 100, maxRetryTime: 2_000 },
    })
    // Not idempotent: a retried request may land twice, and workers drop the copy by event id
    // (DESIGN.md, Delivery). This also works with brokers that report no controller.
    const producer = kafka.producer({
      allowAutoTopicCreation: false,
      idempotent: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    })
    try {
      await producer.connect()
    } catch (error) {
      throw transportUnavailable(error, 'a connection')
    }
    return new EventProducer(producer, options)
  }

  /**
   * Checks, keys and sends `events`; resolves with their ids once acknowledged.
   *
   * @throws ValidationError `PAL_INVALID_EVENT` naming the event's index and field path, before
   *   anything of the call is sent
   * @throws ValidationError `PAL_SEALING_REFUSED` naming the event's index and field when a
   *   field chosen for sealing cannot be sealed (one ingest needs in the clear), before
   *   anything of the call is sent
   * @throws PalisadeError `PAL_TRANSPORT_UNAVAILABLE` (retriable) when the brokers did not
   *   acknowledge; send the same events again (their ids are kept, so nothing doubles)
   */
  async send(events: ProducerEvent[], options: { receivedAt?: Date } = {}): Promise<string[]> {
    const received = (options.receivedAt ?? new Date()).toISOString()
    const envelopes: KeyedEnvelope[] = []
    for (const [index, input] of events.entries()) {
      const parsed = producerEvent.safeParse(input)
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!
        const path = issue.path.map(String).join('.')
        throw new ValidationError(
          `expected an ECS event at events[${index}]: ${path || '(root)'}: ${issue.message}`,
          { index, path },
          'PAL_INVALID_EVENT',
        )
      }
      let event: Record<string, unknown> = { ...parsed.data, id: parsed.data.id ?? newId() }
      if (this.#sealing) event = await this.#seal(event, index, this.#sealing)
      envelopes.push({
        key: entityKey(event, this.#options.keyFields),
        envelope: {
          v: 1,
          source: 'producer',
          format: 'json',
          stream: this.#options.stream,
          position: 0,
          received,
          // The raw text is the event as sent: the input would hold what was sealed.
          raw: this.#sealing ? JSON.stringify(event) : JSON.stringify(input),
          event: event as EventEnvelope['event'],
        },
      })
    }
    await this.sendEnvelopes(envelopes, [])
    return envelopes.map((e) => e.envelope.event.id as string)
  }

  /** Seals the fields named and those the scanner finds a chosen type in. */
  async #seal(
    event: Record<string, unknown>,
    index: number,
    sealing: EmitterSealing,
  ): Promise<Record<string, unknown>> {
    const fields = [...(sealing.fields ?? [])]
    if (this.#scanner) fields.push(...fieldsToSeal(this.#scanner, event, sealing.dlpTypes ?? []))
    if (fields.length === 0) return event
    try {
      const { event: sealed } = await sealEventFields(event, {
        recipient: sealing.recipient,
        fields,
        ...(sealing.blindIndexKey ? { blindIndexKey: sealing.blindIndexKey } : {}),
      })
      return sealed
    } catch (error) {
      if (!(error instanceof CryptoError)) throw error
      throw new ValidationError(
        `expected events[${index}] to be sealable: ${error.message}`,
        { index, ...error.context },
        'PAL_SEALING_REFUSED',
      )
    }
  }

  /**
   * Sends envelopes as they are (the ingest gateway's path); resolves once acknowledged.
   *
   * @throws PalisadeError `PAL_TRANSPORT_UNAVAILABLE` (retriable)
   */
  sendEnvelopes(events: KeyedEnvelope[], deadLetters: DeadLetterEnvelope[]): Promise<void> {
    const messages = [
      ...events.map(({ key, envelope }) => ({
        topic: this.topics.events,
        message: { key, value: encodeEnvelope(eventEnvelope, envelope) },
      })),
      ...deadLetters.map((envelope) => ({
        topic: this.topics.deadLetters,
        message: {
          key: envelope.letter.stream,
          value: encodeEnvelope(deadLetterEnvelope, envelope),
        },
      })),
    ]
    if (messages.length === 0) return Promise.resolve()
    if (this.#closed) return Promise.reject(transportUnavailable('the producer is closed', 'it'))
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ messages, resolve, reject })
      this.#pendingMessages += messages.length
      if (this.#pendingMessages >= this.#options.maxBatchMessages) this.#flush()
      else this.#timer ??= setTimeout(() => this.#flush(), this.#options.lingerMs)
    })
  }

  /** Sends what is gathered, then disconnects. */
  async disconnect(): Promise<void> {
    this.#closed = true
    this.#flush()
    await this.#producer.disconnect()
  }

  #flush(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    const batch = this.#pending
    this.#pending = []
    this.#pendingMessages = 0
    if (batch.length === 0) return
    const byTopic = new Map<string, Message[]>()
    for (const p of batch) {
      for (const { topic, message } of p.messages) {
        const list = byTopic.get(topic) ?? []
        list.push(message)
        byTopic.set(topic, list)
      }
    }
    const sent = this.#producer.sendBatch({
      acks: -1,
      timeout: this.#options.sendTimeoutMs,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    })
    withTimeout(sent, this.#options.sendTimeoutMs, () =>
      transportUnavailable(`no acknowledgement within ${this.#options.sendTimeoutMs} ms`, 'it'),
    ).then(
      () => batch.forEach((p) => p.resolve()),
      (error: unknown) => {
        const failure =
          (error as { code?: string }).code === 'PAL_TRANSPORT_UNAVAILABLE'
            ? error
            : transportUnavailable(error, `${batch.length} send(s)`)
        batch.forEach((p) => p.reject(failure))
      },
    )
  }
}
