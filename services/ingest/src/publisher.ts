import type { Kafka, Message, Producer } from 'kafkajs';
import { createIdempotentProducer } from '@tokenledger/infra/kafka';
import { HttpError } from './errors.js';
import { RememberingPartitioner } from './partitioner.js';

export interface PublisherOptions {
  /** Milliseconds to wait for Kafka's acknowledgement before answering 503. */
  timeoutMs: number;
  /** Messages gathered from concurrent requests are sent together after at most this long. */
  lingerMs: number;
  maxBatchMessages: number;
  /**
   * Bytes of messages per produce request. Kafka refuses a partition's batch over its
   * `message.max.bytes` (1 MiB by default) for good, so larger flushes go out in chunks.
   */
  maxBatchBytes: number;
}

interface Pending {
  topic: string;
  messages: Message[];
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * Publishes with acks=all through an idempotent producer. kafkajs has no producer linger, so
 * this gathers the messages of concurrent requests for a few milliseconds and sends them as
 * one batch; every request resolves only when Kafka has acknowledged all of its messages.
 */
export class Publisher {
  private producer: Producer;
  private queue: Pending[] = [];
  private queuedMessages = 0;
  private timer: NodeJS.Timeout | undefined;
  private connected = false;
  /** A new producer replacing one whose sequence numbers the broker refused (see renew). */
  private renewing: Promise<void> | undefined;
  private renewalFailed = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: PublisherOptions,
    private readonly onConnection: (connected: boolean) => void = () => {},
  ) {
    this.producer = this.createProducer();
  }

  private createProducer(): Producer {
    const producer = createIdempotentProducer(this.kafka, 1, RememberingPartitioner);
    producer.on(producer.events.CONNECT, () => this.onConnection((this.connected = true)));
    producer.on(producer.events.DISCONNECT, () => this.onConnection((this.connected = false)));
    return producer;
  }

  /**
   * kafkajs never recovers an idempotent producer once the broker refuses its sequence numbers
   * (a broker going down can cut off a produce request it had already written, which kafkajs
   * then counts unsent): every later send fails the same way. A new producer gets a new producer
   * id and fresh sequences. The failed sends were answered 503 and never acknowledged; a client's
   * retry keeps its event ids, and downstream counts an event id once.
   */
  private renew(): void {
    if (this.renewing) return;
    const broken = this.producer;
    this.producer = this.createProducer();
    this.renewalFailed = false;
    this.renewing = (async () => {
      await broken.disconnect().catch(() => undefined);
      await this.producer.connect();
    })()
      .catch(() => void (this.renewalFailed = true))
      .finally(() => (this.renewing = undefined));
  }

  get isConnected(): boolean {
    return this.connected;
  }

  async start(): Promise<void> {
    await this.producer.connect();
  }

  async stop(): Promise<void> {
    await this.flush();
    await this.producer.disconnect();
  }

  publish(topic: string, messages: Message[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    const acknowledged = new Promise<void>((resolve, reject) => {
      this.queue.push({ topic, messages, resolve, reject });
    });
    this.queuedMessages += messages.length;
    if (this.queuedMessages >= this.options.maxBatchMessages) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.options.lingerMs);
    return withTimeout(acknowledged, this.options.timeoutMs);
  }

  private async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.queue;
    this.queue = [];
    this.queuedMessages = 0;
    if (batch.length === 0) return;
    // Chunks under the byte cap, sent in order; a request settles once the chunk holding its
    // last message is acknowledged, and fails if that chunk or an earlier one fails.
    const chunks: Map<string, Message[]>[] = [];
    const lastChunkOf: number[] = [];
    let chunk = new Map<string, Message[]>();
    let chunkBytes = 0;
    for (const p of batch) {
      for (const m of p.messages) {
        const size = messageBytes(m);
        if (chunkBytes > 0 && chunkBytes + size > this.options.maxBatchBytes) {
          chunks.push(chunk);
          chunk = new Map();
          chunkBytes = 0;
        }
        const messages = chunk.get(p.topic) ?? [];
        messages.push(m);
        chunk.set(p.topic, messages);
        chunkBytes += size;
      }
      lastChunkOf.push(chunks.length);
    }
    chunks.push(chunk);
    let settled = 0;
    try {
      if (this.renewalFailed) this.renew();
      await this.renewing;
      for (const [index, topicMessages] of chunks.entries()) {
        await this.producer.sendBatch({
          acks: -1,
          topicMessages: [...topicMessages].map(([topic, messages]) => ({ topic, messages })),
        });
        while (settled < batch.length && lastChunkOf[settled]! <= index) batch[settled++]!.resolve();
      }
    } catch (error) {
      if (refusesSequence(error)) this.renew();
      for (; settled < batch.length; settled++) batch[settled]!.reject(error as Error);
    }
  }
}

/** The broker no longer takes this producer's sequence numbers: only a new producer will do. */
function refusesSequence(error: unknown): boolean {
  const e = error as { type?: string; cause?: { type?: string } } | undefined;
  return [e?.type, e?.cause?.type].some((type) => type === 'OUT_OF_ORDER_SEQUENCE_NUMBER' || type === 'UNKNOWN_PRODUCER_ID');
}

/** A message's share of a record batch: key, value and a generous bound on the record's framing. */
function messageBytes(m: Message): number {
  const length = (v: Message['key'] | Message['value']) => (v == null ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length);
  return length(m.key) + length(m.value) + 32;
}

/**
 * Past the deadline the caller gets 503 and must retry; the send may still land later, which
 * is safe because a retried event has the same event id and counts once downstream.
 */
function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HttpError(503, `Kafka did not acknowledge within ${ms} ms`, 5)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
