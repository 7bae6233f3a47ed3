import type { IHeaders, Kafka, Producer } from 'kafkajs';
import { createIdempotentProducer } from './kafka.js';

export interface DeadLetter {
  sourceTopic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  /** The original bytes, untouched, so the message can be inspected and replayed. */
  value: Buffer | null;
  reason: string;
  consumer: string;
}

/** Writes poison messages to the dead-letter topic with why they were set aside. */
export class DeadLetterSink {
  private readonly producer: Producer;

  constructor(kafka: Kafka, private readonly topic: string) {
    this.producer = createIdempotentProducer(kafka);
  }

  start(): Promise<void> {
    return this.producer.connect();
  }

  stop(): Promise<void> {
    return this.producer.disconnect();
  }

  /** Resolves once Kafka has acknowledged every letter (acks=all): only then may offsets move on. */
  async send(letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: letters.map((l) => ({
        key: l.key,
        value: l.value,
        headers: {
          'x-source-topic': l.sourceTopic,
          'x-source-partition': String(l.partition),
          'x-source-offset': l.offset,
          'x-reason': l.reason.slice(0, 2_000),
          'x-consumer': l.consumer,
          'x-dead-lettered-at': new Date().toISOString(),
        } satisfies IHeaders,
      })),
    });
  }
}
