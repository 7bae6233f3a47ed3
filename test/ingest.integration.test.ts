import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Consumer, Kafka } from 'kafkajs';
import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { createKafka, devKeys, devKeysEnv, ensureTopics, keyRingFor, parseEnv, type DevKeys } from '@tokenledger/infra';
import { topics, topicSpecs, type OutcomeEvent, type UsageEvent } from '@tokenledger/schemas';
import { loadIngestConfig, Publisher, startIngest, type IngestService } from '@tokenledger/ingest';
import { eventually, freePort, testEnv, testLogger } from './src/harness.js';

const MiB = 1024 * 1024;
const unique = (): string => randomBytes(5).toString('hex');
const runTag = unique();

function tenantKeys(name: string): DevKeys {
  return devKeys(parseEnv(devKeysEnv, { TOKENLEDGER_DEV_TENANT: `${name}-${runTag}` }));
}

/** A message read back from Kafka: the Confluent wire-format header and the registry-decoded value. */
interface Consumed {
  topic: string;
  partition: number;
  key: string;
  magic: number;
  schemaId: number;
  value: unknown;
}

/**
 * Reads the usage and outcome topics from the beginning and decodes every message through
 * the registry. Other test files share the broker, so the tests look only at their own
 * tenants' messages (keys start with the tenant), and so does the check that all decoded.
 */
class TopicReader {
  readonly messages: Consumed[] = [];
  readonly undecodable: { topic: string; key: string; error: string }[] = [];
  private readonly consumer: Consumer;

  constructor(kafka: Kafka, private readonly registry: SchemaRegistry) {
    this.consumer = kafka.consumer({ groupId: `ingest-test-${runTag}`, allowAutoTopicCreation: false });
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [topics.usage, topics.outcomes], fromBeginning: true });
    await this.consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const key = message.key?.toString('utf8') ?? '';
        const bytes = message.value;
        try {
          if (!bytes) throw new Error('empty value');
          const value = await this.registry.decode(bytes);
          this.messages.push({ topic, partition, key, magic: bytes[0]!, schemaId: bytes.readUInt32BE(1), value });
        } catch (error) {
          this.undecodable.push({ topic, key, error: String(error) });
        }
      },
    });
  }

  stop(): Promise<void> {
    return this.consumer.disconnect();
  }

  usage(predicate: (event: UsageEvent) => boolean): (Consumed & { value: UsageEvent })[] {
    return this.messages.filter((m): m is Consumed & { value: UsageEvent } => m.topic === topics.usage && predicate(m.value as UsageEvent));
  }

  outcomes(predicate: (event: OutcomeEvent) => boolean): (Consumed & { value: OutcomeEvent })[] {
    return this.messages.filter((m): m is Consumed & { value: OutcomeEvent } => m.topic === topics.outcomes && predicate(m.value as OutcomeEvent));
  }

  /** Waits until at least `count` usage events match, then returns them all. */
  waitForUsage(predicate: (event: UsageEvent) => boolean, count: number, what: string): Promise<(Consumed & { value: UsageEvent })[]> {
    return eventually(async () => {
      const found = this.usage(predicate);
      return found.length >= count ? found : undefined;
    }, 30_000, what);
  }
}

interface PostOptions {
  base?: string;
  /** Bearer key; null sends no Authorization header. */
  key?: string | null;
  authorization?: string;
  /** null sends no Content-Type header. */
  contentType?: string | null;
  encoding?: string;
}

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

describe('ingest: real Kafka and schema registry', () => {
  const env = testEnv('ingest');
  const registry = new SchemaRegistry({ host: env.SCHEMA_REGISTRY_URL! });
  const kafka = createKafka(env.KAFKA_BROKERS!.split(','), 'ingest-test', testLogger);
  const tenantA = tenantKeys('acme');
  const tenantB = tenantKeys('globex');
  const keys = keyRingFor(tenantA, tenantB);
  const reader = new TopicReader(kafka, registry);
  /** Default limits: 10 MiB bodies. */
  let ingest: IngestService;
  /** 64 KiB bodies, and produce requests of at most 4 KiB so one request spans many. */
  let small: IngestService;

  async function startWith(extra: Record<string, string>): Promise<IngestService> {
    const config = loadIngestConfig({ ...env, INGEST_HOST: '127.0.0.1', INGEST_PORT: String(await freePort()), ...extra });
    return startIngest(config, { logger: testLogger, keys, registry });
  }

  beforeAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, topicSpecs(3));
    await admin.disconnect();
    ingest = await startWith({});
    small = await startWith({ INGEST_MAX_BODY_BYTES: String(64 * 1024), INGEST_PRODUCE_MAX_BYTES: String(4 * 1024) });
    await reader.start();
  });

  afterAll(async () => {
    await reader.stop();
    await small?.stop();
    await ingest?.stop();
  });

  async function post(path: string, body: string | Buffer, o: PostOptions = {}): Promise<Answer> {
    const headers: Record<string, string> = {};
    const key = o.key === undefined ? tenantA.ingest : o.key;
    if (o.authorization !== undefined) headers.authorization = o.authorization;
    else if (key !== null) headers.authorization = `Bearer ${key}`;
    const contentType = o.contentType === undefined ? 'application/json' : o.contentType;
    if (contentType !== null) headers['content-type'] = contentType;
    if (o.encoding) headers['content-encoding'] = o.encoding;
    // A Buffer body: fetch adds no Content-Type of its own.
    const response = await fetch(`${o.base ?? ingest.url}${path}`, { method: 'POST', headers, body: Buffer.from(body) });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // left as text; the assertions say what was expected
    }
    return { status: response.status, headers: response.headers, body: parsed };
  }

  function usageEvent(runId: string, index: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      event_id: `${runId}-e${index}`,
      occurred_at: '2025-01-31T09:30:00.250Z',
      provider: 'openai',
      model: 'gpt-4o',
      input_tokens: 1000 + index,
      output_tokens: 100 + index,
      cached_input_tokens: 500,
      run_id: runId,
      tags: { project: 'support-bot', env: 'test' },
      ...extra,
    };
  }

  const usageEvents = (runId: string, count: number) => Array.from({ length: count }, (_, i) => usageEvent(runId, i));

  function outcomeEvent(outcomeId: string, runIds: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      event_id: `outcome-${outcomeId}`,
      occurred_at: 1_738_316_000_000,
      outcome_type: 'ticket_resolved',
      outcome_id: outcomeId,
      run_ids: runIds,
      status: 'accepted',
      value_usd: '12.50',
      human_minutes: 2.5,
      quality: 0.9,
      ...extra,
    };
  }

  const byRun = (runId: string) => (e: UsageEvent) => e.run_id === runId;

  describe('happy path', () => {
    it('accepts a JSON array and puts every event on the usage topic, Avro in Confluent wire format, keyed tenant/run', async () => {
      const runId = `run-${unique()}`;
      const otherRun = `run-${unique()}`;
      const events = [...usageEvents(runId, 3), usageEvent(otherRun, 0)];
      const answer = await post('/v1/usage', JSON.stringify(events));
      expect(answer).toMatchObject({ status: 202, body: { accepted: 4, rejected: [] } });

      const found = await reader.waitForUsage((e) => e.run_id === runId || e.run_id === otherRun, 4, 'the four usage events');
      expect(found).toHaveLength(4);
      const schemaId = await registry.getLatestSchemaId(`${topics.usage}-value`);
      for (const m of found) {
        expect(m.magic).toBe(0);
        expect(m.schemaId).toBe(schemaId);
        expect(m.key).toBe(`${tenantA.tenantId}/${m.value.run_id}`);
        expect(m.value.tenant_id).toBe(tenantA.tenantId);
      }
      // One run's events share a partition (and so an order).
      expect(new Set(found.filter((m) => m.value.run_id === runId).map((m) => m.partition)).size).toBe(1);

      const first = found.find((m) => m.value.event_id === `${runId}-e0`)!.value;
      expect(first).toMatchObject({
        event_id: `${runId}-e0`,
        occurred_at: Date.parse('2025-01-31T09:30:00.250Z'),
        provider: 'openai',
        model: 'gpt-4o',
        operation: 'chat',
        input_tokens: 1000,
        output_tokens: 100,
        cached_input_tokens: 500,
        cache_write_tokens: 0,
        reasoning_tokens: 0,
        run_id: runId,
        attempt: 1,
        status: 'ok',
        tags: { project: 'support-bot', env: 'test' },
      });
      expect(first.received_at).toBeGreaterThan(Date.now() - 120_000);
    });

    it('accepts a single JSON object', async () => {
      const runId = `run-${unique()}`;
      expect(await post('/v1/usage', JSON.stringify(usageEvent(runId, 0)))).toMatchObject({ status: 202, body: { accepted: 1, rejected: [] } });
      await reader.waitForUsage(byRun(runId), 1, 'the single event');
    });

    it('accepts NDJSON', async () => {
      const runId = `run-${unique()}`;
      const body = `${usageEvents(runId, 3).map((e) => JSON.stringify(e)).join('\n')}\n`;
      expect(await post('/v1/usage', body, { contentType: 'application/x-ndjson' })).toMatchObject({ status: 202, body: { accepted: 3, rejected: [] } });
      await reader.waitForUsage(byRun(runId), 3, 'the NDJSON events');
    });

    it('accepts gzip, for JSON and for NDJSON', async () => {
      const jsonRun = `run-${unique()}`;
      const ndjsonRun = `run-${unique()}`;
      const json = gzipSync(JSON.stringify(usageEvents(jsonRun, 2)));
      const ndjson = gzipSync(usageEvents(ndjsonRun, 2).map((e) => JSON.stringify(e)).join('\n'));
      expect(await post('/v1/usage', json, { encoding: 'gzip' })).toMatchObject({ status: 202, body: { accepted: 2 } });
      expect(await post('/v1/usage', ndjson, { encoding: 'gzip', contentType: 'application/x-ndjson' })).toMatchObject({ status: 202, body: { accepted: 2 } });
      await reader.waitForUsage(byRun(jsonRun), 2, 'the gzipped JSON events');
      await reader.waitForUsage(byRun(ndjsonRun), 2, 'the gzipped NDJSON events');
    });

    it('gives a retried event without event_id the same derived id', async () => {
      const runId = `run-${unique()}`;
      const { event_id: _, ...withoutId } = usageEvent(runId, 0);
      expect((await post('/v1/usage', JSON.stringify([withoutId]))).status).toBe(202);
      // Same event, spelled differently: key order, epoch milliseconds for the timestamp.
      const respelled = { ...Object.fromEntries(Object.entries(withoutId).reverse()), occurred_at: Date.parse('2025-01-31T09:30:00.250Z') };
      expect((await post('/v1/usage', JSON.stringify([respelled]))).status).toBe(202);
      const found = await reader.waitForUsage(byRun(runId), 2, 'both deliveries');
      expect(found[0]!.value.event_id).toMatch(/^d_[0-9a-f]{64}$/);
      expect(found[1]!.value.event_id).toBe(found[0]!.value.event_id);
    });

    it('acknowledges concurrent requests only with all their events in Kafka', async () => {
      const runIds = Array.from({ length: 20 }, () => `run-${unique()}`);
      const answers = await Promise.all(runIds.map((runId) => post('/v1/usage', JSON.stringify(usageEvents(runId, 5)))));
      for (const answer of answers) expect(answer).toMatchObject({ status: 202, body: { accepted: 5, rejected: [] } });
      const wanted = new Set(runIds);
      await reader.waitForUsage((e) => wanted.has(e.run_id), 100, 'all 100 events');
    });

    it('sends a request larger than a produce request in several, all acknowledged before 202', async () => {
      const runId = `run-${unique()}`;
      const events = usageEvents(runId, 150);
      const body = JSON.stringify(events);
      expect(body.length).toBeGreaterThan(8 * 4 * 1024); // many 4 KiB produce requests
      expect(body.length).toBeLessThan(64 * 1024);
      expect(await post('/v1/usage', body, { base: small.url })).toMatchObject({ status: 202, body: { accepted: 150, rejected: [] } });
      const found = await reader.waitForUsage(byRun(runId), 150, 'the 150 events');
      expect(new Set(found.map((m) => m.value.event_id)).size).toBe(150);
    });

    it('accepts outcomes and puts them on the outcomes topic, keyed tenant/outcome', async () => {
      const outcomeId = `ticket-${unique()}`;
      const answer = await post('/v1/outcomes', JSON.stringify([outcomeEvent(outcomeId, ['run-a', 'run-b'])]));
      expect(answer).toMatchObject({ status: 202, body: { accepted: 1, rejected: [] } });
      const found = await eventually(async () => {
        const hits = reader.outcomes((o) => o.outcome_id === outcomeId);
        return hits.length ? hits : undefined;
      }, 30_000, 'the outcome');
      const schemaId = await registry.getLatestSchemaId(`${topics.outcomes}-value`);
      expect(found[0]).toMatchObject({ magic: 0, schemaId, key: `${tenantA.tenantId}/${outcomeId}` });
      expect(found[0]!.value).toMatchObject({
        tenant_id: tenantA.tenantId,
        event_id: `outcome-${outcomeId}`,
        outcome_type: 'ticket_resolved',
        run_ids: ['run-a', 'run-b'],
        status: 'accepted',
        value_usd: '12.5',
        human_milliminutes: 2500,
        quality: 0.9,
      });
    });
  });

  describe('validation errors', () => {
    it('accepts the valid items of a mixed batch and names the field and reason of each invalid one', async () => {
      const runId = `run-${unique()}`;
      const { model: _, ...withoutModel } = usageEvent(runId, 1);
      const batch = [usageEvent(runId, 0), withoutModel, usageEvent(runId, 2, { input_tokens: -1 }), usageEvent(runId, 3)];
      const answer = await post('/v1/usage', JSON.stringify(batch));
      expect(answer).toEqual({
        status: 202,
        headers: expect.anything(),
        body: {
          accepted: 2,
          rejected: [
            { index: 1, errors: [{ path: 'model', message: 'is required' }] },
            { index: 2, errors: [{ path: 'input_tokens', message: 'must be a non-negative integer' }] },
          ],
        },
      });
      const found = await reader.waitForUsage(byRun(runId), 2, 'the two valid events');
      expect(found.map((m) => m.value.event_id).sort()).toEqual([`${runId}-e0`, `${runId}-e3`]);
    });

    it('answers 400 with the same shape when every item is invalid, and publishes nothing', async () => {
      const runId = `run-${unique()}`;
      const batch = [usageEvent(runId, 0, { output_tokens: 1.5 }), usageEvent(runId, 1, { provider: '' })];
      expect(await post('/v1/usage', JSON.stringify(batch))).toMatchObject({
        status: 400,
        body: {
          accepted: 0,
          rejected: [
            { index: 0, errors: [{ path: 'output_tokens', message: 'must be a non-negative integer' }] },
            { index: 1, errors: [{ path: 'provider', message: 'must not be empty' }] },
          ],
        },
      });
      // A later valid event of the same run arrives alone.
      expect((await post('/v1/usage', JSON.stringify([usageEvent(runId, 2)]))).status).toBe(202);
      await reader.waitForUsage(byRun(runId), 1, 'the later valid event');
      expect(reader.usage(byRun(runId)).map((m) => m.value.event_id)).toEqual([`${runId}-e2`]);
    });

    it('names a bad NDJSON line by its index and accepts the others', async () => {
      const runId = `run-${unique()}`;
      const lines = [JSON.stringify(usageEvent(runId, 0)), '{"model": "gpt-4o",', JSON.stringify(usageEvent(runId, 2))];
      const answer = await post('/v1/usage', lines.join('\n'), { contentType: 'application/x-ndjson' });
      expect(answer).toMatchObject({ status: 202, body: { accepted: 2, rejected: [{ index: 1, errors: [{ path: '', message: expect.stringMatching(/^invalid JSON/) }] }] } });
      await reader.waitForUsage(byRun(runId), 2, 'the two good lines');
    });

    it('rejects an invalid outcome with the field named', async () => {
      const answer = await post('/v1/outcomes', JSON.stringify([outcomeEvent(`t-${unique()}`, [], { quality: 2 })]));
      expect(answer).toMatchObject({
        status: 400,
        body: {
          accepted: 0,
          rejected: [{ index: 0, errors: expect.arrayContaining([{ path: 'run_ids', message: 'must list at least one run id' }, { path: 'quality', message: 'must be a number from 0 to 1' }]) }],
        },
      });
    });
  });

  describe('security', () => {
    const body = () => JSON.stringify([usageEvent(`run-${unique()}`, 0)]);

    for (const path of ['/v1/usage', '/v1/outcomes', '/v1/traces']) {
      it(`${path}: 401 without a key or with an unknown one, 403 for a query key`, async () => {
        const noHeader = await post(path, body(), { key: null });
        expect(noHeader).toMatchObject({ status: 401, body: { error: expect.stringContaining('Authorization') } });
        expect(await post(path, body(), { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` })).toMatchObject({ status: 401 });
        expect(await post(path, body(), { authorization: 'Bearer' })).toMatchObject({ status: 401 });
        expect(await post(path, body(), { key: `tli_${unique()}${unique()}` })).toMatchObject({ status: 401, body: { error: 'unknown API key' } });
        expect(await post(path, body(), { key: tenantA.query })).toMatchObject({ status: 403, body: { error: expect.stringContaining('query key') } });
      });
    }

    it('takes the tenant from the key, and refuses a tenant_id in the body', async () => {
      const runId = `run-${unique()}`;
      const answer = await post('/v1/usage', JSON.stringify([usageEvent(runId, 0), usageEvent(runId, 1, { tenant_id: tenantA.tenantId })]), { key: tenantB.ingest });
      expect(answer).toMatchObject({ status: 202, body: { accepted: 1, rejected: [{ index: 1, errors: [{ path: 'tenant_id', message: 'is not a known field' }] }] } });
      const [event] = await reader.waitForUsage(byRun(runId), 1, "tenant B's event");
      expect(event).toMatchObject({ key: `${tenantB.tenantId}/${runId}`, value: { tenant_id: tenantB.tenantId, event_id: `${runId}-e0` } });
      expect(reader.usage((e) => e.run_id === runId && e.tenant_id === tenantA.tenantId)).toEqual([]);
    });

    it('keeps tenants apart: the same run id under two keys is two tenants', async () => {
      const runId = `run-${unique()}`;
      expect((await post('/v1/usage', JSON.stringify([usageEvent(runId, 0)]), { key: tenantA.ingest })).status).toBe(202);
      expect((await post('/v1/usage', JSON.stringify([usageEvent(runId, 0)]), { key: tenantB.ingest })).status).toBe(202);
      const found = await reader.waitForUsage(byRun(runId), 2, 'both tenants');
      expect(found.map((m) => m.key).sort()).toEqual([`${tenantA.tenantId}/${runId}`, `${tenantB.tenantId}/${runId}`].sort());
    });

    it('accepts an admin key', async () => {
      expect((await post('/v1/usage', body(), { key: tenantA.admin })).status).toBe(202);
    });
  });

  describe('limits', () => {
    it('answers 413 for a body over the limit', async () => {
      const events = usageEvents(`run-${unique()}`, 400);
      const body = JSON.stringify(events);
      expect(body.length).toBeGreaterThan(64 * 1024);
      const answer = await post('/v1/usage', body, { base: small.url });
      expect(answer).toMatchObject({ status: 413, body: { error: expect.any(String) } });
    });

    it('answers 413 for a gzip body over the limit once inflated, and for a gzip bomb', async () => {
      const runId = `run-${unique()}`;
      const inflatesTooFar = gzipSync(JSON.stringify(usageEvents(runId, 400)));
      expect(inflatesTooFar.length).toBeLessThan(64 * 1024);
      expect(await post('/v1/usage', inflatesTooFar, { base: small.url, encoding: 'gzip' })).toMatchObject({
        status: 413,
        body: { error: `body exceeds ${64 * 1024} bytes after decompression` },
      });
      const bomb = gzipSync(Buffer.alloc(50 * MiB, 0x20));
      for (const base of [small.url, ingest.url]) {
        const answer = await post('/v1/usage', bomb, { base, encoding: 'gzip' });
        expect(answer).toMatchObject({ status: 413, body: { error: expect.stringContaining('after decompression') } });
      }
      expect(reader.usage(byRun(runId))).toEqual([]);
    });

    it('accepts a body just under the limit', async () => {
      const runId = `run-${unique()}`;
      const events = usageEvents(runId, 200);
      while (JSON.stringify(events).length > 64 * 1024 - 256) events.pop();
      expect(await post('/v1/usage', gzipSync(JSON.stringify(events)), { base: small.url, encoding: 'gzip' })).toMatchObject({
        status: 202,
        body: { accepted: events.length },
      });
      await reader.waitForUsage(byRun(runId), events.length, 'the events just under the limit');
    });
  });

  describe('a corpus of bad input', () => {
    const valid = { occurred_at: 1_738_315_800_000, provider: 'openai', model: 'gpt-4o', input_tokens: 10, output_tokens: 5 };
    const one = (overrides: Record<string, unknown>) => JSON.stringify([{ ...valid, ...overrides }]);
    const without = (field: keyof typeof valid) => JSON.stringify([Object.fromEntries(Object.entries(valid).filter(([k]) => k !== field))]);
    const deep = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

    interface BadCase {
      name: string;
      body: string | Buffer;
      path?: '/v1/usage' | '/v1/outcomes';
      contentType?: string | null;
      encoding?: string;
      status: number;
      /** A whole-request error: `{ error }`. */
      error?: RegExp;
      /** An item error: `{ accepted: 0, rejected: [{ index: 0, errors: [...] }] }` naming this field. */
      field?: string;
      message?: RegExp;
    }

    const corpus: BadCase[] = [
      { name: 'tokens as a string', body: one({ input_tokens: '12' }), status: 400, field: 'input_tokens', message: /non-negative integer/ },
      { name: 'model as a number', body: one({ model: 42 }), status: 400, field: 'model', message: /must be a string/ },
      { name: 'occurred_at as a boolean', body: one({ occurred_at: true }), status: 400, field: 'occurred_at', message: /RFC 3339/ },
      { name: 'tags as a string', body: one({ tags: 'x' }), status: 400, field: 'tags', message: /object of string values/ },
      { name: 'a tag value as a number', body: one({ tags: { env: 1 } }), status: 400, field: 'tags.env', message: /must be a string/ },
      { name: 'an unknown operation', body: one({ operation: 'dance' }), status: 400, field: 'operation', message: /must be one of chat/ },
      { name: 'negative tokens', body: one({ output_tokens: -5 }), status: 400, field: 'output_tokens', message: /non-negative integer/ },
      { name: 'fractional tokens', body: one({ input_tokens: 1.5 }), status: 400, field: 'input_tokens', message: /non-negative integer/ },
      { name: 'infinite tokens', body: '[{"occurred_at":1738315800000,"provider":"openai","model":"gpt-4o","input_tokens":1e400}]', status: 400, field: 'input_tokens' },
      { name: 'missing model', body: without('model'), status: 400, field: 'model', message: /^is required$/ },
      { name: 'missing provider', body: without('provider'), status: 400, field: 'provider', message: /^is required$/ },
      { name: 'missing occurred_at', body: without('occurred_at'), status: 400, field: 'occurred_at', message: /^is required$/ },
      { name: 'a 100 KB model name', body: one({ model: 'x'.repeat(100_000) }), status: 400, field: 'model', message: /at most 128 characters/ },
      { name: 'a 1 MB run id', body: one({ run_id: 'r'.repeat(MiB) }), status: 400, field: 'run_id', message: /at most 256 characters/ },
      { name: 'a 20 KB prompt excerpt', body: one({ prompt: { excerpt: 'é'.repeat(10_000) } }), status: 400, field: 'prompt.excerpt', message: /8 KiB/ },
      { name: 'a lone surrogate', body: '[{"occurred_at":1738315800000,"provider":"openai","model":"gpt-\\ud800"}]', status: 400, field: 'model', message: /well-formed Unicode/ },
      { name: 'epoch seconds', body: one({ occurred_at: 1_738_315_800 }), status: 400, field: 'occurred_at', message: /epoch seconds/ },
      { name: 'parts above the whole', body: one({ input_tokens: 10, cached_input_tokens: 20 }), status: 400, field: 'input_tokens', message: /less than its parts/ },
      { name: 'an unknown field', body: one({ colour: 'red' }), status: 400, field: 'colour', message: /^is not a known field$/ },
      { name: 'an unknown nested field', body: one({ prompt: { colour: 'red' } }), status: 400, field: 'prompt.colour', message: /^is not a known field$/ },
      { name: 'a __proto__ member', body: '[{"occurred_at":1738315800000,"provider":"openai","model":"gpt-4o","__proto__":{"admin":true}}]', status: 400, field: '__proto__', message: /^is not a known field$/ },
      { name: 'an item that is not an object', body: '[42]', status: 400, field: '', message: /JSON object/ },
      { name: 'a body that is null', body: 'null', status: 400, field: '', message: /JSON object/ },
      { name: 'invalid UTF-8', body: Buffer.concat([Buffer.from('[{"model":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}]')]), status: 400, error: /^body is not valid UTF-8$/ },
      { name: 'nesting 1,000 levels deep', body: deep(1_000), status: 400, error: /nesting deeper than 32 levels/ },
      { name: 'nesting 500,000 levels deep', body: deep(500_000), status: 400, error: /nesting deeper than 32 levels/ },
      { name: 'deep nesting inside an event', body: one({ tags: JSON.parse('{"a":'.repeat(40) + '1' + '}'.repeat(40)) as unknown }), status: 400, error: /nesting deeper than 32 levels/ },
      { name: 'a duplicate key', body: '[{"occurred_at":1738315800000,"provider":"openai","model":"cheap","model":"gpt-4o"}]', status: 400, error: /^duplicate key "model" in \[0\]$/ },
      { name: 'a duplicate nested key', body: '[{"occurred_at":1738315800000,"provider":"openai","model":"m","tags":{"env":"a","env":"b"}}]', status: 400, error: /^duplicate key "env" in \[0\]\.tags$/ },
      { name: 'an empty body', body: '', status: 400, error: /empty body/ },
      { name: 'an empty array', body: '[]', status: 400, error: /no events/ },
      { name: 'NDJSON of blank lines', body: '\n\n\n', contentType: 'application/x-ndjson', status: 400, error: /no events/ },
      { name: 'not JSON', body: 'model=gpt-4o&tokens=12', status: 400, error: /^invalid JSON: / },
      { name: 'truncated JSON', body: one({}).slice(0, -3), status: 400, error: /^invalid JSON: / },
      { name: 'JSON with a trailing comma', body: '[{"model":"m"},]', status: 400, error: /^invalid JSON: / },
      { name: 'two JSON documents', body: '{"model":"m"} {"model":"n"}', status: 400, error: /^invalid JSON: / },
      { name: 'NDJSON of a garbage line', body: 'garbage\n\n', contentType: 'application/x-ndjson', status: 400, field: '', message: /^invalid JSON/ },
      { name: 'a text/plain body', body: one({}), contentType: 'text/plain', status: 415, error: /unsupported Content-Type "text\/plain"/ },
      { name: 'an XML body', body: '<usage/>', contentType: 'application/xml', status: 415, error: /unsupported Content-Type/ },
      { name: 'a malformed Content-Type', body: one({}), contentType: ';;;', status: 415 },
      { name: 'an unknown Content-Encoding', body: one({}), encoding: 'compress', status: 415, error: /unsupported Content-Encoding "compress"/ },
      { name: 'gzip that is not gzip', body: one({}), encoding: 'gzip', status: 400, error: /^body is not valid gzip/ },
      { name: 'truncated gzip', body: gzipSync(one({})).subarray(0, 25), encoding: 'gzip', status: 400, error: /^body is not valid gzip/ },
      { name: 'an outcome with no run ids', path: '/v1/outcomes', body: JSON.stringify([{ occurred_at: 1_738_316_000_000, outcome_type: 'ticket_resolved', outcome_id: 't', run_ids: [], status: 'accepted' }]), status: 400, field: 'run_ids', message: /at least one/ },
      { name: 'an outcome with a bad amount', path: '/v1/outcomes', body: JSON.stringify([{ occurred_at: 1_738_316_000_000, outcome_type: 'ticket_resolved', outcome_id: 't', run_ids: ['r'], status: 'accepted', value_usd: '12,50' }]), status: 400, field: 'value_usd' },
      { name: 'an outcome with an unknown status', path: '/v1/outcomes', body: JSON.stringify([{ occurred_at: 1_738_316_000_000, outcome_type: 'ticket_resolved', outcome_id: 't', run_ids: ['r'], status: 'done' }]), status: 400, field: 'status', message: /must be one of accepted/ },
    ];

    it('answers every bad request 4xx with a clear message, and the service stays healthy', async () => {
      const problems: string[] = [];
      for (const c of corpus) {
        const answer = await post(c.path ?? '/v1/usage', c.body, { contentType: c.contentType, encoding: c.encoding });
        const body = answer.body as { error?: unknown; accepted?: unknown; rejected?: { index: number; errors: { path: string; message: string }[] }[] };
        const seen = `${c.name}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`;
        if (answer.status !== c.status) problems.push(`${seen} (expected ${c.status})`);
        else if (c.field !== undefined) {
          const errors = body.rejected?.[0]?.errors ?? [];
          const named = errors.find((e) => e.path === c.field && e.message.length > 0 && (!c.message || c.message.test(e.message)));
          if (body.accepted !== 0 || body.rejected?.length !== 1 || body.rejected[0]?.index !== 0 || !named) problems.push(`${seen} (expected ${c.field} ${c.message ?? ''})`);
        } else if (typeof body.error !== 'string' || body.error.length === 0 || (c.error && !c.error.test(body.error))) {
          problems.push(`${seen} (expected { error: ${c.error ?? 'a message'} })`);
        }
      }
      expect(problems).toEqual([]);

      expect((await fetch(`${ingest.url}/readyz`)).status).toBe(200);
      expect((await fetch(`${ingest.url}/healthz`)).status).toBe(200);
      const runId = `run-${unique()}`;
      expect(await post('/v1/usage', JSON.stringify([usageEvent(runId, 0)]))).toMatchObject({ status: 202, body: { accepted: 1 } });
      await reader.waitForUsage(byRun(runId), 1, 'the valid event after the corpus');

      // Rejections are counted by field, and client-chosen names do not become metric labels.
      const metrics = await (await fetch(`${ingest.url}/metrics`)).text();
      expect(metrics).toMatch(/tokenledger_ingest_events_rejected_total\{[^}]*reason="input_tokens"[^}]*\} \d+/);
      expect(metrics).toMatch(/tokenledger_ingest_events_rejected_total\{[^}]*reason="unknown_field"[^}]*\} \d+/);
      expect(metrics).not.toContain('reason="colour"');
      expect(metrics).not.toContain('reason="prompt.colour"');
      expect(metrics).not.toContain('reason="__proto__"');
    });
  });

  describe('OTLP traces', () => {
    const genAi = (model: string, input: number, output: number) => ({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': model,
      'gen_ai.usage.input_tokens': input,
      'gen_ai.usage.output_tokens': output,
    });

    /** A real SDK pipeline; the exporter's results are recorded so a refused export fails the test. */
    function sdkWith(exporter: SpanExporter) {
      const results: number[] = [];
      const recording: SpanExporter = {
        export: (spans, done) =>
          exporter.export(spans, (result) => {
            results.push(result.code);
            done(result);
          }),
        shutdown: () => exporter.shutdown(),
        forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
      };
      const provider = new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': 'agent-under-test' }),
        // One export request for all spans: the GenAI spans and the plain one travel together.
        spanProcessors: [new BatchSpanProcessor(recording, { scheduledDelayMillis: 60_000 })],
      });
      return { provider, tracer: provider.getTracer('ingest-integration-test'), results };
    }

    /** An agent run: a root span without usage, two LLM calls (one failed) and a plain HTTP span. */
    async function exportAgentRun(exporter: SpanExporter, extra: Record<string, string> = {}) {
      const { provider, tracer, results } = sdkWith(exporter);
      const project = `proj-${unique()}`;
      const root = tracer.startSpan('invoke_agent triage', { attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'triage' } });
      const parent = trace.setSpan(context.active(), root);
      const chat = tracer.startSpan('chat gpt-4o', {
        attributes: {
          ...genAi('gpt-4o', 1200, 300),
          'gen_ai.response.model': 'gpt-4o-2024-08-06',
          'gen_ai.usage.cache_read.input_tokens': 1000,
          'tokenledger.tag.project': project,
          ...extra,
        },
      }, parent);
      chat.end();
      const failed = tracer.startSpan('chat claude', {
        attributes: { ...genAi('claude-sonnet-4', 50, 0), 'gen_ai.provider.name': 'anthropic', 'tokenledger.tag.project': project, ...extra },
      }, parent);
      failed.setStatus({ code: SpanStatusCode.ERROR, message: 'overloaded' });
      failed.end();
      const http = tracer.startSpan('GET /kb/search', { attributes: { 'http.request.method': 'GET', 'url.full': 'https://kb.example/search' } }, parent);
      http.end();
      root.end();
      await provider.forceFlush();
      await provider.shutdown();
      return {
        results,
        traceId: root.spanContext().traceId,
        rootSpanId: root.spanContext().spanId,
        chatSpanId: chat.spanContext().spanId,
        failedSpanId: failed.spanContext().spanId,
        plainSpanIds: [root.spanContext().spanId, http.spanContext().spanId],
      };
    }

    const exporterOptions = (key: string) => ({ url: `${ingest.url}/v1/traces`, headers: { Authorization: `Bearer ${key}` } });

    async function expectRunOnTopic(run: Awaited<ReturnType<typeof exportAgentRun>>, tenant: DevKeys, runId = run.traceId) {
      expect(run.results).toEqual([0]); // ExportResultCode.SUCCESS
      const found = await reader.waitForUsage((e) => e.trace_id === run.traceId, 2, 'the GenAI spans as usage events');
      const byEventId = new Map(found.map((m) => [m.value.event_id, m]));
      const chat = byEventId.get(`otlp-${run.traceId}-${run.chatSpanId}`);
      const failed = byEventId.get(`otlp-${run.traceId}-${run.failedSpanId}`);
      expect(chat).toMatchObject({
        key: `${tenant.tenantId}/${runId}`,
        magic: 0,
        value: {
          tenant_id: tenant.tenantId,
          run_id: runId,
          trace_id: run.traceId,
          span_id: run.chatSpanId,
          parent_span_id: run.rootSpanId,
          provider: 'openai',
          model: 'gpt-4o-2024-08-06',
          operation: 'chat',
          input_tokens: 1200,
          output_tokens: 300,
          cached_input_tokens: 1000,
          status: 'ok',
          step: 'chat gpt-4o',
        },
      });
      expect(chat!.value.tags).toMatchObject({ project: expect.stringMatching(/^proj-/) });
      expect(chat!.value.latency_ms).toBeGreaterThanOrEqual(0);
      expect(failed).toMatchObject({ value: { provider: 'anthropic', model: 'claude-sonnet-4', status: 'error', input_tokens: 50, output_tokens: 0 } });
      // The spans without usage were in the same export request, and are not on the topic.
      expect(found).toHaveLength(2);
      for (const spanId of run.plainSpanIds) expect(byEventId.has(`otlp-${run.traceId}-${spanId}`)).toBe(false);
    }

    it('turns GenAI spans from the OTLP/JSON exporter into usage events; other spans are skipped', async () => {
      const run = await exportAgentRun(new JsonTraceExporter(exporterOptions(tenantA.ingest)));
      await expectRunOnTopic(run, tenantA);
      const metrics = await (await fetch(`${ingest.url}/metrics`)).text();
      expect(Number(/tokenledger_ingest_spans_skipped_total\{[^}]*\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(2);
    });

    it('turns GenAI spans from the OTLP/protobuf exporter (gzip) into usage events, under the key’s tenant', async () => {
      const gzip = 'gzip' as unknown as NonNullable<ConstructorParameters<typeof ProtoTraceExporter>[0]>['compression'];
      const run = await exportAgentRun(new ProtoTraceExporter({ ...exporterOptions(tenantB.ingest), compression: gzip }));
      await expectRunOnTopic(run, tenantB);
    });

    it('takes the run id from tokenledger.run_id when a span names one', async () => {
      const runId = `run-${unique()}`;
      const run = await exportAgentRun(new ProtoTraceExporter(exporterOptions(tenantA.ingest)), { 'tokenledger.run_id': runId });
      await expectRunOnTopic(run, tenantA, runId);
    });

    it('answers with partial success for GenAI spans that are not valid usage', async () => {
      const traceId = randomBytes(16).toString('hex');
      const span = (spanId: string, attributes: Record<string, string | number>) => ({
        traceId,
        spanId,
        name: 'chat',
        startTimeUnixNano: '1738315800000000000',
        endTimeUnixNano: '1738315801000000000',
        attributes: Object.entries(attributes).map(([key, v]) => ({ key, value: typeof v === 'string' ? { stringValue: v } : { intValue: v } })),
      });
      const request = {
        resourceSpans: [{
          scopeSpans: [{
            spans: [
              span('00000000000000a1', genAi('gpt-4o', 10, 5)),
              span('00000000000000a2', { 'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': 10 }),
              span('00000000000000a3', { ...genAi('gpt-4o', 10, 5), 'gen_ai.usage.cache_read.input_tokens': 99 }),
            ],
          }],
        }],
      };
      const answer = await post('/v1/traces', JSON.stringify(request));
      expect(answer.status).toBe(200);
      const partial = (answer.body as { partialSuccess?: { rejectedSpans?: string; errorMessage?: string } }).partialSuccess;
      expect(partial?.rejectedSpans).toBe('2');
      expect(partial?.errorMessage).toContain('span 00000000000000a2: model is required');
      expect(partial?.errorMessage).toContain('span 00000000000000a3: input_tokens');
      const [event] = await reader.waitForUsage((e) => e.trace_id === traceId, 1, 'the valid span');
      expect(event?.value.event_id).toBe(`otlp-${traceId}-00000000000000a1`);
      expect(reader.usage((e) => e.trace_id === traceId)).toHaveLength(1);
    });

    it('answers 200 with an empty response when no span carries usage', async () => {
      const request = { resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex'), name: 'GET /' }] }] }] };
      expect(await post('/v1/traces', JSON.stringify(request))).toMatchObject({ status: 200, body: {} });
    });

    it('refuses what is not an OTLP export', async () => {
      expect(await post('/v1/traces', '{"spans":[]}')).toMatchObject({ status: 400, body: { error: expect.stringContaining('resourceSpans') } });
      expect(await post('/v1/traces', Buffer.from([0xff, 0xff, 0xff, 0xff]), { contentType: 'application/x-protobuf' })).toMatchObject({ status: 400, body: { error: expect.stringContaining('invalid OTLP') } });
      expect(await post('/v1/traces', '{"resourceSpans":[]}', { contentType: 'text/plain' })).toMatchObject({ status: 415 });
      expect(await post('/v1/traces', '{"resourceSpans":[],"resourceSpans":[]}')).toMatchObject({ status: 400, body: { error: expect.stringContaining('duplicate key') } });
    });
  });

  describe('the publisher and the broker’s message size limit', () => {
    it('splits a flush into produce requests under the byte cap, where one request would be refused', async () => {
      const topic = `ingest-test.small-messages-${runTag}`;
      const admin = kafka.admin();
      await admin.connect();
      try {
        await ensureTopics(admin, [{ topic, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: String(16 * 1024) }] }]);
        const messages = Array.from({ length: 100 }, (_, i) => ({ key: 'run', value: Buffer.alloc(1024, i) }));

        const uncapped = new Publisher(kafka, { timeoutMs: 20_000, lingerMs: 0, maxBatchMessages: 5_000, maxBatchBytes: 10 * MiB });
        await uncapped.start();
        try {
          await expect(uncapped.publish(topic, messages)).rejects.toThrow(/larger than the max message size/);
        } finally {
          await uncapped.stop();
        }

        const capped = new Publisher(kafka, { timeoutMs: 20_000, lingerMs: 0, maxBatchMessages: 5_000, maxBatchBytes: 8 * 1024 });
        await capped.start();
        try {
          await Promise.all([capped.publish(topic, messages.slice(0, 60)), capped.publish(topic, messages.slice(60))]);
        } finally {
          await capped.stop();
        }
        const [offsets] = await admin.fetchTopicOffsets(topic);
        expect(Number(offsets?.high)).toBe(100); // every message acknowledged is in the log
      } finally {
        await admin.disconnect();
      }
    });
  });

  it('decoded every message the ingest wrote for its tenants through the registry', () => {
    const ours = (key: string) => key.startsWith(`${tenantA.tenantId}/`) || key.startsWith(`${tenantB.tenantId}/`);
    expect(reader.undecodable.filter((m) => ours(m.key))).toEqual([]);
    for (const m of reader.messages.filter((m) => ours(m.key))) expect(m.magic).toBe(0);
  });
});
