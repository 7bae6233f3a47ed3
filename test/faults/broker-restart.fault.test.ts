/**
 * Fault 4: the Kafka broker stopped and restarted while clients post usage. Ingest must answer
 * 503 with Retry-After while it is down; clients retry 503s with the same event ids; every
 * event answered 2xx is counted exactly once. A broker of this file's own (own data dir and
 * ports, same schema registry) so the run's shared broker is not disturbed.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createKafka, devKeys, devKeysEnv, ensureTopics, keyRingFor, migrate, parseEnv, publishConfigChanges, SchemaRegistry,
  type ClickHouseClient,
} from '@tokenledger/infra';
import { startLocalKafka, type LocalKafka } from '@tokenledger/infra/local';
import { topicSpecs } from '@tokenledger/schemas';
import { loadAttributorConfig, startAttributor, type AttributorService } from '@tokenledger/attributor';
import { loadIngestConfig, startIngest, type IngestService } from '@tokenledger/ingest';
import { eventually, freePort, openClickHouse, testEnv, testLogger } from '../src/harness.js';
import { acmePriceOverride } from '../src/fleet.js';
import { fleetCall, report, seconds, settledTally, sleep } from './support.js';

const DOWN_SECONDS = Number(process.env.FAULT_BROKER_DOWN_SECONDS ?? 10);
const baseEnv = testEnv('fault-broker');
const tenant = devKeys(parseEnv(devKeysEnv, { TOKENLEDGER_DEV_TENANT: `broker-${randomUUID().slice(0, 8)}` }));
const registry = new SchemaRegistry({ host: baseEnv.SCHEMA_REGISTRY_URL! });
let brokerOptions: Parameters<typeof startLocalKafka>[0];
let broker: LocalKafka | undefined;
let env: Record<string, string>;
let clickhouse: ClickHouseClient;
let ingest: IngestService;
let attributor: AttributorService;

beforeAll(async () => {
  brokerOptions = {
    dataDir: path.join(baseEnv.TOKENLEDGER_DATA_DIR!, 'own-broker'), port: await freePort(), controllerPort: await freePort(),
    log: (m) => process.stderr.write(`[fault-broker] ${m}\n`),
  };
  broker = await startLocalKafka(brokerOptions);
  env = { ...baseEnv, KAFKA_BROKERS: broker.brokers.join(',') };
  const kafka = createKafka(broker.brokers, 'fault-broker', testLogger);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topicSpecs(3));
  await admin.disconnect();
  await publishConfigChanges(kafka, registry, [acmePriceOverride(tenant.tenantId)]);
  clickhouse = await openClickHouse(env);
  await migrate(clickhouse, {}, testLogger);
  ingest = await startIngest(
    loadIngestConfig({ ...env, INGEST_HOST: '127.0.0.1', INGEST_PORT: String(await freePort()), INGEST_PRODUCE_TIMEOUT_MS: '3000' }),
    { logger: testLogger, keys: keyRingFor(tenant), registry },
  );
  attributor = await startAttributor(
    loadAttributorConfig({ ...env, ATTRIBUTOR_HOST: '127.0.0.1', ATTRIBUTOR_PORT: String(await freePort()), ATTRIBUTOR_GROUP_ID: `fault-broker-${randomUUID()}` }),
    { logger: testLogger, clickhouse, registry },
  );
}, 240_000);

afterAll(async () => {
  await ingest?.stop().catch(() => undefined);
  await attributor?.stop().catch(() => undefined);
  await clickhouse?.close();
  await broker?.stop();
}, 120_000);

describe('fault 4: Kafka broker stopped and restarted', () => {
  it('answers 503 with Retry-After while down, and counts every acknowledged event once', async () => {
    const started = Date.now();
    const BATCHES = 60;
    const PER_BATCH = 100;
    const batches = Array.from({ length: BATCHES }, (_, b) => Array.from({ length: PER_BATCH }, (_, j) => {
      const i = b * PER_BATCH + j;
      return { event_id: `${tenant.tenantId}-e${i}`, ...fleetCall(i, 1_000, tenant.tenantId) };
    }));
    const cost = (e: { input_tokens: number; output_tokens: number }) => BigInt(e.input_tokens) * 2_500n + BigInt(e.output_tokens) * 10_000n;
    const acknowledged = new Set<string>();
    const statuses = new Map<string, number>();
    let unavailable = 0;
    let withRetryAfter = 0;
    let brokerDown = false;
    let answeredWhileDown = 0;
    let next = 0;

    const post = async (batch: (typeof batches)[number]) => {
      for (;;) {
        const res = await fetch(`${ingest.url}/v1/usage`, {
          method: 'POST', headers: { authorization: `Bearer ${tenant.ingest}`, 'content-type': 'application/json' }, body: JSON.stringify(batch),
        }).catch(() => undefined);
        const status = res?.status ?? 0;
        const body = (await res?.json().catch(() => undefined)) as { accepted?: number } | undefined;
        statuses.set(String(status), (statuses.get(String(status)) ?? 0) + 1);
        if (status >= 200 && status < 300) {
          if (brokerDown) answeredWhileDown++;
          if (body?.accepted !== batch.length) throw new Error(`accepted ${body?.accepted} of ${batch.length}`);
          for (const e of batch) acknowledged.add(e.event_id);
          return;
        }
        if (status !== 503) throw new Error(`unexpected ${status} ${JSON.stringify(body)}`);
        unavailable++;
        if (res?.headers.get('retry-after')) withRetryAfter++;
        // A client honouring Retry-After would wait 5 s; this one retries sooner to keep the test short.
        await sleep(500);
      }
    };
    // Four clients, each posting the next batch when its last one was acknowledged, a little apart.
    const clients = Array.from({ length: 4 }, async () => {
      while (next < batches.length) {
        await post(batches[next++]!);
        await sleep(150);
      }
    });

    await eventually(async () => (acknowledged.size >= BATCHES * PER_BATCH * 0.25 ? true : undefined), 120_000, 'a quarter acknowledged');
    // SIGTERM: the broker shuts down cleanly (requests in its last seconds may still be acknowledged).
    await broker!.stop();
    brokerDown = true;
    const unavailableBefore = unavailable;
    const downAt = Date.now();
    await sleep(DOWN_SECONDS * 1_000);
    brokerDown = false;
    const unavailableWhileDown = unavailable - unavailableBefore;
    const downFor = seconds(downAt);
    broker = await startLocalKafka(brokerOptions);
    await Promise.all(clients);

    const ids = batches.flat().map((e) => e.event_id);
    const tally = await settledTally(clickhouse, 'usage_facts', tenant.tenantId, [...acknowledged], 180_000);
    const expectedCost = batches.flat().filter((e) => acknowledged.has(e.event_id)).reduce((sum, e) => sum + cost(e), 0n);
    const exact = tally.costNano === expectedCost;
    report({
      fault: '4 Kafka broker stopped and restarted', sent: ids.length, acknowledged: acknowledged.size, ...tally, exact, seconds: seconds(started),
      note: `broker down ${downFor.toFixed(0)} s; ${unavailable} answers 503 (${withRetryAfter} with Retry-After), ${unavailableWhileDown} of them while down; statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
    });
    expect(unavailableWhileDown).toBeGreaterThan(0);
    expect(withRetryAfter).toBe(unavailable);
    expect(answeredWhileDown).toBe(0);
    expect(acknowledged.size).toBe(ids.length);
    expect({ lost: tally.lost, doubled: tally.doubled, exact }).toEqual({ lost: 0, doubled: 0, exact: true });
  });
});
