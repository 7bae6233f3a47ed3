import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { KeyRing } from '@tokenledger/infra';
import type { Envelope, FieldError } from '@tokenledger/schemas';
import { decodeBody, parseStrictJson, type BatchItem } from './body.js';
import { HttpError } from './errors.js';
import type { EventKind } from './kinds.js';
import type { IngestMetrics } from './metrics.js';
import type { PreparedBatch, RawBody, Rejection } from './prepare.js';
import type { PackedMessages } from './wire.js';
import {
  encodeExportResponse, isGenAiUsageSpan, spansFromJson, spansFromProtobuf, usageInputFromSpan, type OtlpSpan,
} from './otlp.js';

export interface RouteDeps {
  keys: KeyRing;
  metrics: IngestMetrics;
  maxBodyBytes: number;
  /** Reads a body (JSON or NDJSON, maybe compressed) and prepares its items for Kafka, on an encoder thread if there are any. */
  prepareBody(kind: EventKind<unknown, unknown>, raw: RawBody, envelope: Envelope): Promise<PreparedBatch>;
  /** Prepares items already read (OTLP spans), here. */
  prepareItems(kind: EventKind<unknown, unknown>, items: BatchItem[], envelope: Envelope): PreparedBatch;
  /** Resolves once Kafka acknowledged every message. */
  publish(topic: string, messages: PackedMessages): Promise<void>;
}

/**
 * Publishes a prepared batch's valid items and reports the rest by index and field.
 * Nothing is reported accepted before Kafka has acknowledged it.
 */
export async function ingestPrepared(
  kind: EventKind<unknown, unknown>, batch: PreparedBatch, deps: RouteDeps,
): Promise<{ accepted: number; rejected: Rejection[] }> {
  for (const r of batch.rejected) deps.metrics.rejected.inc({ kind: kind.name, reason: rejectionReason(r.errors[0]) });
  deps.metrics.batchSize.observe({ kind: kind.name }, batch.items);
  const accepted = batch.messages.keys.length;
  const stopTimer = deps.metrics.produceSeconds.startTimer();
  await deps.publish(kind.topic, batch.messages);
  stopTimer();
  deps.metrics.accepted.inc({ kind: kind.name }, accepted);
  return { accepted, rejected: batch.rejected };
}

/**
 * The metric label for a rejection: the top-level field at fault. Paths can hold client-chosen
 * names (an unknown field, a tag key), so only the first segment of a known field is used and
 * unknown fields share one label; otherwise every new name would be a new time series.
 */
function rejectionReason(error: FieldError | undefined): string {
  if (!error || error.path === '') return 'body';
  if (error.message === 'is not a known field') return 'unknown_field'; // the message validateWith gives unknown keys
  return /^[a-z_]+/.exec(error.path)?.[0] ?? 'body';
}

function authenticate(request: FastifyRequest, keys: KeyRing): string {
  const auth = keys.authenticate(request.headers.authorization, ['ingest', 'admin']);
  if (!auth.ok) throw new HttpError(auth.status, auth.message);
  return auth.tenantId;
}

function rawBody(request: FastifyRequest): RawBody {
  const body = request.body;
  if (!Buffer.isBuffer(body) || body.length === 0) throw new HttpError(400, 'empty body: send a JSON array or NDJSON of events');
  return { body, contentType: request.headers['content-type'], contentEncoding: request.headers['content-encoding'] };
}

export function registerIngestRoutes(app: FastifyInstance, kinds: { usage: EventKind<unknown, unknown>; outcome: EventKind<unknown, unknown> }, deps: RouteDeps): void {
  // Bodies arrive raw: the ingest decompresses with its own limit and parses strictly.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
    const status = error instanceof HttpError ? error.statusCode : error.statusCode && error.statusCode < 500 ? error.statusCode : 503;
    deps.metrics.requestsFailed.inc({ status: String(status) });
    if (error instanceof HttpError && error.retryAfterSeconds) reply.header('retry-after', String(error.retryAfterSeconds));
    if (status === 503 && !(error instanceof HttpError)) {
      reply.header('retry-after', '5');
      reply.log.warn({ event: 'publish_failed', err: error }, 'Kafka unavailable');
      return reply.code(503).send({ error: 'Kafka is unavailable; nothing in this request was accepted, retry later' });
    }
    return reply.code(status).send({ error: error.message });
  });

  for (const [path, kind] of [['/v1/usage', kinds.usage], ['/v1/outcomes', kinds.outcome]] as const) {
    app.post(path, async (request, reply) => {
      const envelope = { tenantId: authenticate(request, deps.keys), receivedAt: Date.now() };
      const result = await ingestPrepared(kind, await deps.prepareBody(kind, rawBody(request), envelope), deps);
      return reply.code(result.accepted === 0 ? 400 : 202).send(result);
    });
  }

  app.post('/v1/traces', async (request, reply) => {
    const tenantId = authenticate(request, deps.keys);
    const raw = rawBody(request);
    const body = await decodeBody(raw.body, raw.contentEncoding, deps.maxBodyBytes);
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const spans = decodeSpans(body, type);
    const genAi = spans.filter(isGenAiUsageSpan);
    deps.metrics.skippedSpans.inc(spans.length - genAi.length);
    const items: BatchItem[] = genAi.map((span) => ({ ok: true, value: usageInputFromSpan(span) }));
    const envelope = { tenantId, receivedAt: Date.now() };
    const { rejected } = await ingestPrepared(kinds.usage, deps.prepareItems(kinds.usage, items, envelope), deps);
    const message = rejected
      .slice(0, 5)
      .map((r) => `span ${genAi[r.index]?.spanId}: ${r.errors.map((e) => `${e.path} ${e.message}`).join('; ')}`)
      .join(' | ');
    return sendExportResponse(reply, type, rejected.length, message);
  });
}

function decodeSpans(body: Buffer, type: string): OtlpSpan[] {
  try {
    if (type === 'application/x-protobuf' || type === 'application/protobuf') return spansFromProtobuf(body);
    if (type === 'application/json') {
      const parsed = parseStrictJson(body.toString('utf8'));
      if (!parsed.ok) throw new Error(parsed.message);
      return spansFromJson(parsed.value);
    }
  } catch (error) {
    throw new HttpError(400, `invalid OTLP trace export: ${(error as Error).message}`);
  }
  throw new HttpError(415, `unsupported Content-Type "${type}" (use application/x-protobuf or application/json)`);
}

/** OTLP/HTTP: 200 with an ExportTraceServiceResponse in the request's encoding; partial success names rejections. */
function sendExportResponse(reply: FastifyReply, type: string, rejectedSpans: number, errorMessage: string): FastifyReply {
  if (type === 'application/json') {
    const body = rejectedSpans > 0 ? { partialSuccess: { rejectedSpans: String(rejectedSpans), errorMessage } } : {};
    return reply.code(200).send(body);
  }
  return reply.code(200).header('content-type', 'application/x-protobuf').send(encodeExportResponse(rejectedSpans, errorMessage));
}
