import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Logger } from './logger.js';

export interface ServiceHttpOptions {
  logger: Logger;
  /** Readiness: every dependency the service needs answers. */
  isReady: () => boolean | Promise<boolean>;
  metrics: Registry;
  fastify?: Omit<FastifyServerOptions, 'loggerInstance'>;
}

/** A per-service metrics registry (services can share one process without name clashes). */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'tokenledger_' });
  return registry;
}

/** A fastify server with `/healthz` (process alive), `/readyz` (dependencies up) and `/metrics`. */
export function createServiceHttp(o: ServiceHttpOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: o.logger as FastifyBaseLogger,
    // Per-request logs would dominate at ingest rates; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    clientErrorHandler: answerMalformedRequest,
    ...o.fastify,
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const ready = await Promise.resolve(o.isReady()).catch(() => false);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready' });
  });
  app.get('/metrics', async (_req, reply) =>
    reply.header('content-type', o.metrics.contentType).send(await o.metrics.metrics()),
  );
  return app;
}

const malformedStatus: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout'],
};

/**
 * Requests Node's HTTP parser refuses never reach a route: answer them with JSON that names
 * what was wrong (Node's error code and reason) instead of a bare "Client Error".
 */
function answerMalformedRequest(error: Error & { code?: string; reason?: string }, socket: import('node:net').Socket): void {
  if (socket.destroyed || !socket.writable) return;
  const [status, text] = malformedStatus[error.code ?? ''] ?? [400, 'Bad Request'];
  const body = JSON.stringify({ error: `malformed HTTP request: ${error.reason ?? error.message} (${error.code ?? 'unknown'})` });
  socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
