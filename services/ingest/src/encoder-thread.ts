/**
 * An encoder thread: reads request bodies (decompression, strict JSON), validates, normalizes
 * and writes the events in wire format, beside the HTTP thread, which only receives requests
 * and answers them. Loaded by EncoderPool (encoder-pool.ts); imports nothing native.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { HttpError } from './errors.js';
import type { EncoderThreadData, FromEncoder, ToEncoder } from './encoder-pool.js';
import { eventKinds } from './kinds.js';
import { prepareBody } from './prepare.js';
import { encoderFor, transferList, type WireEncoder } from './wire.js';

const port = parentPort!;
const data = workerData as EncoderThreadData;

function send(message: FromEncoder, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

async function start(): Promise<Map<string, WireEncoder>> {
  const registry = new SchemaRegistry({ host: data.registryUrl });
  const encoders = new Map<string, WireEncoder>();
  for (const kind of Object.values(eventKinds)) encoders.set(kind.topic, await encoderFor(registry, data.schemaIds[kind.topic]!, kind.topic));
  return encoders;
}

start().then(
  (encoders) => {
    port.on('message', (message: ToEncoder) => {
      const kind = eventKinds[message.kind];
      const raw = { body: Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength), contentType: message.contentType, contentEncoding: message.contentEncoding };
      prepareBody(kind, raw, message.envelope, encoders.get(kind.topic)!, data.maxBodyBytes).then(
        (batch) => send({ type: 'prepared', id: message.id, batch }, transferList(batch.messages)),
        (error: Error) => send(error instanceof HttpError
          ? { type: 'refused', id: message.id, status: error.statusCode, message: error.message }
          : { type: 'failed', id: message.id, message: error.message, name: error.name }),
      );
    });
    send({ type: 'started' });
  },
  (error: Error) => send({ type: 'start_failed', message: error.message }),
);
