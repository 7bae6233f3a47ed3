/**
 * The producer thread: a kafkajs Publisher on its own event loop, so that encoding produce
 * requests (most of kafkajs' cost) runs beside the HTTP thread's parsing and validation.
 * Loaded by ThreadPublisher (thread-publisher.ts); imports nothing native (chdb would crash
 * a worker at exit), hence the narrow infra entry points.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createKafka } from '@tokenledger/infra/kafka';
import { createLogger } from '@tokenledger/infra/logger';
import { HttpError } from './errors.js';
import { Publisher } from './publisher.js';
import type { FromThread, ProducerThreadData, ToThread } from './thread-publisher.js';
import { unpackMessages } from './wire.js';

const port = parentPort!;
const data = workerData as ProducerThreadData;
const log = createLogger('ingest', data.logLevel).child({ thread: 'producer' });
const publisher = new Publisher(createKafka(data.brokers, data.clientId, log), data.options, (connected) => send({ type: 'connected', connected }));

function send(message: FromThread): void {
  port.postMessage(message);
}

port.on('message', (message: ToThread) => {
  if (message.type === 'publish') {
    publisher.publish(message.topic, unpackMessages(message)).then(
      () => send({ type: 'settled', id: message.id }),
      (error: Error) => {
        const http = error instanceof HttpError ? { status: error.statusCode, retryAfterSeconds: error.retryAfterSeconds } : {};
        send({ type: 'settled', id: message.id, error: { message: error.message, name: error.name, ...http } });
      },
    );
  } else {
    publisher.stop().then(
      () => {
        send({ type: 'stopped' });
        port.close();
      },
      (error: Error) => {
        log.error({ event: 'producer_stop_failed', err: error }, 'producer thread could not stop cleanly');
        send({ type: 'stopped' });
        port.close();
      },
    );
  }
});

publisher.start().then(
  () => send({ type: 'started' }),
  (error: Error) => send({ type: 'start_failed', message: error.message }),
);
