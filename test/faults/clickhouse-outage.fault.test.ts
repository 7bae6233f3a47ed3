/**
 * Fault 3: ClickHouse refuses writes for FAULT_OUTAGE_SECONDS (default 30) while usage keeps
 * flowing. With embedded chDB the outage is the fact table renamed away and back: every insert
 * fails as it would against a server that is down. Nothing may be lost, and the totals exact.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, ensureTopics, migrate, publishConfigChanges, SchemaRegistry, type ClickHouseClient } from '@tokenledger/infra';
import { topics, topicSpecs, type UsageEvent } from '@tokenledger/schemas';
import { loadAttributorConfig, startAttributor, type AttributorService } from '@tokenledger/attributor';
import { eventually, freePort, openClickHouse, testEnv, testLogger } from '../src/harness.js';
import { acmePriceOverride, produce } from '../src/fleet.js';
import { report, seconds, settledTally, sleep, totalNano, usageFleet } from './support.js';

const OUTAGE_SECONDS = Number(process.env.FAULT_OUTAGE_SECONDS ?? 30);
const env = testEnv('fault-clickhouse');
const kafka = createKafka(env.KAFKA_BROKERS!.split(','), 'fault-clickhouse', testLogger);
const registry = new SchemaRegistry({ host: env.SCHEMA_REGISTRY_URL! });
const tenant = `outage-${randomUUID().slice(0, 8)}`;
let clickhouse: ClickHouseClient;
let attributor: AttributorService;
let url: string;

beforeAll(async () => {
  clickhouse = await openClickHouse(env);
  await migrate(clickhouse, {}, testLogger);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topicSpecs(3));
  await admin.disconnect();
  await publishConfigChanges(kafka, registry, [acmePriceOverride(tenant)]);
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  attributor = await startAttributor(
    loadAttributorConfig({ ...env, ATTRIBUTOR_PORT: String(port), ATTRIBUTOR_HOST: '127.0.0.1', ATTRIBUTOR_GROUP_ID: `fault-outage-${randomUUID()}` }),
    { logger: testLogger, clickhouse, registry },
  );
});

afterAll(async () => {
  await attributor?.stop();
  await clickhouse?.close();
});

describe('fault 3: ClickHouse unavailable while events flow', () => {
  it('loses nothing and is exact after recovery', async () => {
    const started = Date.now();
    const fleet = usageFleet(tenant, 6_000, 600);
    const waves = 30;
    const perWave = Math.ceil(fleet.length / waves);
    const sent: UsageEvent[] = [];
    let notReadySeen = false;
    let down = false;
    let flowDone = false;

    // Events flow the whole time: a wave every (outage / waves) seconds, from before the outage to after it.
    const flow = (async () => {
      for (let i = 0; i < waves; i++) {
        const wave = fleet.slice(i * perWave, (i + 1) * perWave);
        await produce(kafka, registry, topics.usage, wave);
        sent.push(...wave);
        await sleep((OUTAGE_SECONDS * 1_000 * 1.3) / waves);
      }
    })();
    const watch = (async () => {
      while (!flowDone) {
        if (down && (await fetch(`${url}/readyz`).then((r) => r.status).catch(() => 0)) === 503) notReadySeen = true;
        await sleep(250);
      }
    })();

    await eventually(async () => (sent.length >= perWave * 3 ? true : undefined), 60_000, 'some events before the outage');
    await clickhouse.command({ query: 'RENAME TABLE usage_facts TO usage_facts_away' });
    down = true;
    const outageStarted = Date.now();
    const sentBefore = sent.length;
    await sleep(OUTAGE_SECONDS * 1_000);
    const sentDuring = sent.length - sentBefore;
    await clickhouse.command({ query: 'RENAME TABLE usage_facts_away TO usage_facts' });
    down = false;
    const outage = seconds(outageStarted);
    await flow;
    flowDone = true;
    await watch;

    const recovered = Date.now();
    const tally = await settledTally(clickhouse, 'usage_facts', tenant, fleet.map((e) => e.event_id), 120_000);
    const catchUp = seconds(recovered);
    const exact = tally.costNano === totalNano(fleet);
    report({
      fault: '3 ClickHouse unavailable while events flow', sent: fleet.length, acknowledged: sent.length, ...tally, exact, seconds: seconds(started),
      note: `writes refused for ${outage.toFixed(0)} s, ${sentDuring} events sent meanwhile; /readyz 503 during it: ${notReadySeen}; caught up ${catchUp.toFixed(1)} s after`,
    });
    expect({ lost: tally.lost, doubled: tally.doubled, exact }).toEqual({ lost: 0, doubled: 0, exact: true });
    expect(notReadySeen).toBe(true);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
  });
});
