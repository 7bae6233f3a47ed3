import type { Worker } from 'node:worker_threads';
import type { Logger } from '@tokenledger/infra';
import type { Envelope } from '@tokenledger/schemas';
import { HttpError } from './errors.js';
import type { EventKind } from './kinds.js';
import type { PreparedBatch, RawBody } from './prepare.js';
import { startTypeScriptThread } from './typescript-thread.js';

/** What an encoder thread is started with. */
export interface EncoderThreadData {
  registryUrl: string;
  /** Registered value schema ids, by topic. */
  schemaIds: Record<string, number>;
  maxBodyBytes: number;
}

export type ToEncoder = {
  type: 'prepare';
  id: number;
  kind: EventKind<unknown, unknown>['name'];
  body: Uint8Array;
  contentType: string | undefined;
  contentEncoding: string | undefined;
  envelope: Envelope;
};

export type FromEncoder =
  | { type: 'started' }
  | { type: 'start_failed'; message: string }
  | { type: 'prepared'; id: number; batch: PreparedBatch }
  | { type: 'refused'; id: number; status: HttpError['statusCode']; message: string }
  | { type: 'failed'; id: number; message: string; name: string };

interface Pending {
  resolve: (batch: PreparedBatch) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  /** Requests sent and not yet answered: the next request goes to the least busy thread. */
  pending: Map<number, Pending>;
}

/**
 * Encoder threads (encoder-thread.ts) that turn request bodies into Kafka messages, so that the
 * HTTP thread only receives and answers while the reading, validation and encoding of several
 * requests run on other cores. A body crosses without a copy when it owns its memory, and the
 * messages come back as one transferred buffer.
 */
export class EncoderPool {
  private readonly slots: Slot[] = [];
  private nextId = 0;
  private stopping = false;

  constructor(size: number, data: EncoderThreadData, private readonly log: Logger) {
    for (let i = 0; i < size; i++) this.slots.push({ worker: startTypeScriptThread(new URL('./encoder-thread.ts', import.meta.url), data), pending: new Map() });
  }

  /** Every thread has its encoders (schemas from the registry), or the first failure. */
  async start(): Promise<void> {
    const started = this.slots.map((slot) => new Promise<void>((resolve, reject) => {
      slot.worker.on('message', (message: FromEncoder) => {
        if (message.type === 'started') resolve();
        else if (message.type === 'start_failed') reject(new Error(`encoder thread: ${message.message}`));
        else this.receive(slot, message);
      });
      slot.worker.on('error', (error) => {
        this.log.error({ event: 'encoder_thread_failed', err: error }, 'encoder thread failed');
        reject(error);
      });
      slot.worker.on('exit', (code) => {
        this.remove(slot, new Error(`encoder thread exited (${code})`));
        reject(new Error(`encoder thread exited (${code}) before it started`));
      });
    }));
    try {
      await Promise.all(started);
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** Whether any thread is left to prepare requests (one that fails is not replaced). */
  get isHealthy(): boolean {
    return this.slots.length > 0;
  }

  prepare(kind: EventKind<unknown, unknown>, raw: RawBody, envelope: Envelope): Promise<PreparedBatch> {
    let slot = this.slots[0];
    if (!slot) return Promise.reject(new HttpError(503, 'no encoder thread is running', 5));
    for (const s of this.slots) if (s.pending.size < slot.pending.size) slot = s;
    // A body that owns its memory (any but the smallest) is handed over; a view of shared memory is copied.
    const owns = raw.body.byteOffset === 0 && raw.body.byteLength === raw.body.buffer.byteLength;
    const body = owns ? raw.body : new Uint8Array(raw.body);
    const id = this.nextId++;
    const message: ToEncoder = { type: 'prepare', id, kind: kind.name, body, contentType: raw.contentType, contentEncoding: raw.contentEncoding, envelope };
    const target = slot;
    return new Promise<PreparedBatch>((resolve, reject) => {
      target.pending.set(id, { resolve, reject });
      target.worker.postMessage(message, [body.buffer as ArrayBuffer]);
    });
  }

  /** Ends the threads; call once no request is in flight (after the HTTP server closed). */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }

  private receive(slot: Slot, message: Exclude<FromEncoder, { type: 'started' | 'start_failed' }>): void {
    const pending = slot.pending.get(message.id);
    slot.pending.delete(message.id);
    if (message.type === 'prepared') pending?.resolve(message.batch);
    else if (message.type === 'refused') pending?.reject(new HttpError(message.status, message.message));
    else pending?.reject(Object.assign(new Error(message.message), { name: message.name }));
  }

  /** A thread is gone: what it held was never published, so its requests fail (503) and it gets no more. */
  private remove(slot: Slot, error: Error): void {
    const index = this.slots.indexOf(slot);
    if (index < 0) return;
    this.slots.splice(index, 1);
    if (!this.stopping) this.log.error({ event: 'encoder_thread_exited', err: error, threads_left: this.slots.length }, 'encoder thread exited');
    for (const pending of slot.pending.values()) pending.reject(new HttpError(503, `${error.message}; nothing in this request was accepted, retry later`, 5));
    slot.pending.clear();
  }
}
