import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from './logger.js';

export interface TopicReaderOptions {
  kafka: Kafka;
  topic: string;
  /** Names the reader's throwaway consumer group (it commits nothing). */
  name: string;
  onMessage(message: KafkaMessage, partition: number): Promise<void>;
  log: Logger;
}

/**
 * Reads a whole topic from its beginning, then follows it live: how each process folds the
 * event-sourced configuration into memory. `start()` resolves once everything that was on
 * the topic at start has been read, so nothing is processed under a stale configuration.
 */
export class TopicReader {
  private readonly consumer: Consumer;
  private readonly positions = new Map<number, bigint>();

  constructor(private readonly o: TopicReaderOptions) {
    this.consumer = o.kafka.consumer({ groupId: `${o.name}-${randomUUID()}`, maxWaitTimeInMs: 100 });
  }

  async start(timeoutMs = 60_000): Promise<void> {
    const admin = this.o.kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(this.o.topic);
    await admin.disconnect();
    const targets = new Map(ends.map((p) => [p.partition, BigInt(p.high)]));

    let caughtUp!: () => void;
    const done = new Promise<void>((resolve) => (caughtUp = resolve));
    const check = () => {
      for (const [partition, high] of targets) if ((this.positions.get(partition) ?? 0n) < high) return;
      caughtUp();
    };
    check();

    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.o.topic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachMessage: async ({ message, partition }) => {
        await this.o.onMessage(message, partition);
        this.positions.set(partition, BigInt(message.offset) + 1n);
        check();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      done,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${this.o.topic} not read to its end within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
    this.o.log.info({ event: 'topic_caught_up', topic: this.o.topic }, 'read to the end of the topic');
  }

  stop(): Promise<void> {
    return this.consumer.disconnect();
  }
}
