import type { Worker } from 'node:worker_threads';
import type { Logger } from '@tokenledger/infra';
import { HttpError } from './errors.js';
import type { PublisherOptions } from './publisher.js';
import { startTypeScriptThread } from './typescript-thread.js';
import { transferList, type PackedMessages } from './wire.js';

/** What the producer thread is started with. */
export interface ProducerThreadData {
  brokers: string[];
  clientId: string;
  logLevel: string;
  options: PublisherOptions;
}

/** One request's messages: keys, and values back to back in one transferred buffer. */
export type ToThread =
  | ({ type: 'publish'; id: number; topic: string } & PackedMessages)
  | { type: 'stop' };

export type FromThread =
  | { type: 'started' }
  | { type: 'start_failed'; message: string }
  | { type: 'connected'; connected: boolean }
  | { type: 'settled'; id: number; error?: { message: string; name: string; status?: HttpError['statusCode']; retryAfterSeconds?: number | undefined } }
  | { type: 'stopped' };

interface Pending {
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * Publisher's interface, with the Publisher itself (kafkajs, batching, acks=all) on a worker
 * thread. A request's messages cross as one buffer; its promise settles when the thread reports
 * that Kafka acknowledged them all (or why not), so nothing is answered before the ack.
 */
export class ThreadPublisher {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private connected = false;
  /** Why the thread is gone, once it is: later publishes fail at once rather than wait for nothing. */
  private gone: Error | undefined;
  private started: Pending | undefined;
  private stopped: (() => void) | undefined;

  constructor(data: ProducerThreadData, private readonly log: Logger) {
    this.worker = startTypeScriptThread(new URL('./producer-thread.ts', import.meta.url), data);
    this.worker.on('message', (message: FromThread) => this.receive(message));
    this.worker.on('error', (error) => {
      this.log.error({ event: 'producer_thread_failed', err: error }, 'producer thread failed');
      this.fail(error);
    });
    this.worker.on('exit', (code) => {
      this.fail(new Error(`producer thread exited (${code})`));
      this.stopped?.();
    });
  }

  get isConnected(): boolean {
    return this.connected;
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => (this.started = { resolve, reject }));
  }

  /** Flushes what is queued, disconnects the producer and ends the thread. */
  stop(): Promise<void> {
    if (this.gone) return Promise.resolve();
    return new Promise((resolve) => {
      this.stopped = resolve;
      this.worker.postMessage({ type: 'stop' } satisfies ToThread);
    });
  }

  /** Messages already packed (by an encoder thread): their buffers are transferred, not copied. */
  publishPacked(topic: string, packed: PackedMessages): Promise<void> {
    if (packed.keys.length === 0) return Promise.resolve();
    if (this.gone) return Promise.reject(this.gone);
    const id = this.nextId++;
    const message: ToThread = { type: 'publish', id, topic, ...packed };
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage(message, transferList(packed));
    });
  }

  private receive(message: FromThread): void {
    switch (message.type) {
      case 'started':
        this.started?.resolve();
        break;
      case 'start_failed':
        this.started?.reject(new Error(message.message));
        break;
      case 'connected':
        this.connected = message.connected;
        break;
      case 'settled': {
        const pending = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (!message.error) pending?.resolve();
        else pending?.reject(threadError(message.error));
        break;
      }
      case 'stopped':
        // Flushed and disconnected, every settlement already received: end the thread even if
        // a library timer would keep its event loop alive.
        this.connected = false;
        void this.worker.terminate();
        break;
    }
  }

  /** The thread is gone: nothing it held was acknowledged to anyone, so every wait fails (503). */
  private fail(error: Error): void {
    this.gone ??= error;
    this.connected = false;
    this.started?.reject(error);
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }
}

/** The thread's error as the route's error handler expects it: an HttpError keeps its status. */
function threadError(error: NonNullable<Extract<FromThread, { type: 'settled' }>['error']>): Error {
  if (error.status) return new HttpError(error.status, error.message, error.retryAfterSeconds);
  return Object.assign(new Error(error.message), { name: error.name });
}
