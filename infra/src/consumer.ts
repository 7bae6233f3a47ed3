import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { z } from 'zod';
import type { DeadLetter, DeadLetterSink } from './dead-letter.js';
import type { Logger } from './logger.js';
import { AvroDecoder, UNRESOLVED, WireFormatError, type SchemaRegistry } from './registry.js';

/** A message decoded through the registry and checked against the reader's contract. */
export interface Decoded<T> {
  value: T;
  partition: number;
  offset: string;
}

/** What a handler is told about the batch it must make durable. */
export interface BatchContext {
  topic: string;
  partition: number;
  /** Keeps the group membership alive during long writes and retries. */
  heartbeat(): Promise<void>;
}

export interface BatchConsumerOptions<T> {
  name: string;
  kafka: Kafka;
  groupId: string;
  topic: string;
  registry: SchemaRegistry;
  /** The reader's Avro schema: writers' newer schemas are resolved into it. */
  readerSchema: object;
  /**
   * The reader's contract, checked after decoding; a message that fails it is poison. A zod
   * schema, or a function where zod would cost too much per message (Avro already fixed the
   * types: only the semantic checks are left).
   */
  contract: z.ZodType<T> | ContractCheck<T>;
  /**
   * Makes the batch's effect durable (e.g. rows in ClickHouse). Offsets are committed only
   * after it resolves; if it throws, the batch is retried with backoff and never skipped.
   */
  handle(messages: Decoded<T>[], context: BatchContext): Promise<void>;
  /** Where poison messages go. A replay passes none: the live consumer already set them aside. */
  deadLetters?: DeadLetterSink;
  log: Logger;
  metrics: Registry;
  fromBeginning?: boolean;
  partitionsConsumedConcurrently?: number;
  /** Most bytes fetched per partition and request (the largest batch); 4 MiB unless given. */
  maxBytesPerPartition?: number;
}

type DecodeResult<T> = { ok: true; decoded: Decoded<T> } | { ok: false; reason: string };

/** A contract checked as a function: the value as the reader's type, or why it is poison. */
export type ContractCheck<T> = (value: unknown) => { ok: true; value: T } | { ok: false; reason: string };

/** A zod schema as a contract check; the reason names the first issue's path. */
export function zodContract<T>(schema: z.ZodType<T>): ContractCheck<T> {
  return (value) => {
    const checked = schema.safeParse(value);
    if (checked.success) return { ok: true, value: checked.data };
    const first = checked.error.issues[0];
    return { ok: false, reason: `${first?.path.join('.') ?? ''} ${first?.message ?? ''}`.trim() };
  };
}

/** A failure worth retrying (a dependency is down), as opposed to a bad message. */
export class RetryableError extends Error {
  override name = 'RetryableError';
}

/**
 * The group moved on without this member (its session lapsed, or a rebalance took the
 * partition): its uncommitted batch is redone by the partition's next owner (writes are
 * idempotent), and kafkajs rejoins the group on its next heartbeat or fetch.
 */
function lostMembership(error: unknown): boolean {
  const { type, cause } = error as { type?: string; cause?: { type?: string } };
  return ['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'REBALANCE_IN_PROGRESS', 'NOT_COORDINATOR_FOR_GROUP'].includes(type ?? cause?.type ?? '');
}

/** How often a batch still being written keeps the membership alive (kafkajs throttles to its heartbeatInterval). */
const HEARTBEAT_DURING_BATCH_MS = 1_000;

function isRegistryNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { status?: number }).status === 404;
}

/**
 * A Kafka consumer that decodes Avro through the registry, dead-letters poison messages with
 * their reason and original bytes, hands the rest to `handle` in batches, and commits a
 * partition's offset only after `handle` made the batch durable. No auto-commit.
 */
export class BatchConsumer<T> {
  private readonly consumer: Consumer;
  private running = false;
  private stopping = false;
  private healthy = false;
  private readonly batchSize: Histogram;
  private readonly batchSeconds: Histogram;
  private readonly deadLettered: Counter;
  private readonly processed: Counter;
  private readonly retries: Counter;
  private readonly lag: Gauge;

  private readonly decoder: AvroDecoder;
  private readonly check: ContractCheck<T>;

  constructor(private readonly o: BatchConsumerOptions<T>) {
    this.decoder = new AvroDecoder(o.registry, o.readerSchema);
    this.check = typeof o.contract === 'function' ? o.contract : zodContract(o.contract);
    this.consumer = o.kafka.consumer({
      groupId: o.groupId,
      // A crashed member holds its partitions until this expires; retries heartbeat meanwhile.
      sessionTimeout: 15_000,
      heartbeatInterval: 3_000,
      maxBytesPerPartition: o.maxBytesPerPartition ?? 4 * 1024 * 1024,
      maxWaitTimeInMs: 250,
    });
    const labelNames = ['consumer'];
    const registers = [o.metrics];
    this.batchSize = new Histogram({ name: 'tokenledger_consumer_batch_size', help: 'Messages per batch', labelNames, buckets: [1, 10, 100, 500, 1000, 5000, 20000], registers });
    this.batchSeconds = new Histogram({ name: 'tokenledger_consumer_batch_seconds', help: 'Decode, handle and commit time per batch', labelNames, buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers });
    this.processed = new Counter({ name: 'tokenledger_consumer_messages_total', help: 'Messages made durable', labelNames, registers });
    this.deadLettered = new Counter({ name: 'tokenledger_consumer_dead_lettered_total', help: 'Messages sent to the dead-letter topic', labelNames: ['consumer', 'reason'], registers });
    this.retries = new Counter({ name: 'tokenledger_consumer_retries_total', help: 'Batch retries after a failed write', labelNames, registers });
    this.lag = new Gauge({ name: 'tokenledger_consumer_lag', help: 'High watermark minus next offset, per partition', labelNames: ['consumer', 'partition'], registers });
  }

  /** Ready once it has joined its group and is not stuck retrying a failed dependency. */
  get isHealthy(): boolean {
    return this.running && this.healthy;
  }

  async start(): Promise<void> {
    const { consumer } = this;
    consumer.on(consumer.events.GROUP_JOIN, () => (this.healthy = true));
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.healthy = false;
      this.o.log.error({ event: 'consumer_crashed', consumer: this.o.name, err: payload.error, restart: payload.restart }, 'consumer crashed');
      // kafkajs restarts itself after retriable errors only; consuming must not stop for good.
      if (!payload.restart && !this.stopping) void this.restartAfterCrash();
    });
    await this.connectAndRun();
  }

  private async restartAfterCrash(): Promise<void> {
    for (let attempt = 0; !this.stopping; attempt++) {
      await new Promise((r) => setTimeout(r, Math.min(30_000, 1_000 * 2 ** attempt)));
      if (this.stopping) return;
      try {
        await this.consumer.disconnect();
        await this.connectAndRun();
        this.o.log.warn({ event: 'consumer_restarted', consumer: this.o.name, attempt }, 'consumer restarted after a crash');
        return;
      } catch (error) {
        this.o.log.error({ event: 'consumer_restart_failed', consumer: this.o.name, attempt, err: error }, 'consumer restart failed; retrying');
      }
    }
  }

  private async connectAndRun(): Promise<void> {
    const { consumer } = this;
    await consumer.connect();
    await consumer.subscribe({ topic: this.o.topic, fromBeginning: this.o.fromBeginning ?? true });
    this.running = true;
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.o.partitionsConsumedConcurrently ?? 2,
      eachBatch: (payload) => this.processBatch(payload),
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.running = false;
    await this.consumer.disconnect();
  }

  private async processBatch({ batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload): Promise<void> {
    if (batch.messages.length === 0) return;
    const started = process.hrtime.bigint();
    const letters: DeadLetter[] = [];
    const good: Decoded<T>[] = [];
    for (const message of batch.messages) {
      // Synchronous once the writer's schema is known; the first message of a schema fetches it.
      const result = this.decodeNow(message, batch.partition) ?? (await this.withRetry(() => this.decode(message, batch.partition), heartbeat, isRunning));
      if (result.ok) good.push(result.decoded);
      else {
        letters.push(this.letter(batch.topic, batch.partition, message, result.reason));
        this.o.log.warn({ event: 'dead_lettered', consumer: this.o.name, partition: batch.partition, offset: message.offset, reason: result.reason }, 'poison message set aside');
      }
    }
    const context: BatchContext = { topic: batch.topic, partition: batch.partition, heartbeat };
    // A long write (a loaded machine, a slow ClickHouse) must not cost the group membership.
    const beat = setInterval(() => void heartbeat().catch(() => undefined), HEARTBEAT_DURING_BATCH_MS);
    try {
      await this.withRetry(async () => {
        await this.o.deadLetters?.send(letters);
        if (good.length > 0) await this.o.handle(good, context);
      }, heartbeat, isRunning);
    } finally {
      clearInterval(beat);
    }
    if (!isRunning() || isStale()) return; // a rebalance took the partition: the new owner redoes it
    const next = (BigInt(batch.lastOffset()) + 1n).toString();
    try {
      await this.consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
    } catch (error) {
      if (!lostMembership(error)) throw error;
      this.o.log.warn({ event: 'commit_refused', consumer: this.o.name, partition: batch.partition, err: error }, 'membership lost before the commit: the batch is redone by the next owner, counted once');
      return;
    }
    resolveOffset(batch.lastOffset());
    for (const l of letters) this.deadLettered.inc({ consumer: this.o.name, reason: l.reason.split(':')[0] ?? 'unknown' });
    this.processed.inc({ consumer: this.o.name }, good.length);
    this.batchSize.observe({ consumer: this.o.name }, batch.messages.length);
    this.batchSeconds.observe({ consumer: this.o.name }, Number(process.hrtime.bigint() - started) / 1e9);
    this.lag.set({ consumer: this.o.name, partition: String(batch.partition) }, Number(batch.offsetLag()));
    await heartbeat();
  }

  /** Decodes and checks a message whose writer schema is resolved; null when it is not yet. */
  private decodeNow(message: KafkaMessage, partition: number): DecodeResult<T> | null {
    const bytes = message.value;
    if (!bytes) return { ok: false, reason: 'not_wire_format: empty message' };
    let value: unknown;
    try {
      value = this.decoder.decodeResolved(bytes);
    } catch (error) {
      return this.poison(error);
    }
    return value === UNRESOLVED ? null : this.checked(value, partition, message.offset);
  }

  /** Fetches the writer schema through the registry (throws RetryableError while it is down). */
  private async decode(message: KafkaMessage, partition: number): Promise<DecodeResult<T>> {
    const bytes = message.value;
    if (!bytes) return { ok: false, reason: 'not_wire_format: empty message' };
    let value: unknown;
    try {
      value = await this.decoder.decode(bytes);
    } catch (error) {
      if (isRegistryNotFound(error)) return { ok: false, reason: `unknown_schema: schema id ${bytes.readUInt32BE(1)} is not in the registry` };
      const status = (error as { status?: number }).status;
      if (status !== undefined || /ECONNREFUSED|fetch failed|socket|timeout/i.test(String(error))) {
        throw new RetryableError(`schema registry unavailable: ${String(error)}`);
      }
      return this.poison(error);
    }
    return this.checked(value, partition, message.offset);
  }

  private poison(error: unknown): DecodeResult<T> {
    if (error instanceof WireFormatError) return { ok: false, reason: `not_wire_format: ${error.message}` };
    return { ok: false, reason: `undecodable: ${(error as Error).message}` };
  }

  private checked(value: unknown, partition: number, offset: string): DecodeResult<T> {
    const checked = this.check(value);
    if (!checked.ok) return { ok: false, reason: `invalid: ${checked.reason}` };
    return { ok: true, decoded: { value: checked.value, partition, offset } };
  }

  private letter(topic: string, partition: number, message: KafkaMessage, reason: string): DeadLetter {
    return { sourceTopic: topic, partition, offset: message.offset, key: message.key, value: message.value, reason, consumer: this.o.name };
  }

  /**
   * Retries with exponential backoff and jitter (capped at 30 s) until the step succeeds or
   * the consumer stops; stopping aborts without committing, so the batch is redelivered.
   */
  private async withRetry<R>(step: () => Promise<R>, heartbeat: () => Promise<void>, isRunning: () => boolean): Promise<R> {
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await step();
        this.healthy = true;
        return result;
      } catch (error) {
        if (this.stopping || !isRunning()) throw error;
        this.healthy = false;
        this.retries.inc({ consumer: this.o.name });
        const delay = Math.min(30_000, 200 * 2 ** Math.min(attempt, 8)) * (0.5 + Math.random() / 2);
        this.o.log.warn({ event: 'batch_retry', consumer: this.o.name, attempt, delay_ms: Math.round(delay), err: error }, 'write failed; retrying');
        await sleepWithHeartbeat(delay, heartbeat);
      }
    }
  }
}

async function sleepWithHeartbeat(ms: number, heartbeat: () => Promise<void>): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, Math.min(1_000, until - Date.now())));
    await heartbeat().catch(() => undefined);
  }
}
