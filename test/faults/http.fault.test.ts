/**
 * Fault 8: malformed HTTP requests against ingest and the api — bodies, headers, encodings,
 * sizes, framing. Every one must be answered 4xx with a message saying what is wrong, and both
 * services must be healthy and correct afterwards. test/ingest.integration.test.ts holds the
 * big corpus of bad event bodies; this one is about the HTTP layer and the api.
 */
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createKafka, devKeys, devKeysEnv, ensureTopics, keyRingFor, migrate, parseEnv, SchemaRegistry, type ClickHouseClient, type DevKeys,
} from '@tokenledger/infra';
import { topicSpecs } from '@tokenledger/schemas';
import { loadIngestConfig, startIngest, type IngestService } from '@tokenledger/ingest';
import { freePort, openClickHouse, testEnv, testLogger } from '../src/harness.js';
import { startTestApi } from '../src/api-harness.js';
import { report, seconds } from './support.js';

const env = testEnv('fault-http');
const tenant: DevKeys = devKeys(parseEnv(devKeysEnv, { TOKENLEDGER_DEV_TENANT: `http-${randomUUID().slice(0, 8)}` }));
const KiB = 1024;
let clickhouse: ClickHouseClient;
let ingest: IngestService;
let api: Awaited<ReturnType<typeof startTestApi>>;

beforeAll(async () => {
  clickhouse = await openClickHouse(env);
  await migrate(clickhouse, {}, testLogger);
  const admin = createKafka(env.KAFKA_BROKERS!.split(','), 'fault-http', testLogger).admin();
  await admin.connect();
  await ensureTopics(admin, topicSpecs(3));
  await admin.disconnect();
  ingest = await startIngest(
    loadIngestConfig({ ...env, INGEST_HOST: '127.0.0.1', INGEST_PORT: String(await freePort()), INGEST_MAX_BODY_BYTES: String(256 * KiB) }),
    { logger: testLogger, keys: keyRingFor(tenant), registry: new SchemaRegistry({ host: env.SCHEMA_REGISTRY_URL! }) },
  );
  api = await startTestApi(env, clickhouse, keyRingFor(tenant));
});

afterAll(async () => {
  await ingest?.stop();
  await api?.api.stop();
  await clickhouse?.close();
});

interface Answer {
  status: number;
  body: string;
}

/** Writes raw bytes on a fresh connection and reads the answer until the server closes it or 5 s pass. */
function raw(base: string, bytes: string | Buffer): Promise<Answer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    const done = () => {
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    };
    const timer = setTimeout(done, 5_000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => { clearTimeout(timer); done(); });
    socket.on('error', () => undefined);
    socket.write(bytes);
  });
}

async function request(base: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<Answer> {
  const res = await fetch(`${base}${path}`, { method: init.method ?? 'POST', headers: init.headers, body: init.body });
  return { status: res.status, body: await res.text() };
}

/** The answer's message: `error` (or fastify's `message`) of a JSON body. */
function message(body: string): string {
  try {
    const json = JSON.parse(body.includes('\r\n') && !body.trimStart().startsWith('{') ? body.slice(body.indexOf('{')) : body) as { error?: unknown; message?: unknown };
    const parts = [json.error, json.message].filter((v): v is string => typeof v === 'string' && v.length > 0);
    return parts.join(' — ');
  } catch {
    return '';
  }
}

interface Case {
  name: string;
  service: 'ingest' | 'api';
  status: number;
  /** What the message must say. */
  says?: RegExp;
  send(base: string): Promise<Answer>;
}

const events = JSON.stringify([{ occurred_at: 1_738_315_800_000, provider: 'acme', model: 'acme-large', input_tokens: 10, output_tokens: 5 }]);
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const json = { 'content-type': 'application/json' };
const usage = (headers: Record<string, string>, body: string | Buffer = events) => (base: string) => request(base, '/v1/usage', { headers, body });
const get = (path: string, headers: Record<string, string> = bearer(tenant.query)) => (base: string) => request(base, path, { method: 'GET', headers });
const put = (path: string, headers: Record<string, string>, body: string | Buffer) => (base: string) => request(base, path, { method: 'PUT', headers, body });
const rawHttp = (lines: string[], body = '') => (base: string) => raw(base, `${lines.join('\r\n')}\r\n\r\n${body}`);
const host = 'Host: localhost';
const range = 'from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z';

const corpus: Case[] = [
  // Authorization
  { name: 'no Authorization', service: 'ingest', status: 401, says: /Authorization/, send: usage(json) },
  { name: 'Basic scheme', service: 'ingest', status: 401, send: usage({ ...json, authorization: `Basic ${Buffer.from(`x:${tenant.ingest}`).toString('base64')}` }) },
  { name: 'Token scheme', service: 'ingest', status: 401, send: usage({ ...json, authorization: `Token ${tenant.ingest}` }) },
  { name: 'Bearer with no key', service: 'ingest', status: 401, send: usage({ ...json, authorization: 'Bearer ' }) },
  { name: 'Bearer with two keys', service: 'ingest', status: 401, send: usage({ ...json, authorization: `Bearer ${tenant.ingest} ${tenant.ingest}` }) },
  { name: 'a 12 KiB unknown key', service: 'ingest', status: 401, says: /unknown API key/, send: usage({ ...json, ...bearer(`tli_${'k'.repeat(12 * KiB)}`) }) },
  { name: 'a query key', service: 'ingest', status: 403, says: /query key/, send: usage({ ...json, ...bearer(tenant.query) }) },
  { name: 'the key with a NUL byte', service: 'ingest', status: 400, says: /malformed HTTP request/, send: rawHttp(['POST /v1/usage HTTP/1.1', host, `Authorization: Bearer ${tenant.ingest}\u0000x`, 'Content-Type: application/json', `Content-Length: ${events.length}`, 'Connection: close'], events) },
  // Header sizes and framing
  { name: 'a 64 KiB header', service: 'ingest', status: 431, send: rawHttp(['POST /v1/usage HTTP/1.1', host, `X-Padding: ${'p'.repeat(64 * KiB)}`, 'Connection: close']) },
  { name: 'a 32 KiB Authorization', service: 'ingest', status: 431, send: rawHttp(['POST /v1/usage HTTP/1.1', host, `Authorization: Bearer ${'k'.repeat(32 * KiB)}`, 'Connection: close']) },
  // Node keeps the first 2,000 headers and drops the rest: the request is then refused for its missing key.
  { name: '2,000 headers', service: 'ingest', status: 401, send: rawHttp(['POST /v1/usage HTTP/1.1', host, ...Array.from({ length: 2_000 }, (_, i) => `X-H${i}: v`), 'Connection: close']) },
  { name: 'Content-Length and Transfer-Encoding both', service: 'ingest', status: 400, says: /malformed HTTP request/, send: rawHttp(['POST /v1/usage HTTP/1.1', host, 'Content-Length: 5', 'Transfer-Encoding: chunked', 'Connection: close'], '0\r\n\r\n') },
  { name: 'a bad chunk size', service: 'ingest', status: 400, says: /malformed HTTP request/, send: rawHttp(['POST /v1/usage HTTP/1.1', host, 'Transfer-Encoding: chunked', 'Connection: close'], 'zz\r\nabc\r\n0\r\n\r\n') },
  { name: 'a negative Content-Length', service: 'ingest', status: 400, says: /malformed HTTP request/, send: rawHttp(['POST /v1/usage HTTP/1.1', host, 'Content-Length: -1', 'Connection: close']) },
  { name: 'a 1 GiB Content-Length', service: 'ingest', status: 413, send: rawHttp(['POST /v1/usage HTTP/1.1', host, `Authorization: Bearer ${tenant.ingest}`, 'Content-Type: application/json', 'Content-Length: 1073741824', 'Connection: close'], '[') },
  { name: 'a request line of garbage', service: 'ingest', status: 400, send: (base) => raw(base, 'HELLO THERE\r\n\r\n') },
  { name: 'a header without a colon', service: 'ingest', status: 400, says: /malformed HTTP request/, send: rawHttp(['POST /v1/usage HTTP/1.1', host, 'NoColonHere', 'Connection: close']) },
  // Content types and encodings
  { name: 'text/plain', service: 'ingest', status: 415, says: /Content-Type/, send: usage({ ...bearer(tenant.ingest), 'content-type': 'text/plain' }) },
  { name: 'multipart/form-data', service: 'ingest', status: 415, says: /Content-Type/, send: usage({ ...bearer(tenant.ingest), 'content-type': 'multipart/form-data; boundary=x' }, '--x\r\n\r\n[]\r\n--x--') },
  { name: 'form-urlencoded', service: 'ingest', status: 415, send: usage({ ...bearer(tenant.ingest), 'content-type': 'application/x-www-form-urlencoded' }, 'a=1') },
  { name: 'JSON of UTF-16', service: 'ingest', status: 400, send: usage({ ...bearer(tenant.ingest), ...json }, Buffer.from(`\ufeff${events}`, 'utf16le')) },
  { name: 'truncated gzip', service: 'ingest', status: 400, says: /gzip/, send: usage({ ...bearer(tenant.ingest), ...json, 'content-encoding': 'gzip' }, gzipSync(events).subarray(0, 20)) },
  { name: 'gzip declared twice', service: 'ingest', status: 415, send: usage({ ...bearer(tenant.ingest), ...json, 'content-encoding': 'gzip, gzip' }, gzipSync(gzipSync(events))) },
  { name: 'deflate that is gzip', service: 'ingest', status: 400, says: /deflate/, send: usage({ ...bearer(tenant.ingest), ...json, 'content-encoding': 'deflate' }, gzipSync(events)) },
  { name: 'br that is plain text', service: 'ingest', status: 400, send: usage({ ...bearer(tenant.ingest), ...json, 'content-encoding': 'br' }) },
  { name: 'zstd', service: 'ingest', status: 415, says: /Content-Encoding/, send: usage({ ...bearer(tenant.ingest), ...json, 'content-encoding': 'zstd' }) },
  // Sizes
  { name: 'a body over the limit', service: 'ingest', status: 413, send: usage({ ...bearer(tenant.ingest), ...json }, `[${'{"model":"m"},'.repeat(30_000)}{}]`) },
  { name: 'gzip inflating over the limit', service: 'ingest', status: 413, says: /decompression/, send: usage({ ...bearer(tenant.ingest), ...json, 'content-encoding': 'gzip' }, gzipSync(Buffer.alloc(8 * 1024 * KiB, 0x20))) },
  { name: 'an empty body', service: 'ingest', status: 400, says: /empty/, send: usage({ ...bearer(tenant.ingest), ...json }, '') },
  // Routes and methods
  { name: 'GET /v1/usage', service: 'ingest', status: 404, send: get('/v1/usage', bearer(tenant.ingest)) },
  { name: 'an unknown path', service: 'ingest', status: 404, send: (base) => request(base, '/v1/usagex', { headers: { ...bearer(tenant.ingest), ...json }, body: events }) },
  { name: 'OTLP of garbage', service: 'ingest', status: 400, says: /OTLP/, send: (base) => request(base, '/v1/traces', { headers: { ...bearer(tenant.ingest), 'content-type': 'application/x-protobuf' }, body: Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]) }) },

  // The api: authorization
  { name: 'no key', service: 'api', status: 401, send: get(`/v1/spend?${range}`, {}) },
  { name: 'Basic scheme', service: 'api', status: 401, send: get(`/v1/spend?${range}`, { authorization: `Basic ${Buffer.from(`u:${tenant.query}`).toString('base64')}` }) },
  { name: 'an ingest key', service: 'api', status: 403, send: get(`/v1/spend?${range}`, bearer(tenant.ingest)) },
  { name: 'a query key on an admin route', service: 'api', status: 403, send: put('/v1/config/project/p1', { ...bearer(tenant.query), ...json }, '{"body":null}') },
  // The api: parameters
  { name: 'a range of ten years', service: 'api', status: 400, says: /at most/, send: get('/v1/spend?from=2016-01-01T00:00:00Z&to=2026-01-01T00:00:00Z') },
  { name: 'a range of garbage', service: 'api', status: 400, says: /from/, send: get('/v1/spend?from=yesterday&to=now') },
  { name: 'from after to', service: 'api', status: 400, send: get('/v1/spend?from=2026-11-01T00:00:00Z&to=2026-10-01T00:00:00Z') },
  { name: 'an unknown parameter', service: 'api', status: 400, says: /not a known parameter/, send: get(`/v1/spend?${range}&colour=red`) },
  { name: 'an unknown group_by', service: 'api', status: 400, says: /group_by/, send: get(`/v1/spend?${range}&group_by=nope`) },
  { name: 'from given twice', service: 'api', status: 400, send: get(`/v1/spend?${range}&from=2026-10-02T00:00:00Z`) },
  { name: 'SQL in group_by', service: 'api', status: 400, send: get(`/v1/spend?${range}&group_by=${encodeURIComponent('project) FROM system.tables --')}`) },
  { name: 'bad percent-encoding', service: 'api', status: 400, send: rawHttp([`GET /v1/runs/%ZZ%E0 HTTP/1.1`, host, `Authorization: Bearer ${tenant.query}`, 'Connection: close']) },
  { name: 'a 20 KiB query string', service: 'api', status: 431, send: rawHttp([`GET /v1/spend?${range}&group_by=${'x'.repeat(20 * KiB)} HTTP/1.1`, host, `Authorization: Bearer ${tenant.query}`, 'Connection: close']) },
  { name: 'a 64 KiB header', service: 'api', status: 431, send: rawHttp([`GET /v1/spend?${range} HTTP/1.1`, host, `Cookie: ${'c'.repeat(64 * KiB)}`, 'Connection: close']) },
  { name: 'an unknown route', service: 'api', status: 404, send: get('/v1/nothing-here') },
  // The api: bodies
  { name: 'config body not JSON', service: 'api', status: 400, send: put('/v1/config/project/p1', { ...bearer(tenant.admin), ...json }, '{"body":') },
  { name: 'config body as text/plain', service: 'api', status: 415, send: put('/v1/config/project/p1', { ...bearer(tenant.admin), 'content-type': 'text/plain' }, '{"body":null}') },
  { name: 'config body gzip', service: 'api', status: 415, says: /Content-Encoding/, send: put('/v1/config/project/p1', { ...bearer(tenant.admin), ...json, 'content-encoding': 'gzip' }, gzipSync('{"body":null}')) },
  { name: 'config body of 2 MiB', service: 'api', status: 413, send: put('/v1/config/project/p1', { ...bearer(tenant.admin), ...json }, JSON.stringify({ body: { x: 'y'.repeat(2 * 1024 * KiB) } })) },
  { name: 'config of an unknown kind', service: 'api', status: 400, says: /kind/, send: put('/v1/config/nope/p1', { ...bearer(tenant.admin), ...json }, '{"body":null}') },
  { name: 'config with an unknown member', service: 'api', status: 400, send: put('/v1/config/project/p1', { ...bearer(tenant.admin), ...json }, '{"body":null,"extra":1}') },
  { name: 'config with a __proto__ member', service: 'api', status: 400, send: put('/v1/config/project/p1', { ...bearer(tenant.admin), ...json }, '{"body":{},"__proto__":{"admin":true}}') },
  { name: 'config with an invalid body', service: 'api', status: 400, says: /invalid project/, send: put('/v1/config/project/p1', { ...bearer(tenant.admin), ...json }, '{"body":{"class":42}}') },
  { name: 'replay with no body', service: 'api', status: 400, send: (base) => request(base, '/v1/admin/replays', { headers: { ...bearer(tenant.admin), ...json }, body: '' }) },
];

describe('fault 8: a corpus of malformed HTTP requests', () => {
  it('answers every one 4xx with a clear message, and both services stay healthy', async () => {
    const started = Date.now();
    const problems: string[] = [];
    const answered: string[] = [];
    let fine = 0;
    let accepted = 0;
    for (const c of corpus) {
      const base = c.service === 'ingest' ? ingest.url : api.base;
      const answer = await c.send(base).catch((error: unknown) => ({ status: 0, body: String(error) }));
      const said = message(answer.body);
      answered.push(`${c.service} ${c.name}: ${answer.status} ${said.slice(0, 120)}`);
      if (answer.status >= 200 && answer.status < 300) accepted++;
      if (answer.status !== c.status || said.length < 5 || (c.says && !c.says.test(said))) {
        problems.push(`${c.service} ${c.name}: ${answer.status} ${answer.body.slice(0, 200)} (expected ${c.status}${c.says ? ` saying ${c.says}` : ''})`);
      } else fine++;
    }
    process.stderr.write(`[fault 8] answers:\n  ${answered.join('\n  ')}\n`);

    // Healthy after: health, readiness, and a real request through each.
    const health = await Promise.all([ingest.url, api.base].flatMap((b) => ['/healthz', '/readyz'].map(async (p) => (await fetch(`${b}${p}`)).status)));
    const ok = await request(ingest.url, '/v1/usage', { headers: { ...bearer(tenant.ingest), ...json }, body: events });
    const query = await api.get(`/v1/spend?${range}`, tenant.query);
    const healthy = health.every((s) => s === 200) && ok.status === 202 && query.status === 200;
    report({
      fault: '8 malformed HTTP requests', sent: corpus.length, acknowledged: accepted, counted: fine, lost: corpus.length - fine, doubled: 0,
      exact: healthy && problems.length === 0, seconds: seconds(started),
      note: `requests, not events: "counted" = answered 4xx with a clear message; ${corpus.filter((c) => c.service === 'ingest').length} to ingest, ${corpus.filter((c) => c.service === 'api').length} to the api; healthy after: ${healthy}${problems.length ? `; problems: ${problems.join(' | ')}` : ''}`,
    });
    expect(problems).toEqual([]);
    expect(health).toEqual([200, 200, 200, 200]);
    expect(ok.status).toBe(202);
    expect(query.status).toBe(200);
  });
});
