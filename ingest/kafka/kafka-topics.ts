/**
 * Palisade's topic layout on Kafka. Every topic name ends in the version of the envelope its
 * messages carry (see `message-envelope.ts`), so a change of envelope is a new topic that
 * old and new workers can drain side by side.
 *
 * | topic                        | key                         | value                       |
 * | ---------------------------- | --------------------------- | --------------------------- |
 * | `<prefix>.events.v1`         | the event's detection entity | `EventEnvelope` (raw event) |
 * | `<prefix>.dead-letters.v1`   | the record's stream          | `DeadLetterEnvelope`        |
 * | `<prefix>.alerts.v1`         | the alert's entity value     | `AlertEnvelope`             |
 *
 * Ingest gateways and the typed producer write events; ingest writes the records it refused
 * as dead letters; workers consume both, store them, and write the alerts they stored to the
 * alerts topic for whatever responds to them. Topics are created by the operator (or the test
 * launcher), never by Palisade: partition counts are a capacity decision.
 */
export interface KafkaTopics {
  events: string
  deadLetters: string
  alerts: string
}

export function kafkaTopics(prefix: string): KafkaTopics {
  return {
    events: `${prefix}.events.v1`,
    deadLetters: `${prefix}.dead-letters.v1`,
    alerts: `${prefix}.alerts.v1`,
  }
}
