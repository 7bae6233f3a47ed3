/**
 * Faults 1 and 2: the attributor and the outcome joiner killed with -9 mid-batch, then restarted.
 * Both run in one child process over one embedded ClickHouse (as `npm start` runs them), so the
 * facts are checked after the last worker exits, by opening its data directory here.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, ensureTopics, publishConfigChanges, SchemaRegistry } from '@tokenledger/infra';
import { topics, topicSpecs, type OutcomeEvent, type UsageEvent } from '@tokenledger/schemas';
import { eventually, freePort, openClickHouse, testEnv, testLogger } from '../src/harness.js';
import { acmePriceOverride, produce } from '../src/fleet.js';
import {
  caughtUp, expectedOutcomeCosts, joinerQuiet, killWorker, metric, outcomesFor, report, seconds, settledTally, startWorker,
  topicEnds, totalNano, usageFleet, type Worker,
} from './support.js';

const env = testEnv('fault-crash');
const kafka = createKafka(env.KAFKA_BROKERS!.split(','), 'fault-crash', testLogger);
const registry = new SchemaRegistry({ host: env.SCHEMA_REGISTRY_URL! });
const attributorTenant = `crash-a-${randomUUID().slice(0, 8)}`;
const joinerTenant = `crash-j-${randomUUID().slice(0, 8)}`;
const USAGE = Number(process.env.FAULT_CRASH_EVENTS ?? 12_000);

let workerEnv: Record<string, string | undefined>;
let attributorUrl: string;
let worker: Worker | undefined;
const kills: string[] = [];

let attributorFleet: UsageEvent[];
let joinerUsage: UsageEvent[];
let joinerOutcomes: OutcomeEvent[];
const timing = { attributor: 0, joiner: 0 };

async function start(): Promise<Worker> {
  const w = startWorker(workerEnv);
  await Promise.race([w.ready, w.exited.then(() => Promise.reject(new Error('worker exited during start-up')))]);
  return w;
}

beforeAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topicSpecs(3));
  await admin.disconnect();
  await publishConfigChanges(kafka, registry, [acmePriceOverride(attributorTenant), acmePriceOverride(joinerTenant)]);
  const port = await freePort();
  attributorUrl = `http://127.0.0.1:${port}`;
  workerEnv = {
    ...process.env, ...env, ATTRIBUTOR_PORT: String(port), ATTRIBUTOR_HOST: '127.0.0.1', JOINER_PORT: String(await freePort()), JOINER_HOST: '127.0.0.1',
    ATTRIBUTOR_GROUP_ID: `fault-attr-${randomUUID()}`, JOINER_GROUP_ID: `fault-join-${randomUUID()}`,
    JOINER_VISIBILITY_LAG_MS: '200', JOINER_SETTLE_INTERVAL_MS: '3600000',
  };
});

afterAll(async () => {
  if (worker) await killWorker(worker, 'SIGKILL');
});

describe('fault 1: kill -9 of the attributor mid-batch', () => {
  it('restarts and consumes everything', async () => {
    const started = Date.now();
    attributorFleet = usageFleet(attributorTenant, USAGE);
    // The group reads the topic from its beginning: what other faults left there comes first.
    const backlog = (await topicEnds(kafka, topics.usage)).reduce((sum, e) => sum + Number(e.high), 0);
    await produce(kafka, registry, topics.usage, attributorFleet);
    const ends = await topicEnds(kafka, topics.usage);

    // Killed while batches are being written, then left to finish. A restart waits out the dead
    // member's session (45 s) before it gets partitions, so one kill per consumer keeps the suite short.
    for (const share of (process.env.FAULT_CRASH_KILLS ?? '0.3').split(',').map(Number)) {
      worker = await start();
      const done = await eventually(async () => {
        const processed = await metric(attributorUrl, 'tokenledger_consumer_messages_total').catch(() => 0);
        return processed >= backlog + USAGE * share ? processed : undefined;
      }, 120_000, `attributor ${share * 100}% through`);
      await killWorker(worker, 'SIGKILL');
      kills.push(`killed with ${done - backlog} of its ${USAGE} events made durable`);
    }
    worker = await start();
    await eventually(async () => ((await caughtUp(kafka, workerEnv.ATTRIBUTOR_GROUP_ID!, topics.usage, ends)) ? true : undefined), 180_000, 'attributor caught up');
    timing.attributor = seconds(started);
  });
});

describe('fault 2: kill -9 of the joiner mid-batch', () => {
  it('restarts and settles', async () => {
    const started = Date.now();
    joinerUsage = usageFleet(joinerTenant, 6_000, 1_500);
    joinerOutcomes = outcomesFor(joinerTenant, joinerUsage);
    // Outcomes first, then their runs' usage trickling in slices a second apart; the kill comes
    // with the first outcome facts, while the joiner is busy and usage is still arriving.
    const w = worker!;
    const before = w.passes.length;
    const written = () => w.passes.slice(before).reduce((a, b) => a + b, 0);
    await produce(kafka, registry, topics.outcomes, joinerOutcomes);
    const runs = [...new Set(joinerUsage.map((u) => u.run_id))];
    const SLICES = 10;
    let slicesSent = 0;
    const trickle = (async () => {
      for (let slice = 0; slice < SLICES; slice++) {
        const sliceRuns = new Set(runs.slice((slice * runs.length) / SLICES, ((slice + 1) * runs.length) / SLICES));
        await produce(kafka, registry, topics.usage, joinerUsage.filter((u) => sliceRuns.has(u.run_id)));
        slicesSent++;
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    })();
    await eventually(async () => (written() > 0 ? true : undefined), 240_000, 'first outcome facts');
    await killWorker(w, 'SIGKILL');
    kills.push(`joiner killed after ${written()} outcome facts written, ${slicesSent} of ${SLICES} usage slices sent`);
    await trickle;
    const usageEnds = await topicEnds(kafka, topics.usage);
    const outcomeEnds = await topicEnds(kafka, topics.outcomes);

    worker = await start();
    const again = worker;
    await eventually(async () => {
      if (!(await caughtUp(kafka, workerEnv.ATTRIBUTOR_GROUP_ID!, topics.usage, usageEnds))) return undefined;
      if (!(await caughtUp(kafka, workerEnv.JOINER_GROUP_ID!, topics.outcomes, outcomeEnds))) return undefined;
      return (await joinerQuiet(again)) ? true : undefined;
    }, 180_000, 'joiner caught up and settled');
    await killWorker(again, 'SIGTERM');
    worker = undefined;
    timing.joiner = seconds(started);
  }, 600_000);
});

describe('after the kills', () => {
  it('counts every usage event once and every outcome once, to the nano-dollar', async () => {
    expect(worker).toBeUndefined();
    const clickhouse = await openClickHouse(env);
    try {
      const usage = await settledTally(clickhouse, 'usage_facts', attributorTenant, attributorFleet.map((e) => e.event_id), 10_000);
      const usageExact = usage.costNano === totalNano(attributorFleet);
      report({
        fault: `1 kill -9 attributor mid-batch (x${kills.length - 1})`, sent: attributorFleet.length, acknowledged: attributorFleet.length, ...usage,
        exact: usageExact, seconds: timing.attributor, note: kills.slice(0, -1).join('; '),
      });

      const expected = expectedOutcomeCosts(joinerUsage, joinerOutcomes);
      const outcomes = await settledTally(clickhouse, 'outcome_facts', joinerTenant, [...expected.keys()], 10_000);
      const expectedCost = [...expected.values()].reduce((a, b) => a + b, 0n);
      const joinedUsage = await settledTally(clickhouse, 'usage_facts', joinerTenant, joinerUsage.map((e) => e.event_id), 10_000);
      report({
        fault: '2 kill -9 joiner mid-batch', sent: joinerOutcomes.length, acknowledged: joinerOutcomes.length, ...outcomes,
        exact: outcomes.costNano === expectedCost && joinedUsage.lost === 0 && joinedUsage.doubled === 0, seconds: timing.joiner,
        note: `outcomes; ${kills.at(-1) ?? ''}; their ${joinerUsage.length} usage events: lost ${joinedUsage.lost}, doubled ${joinedUsage.doubled}`,
      });

      expect({ lost: usage.lost, doubled: usage.doubled, exact: usageExact }).toEqual({ lost: 0, doubled: 0, exact: true });
      expect({ lost: outcomes.lost, doubled: outcomes.doubled, cost: outcomes.costNano }).toEqual({ lost: 0, doubled: 0, cost: expectedCost });
      expect({ lost: joinedUsage.lost, doubled: joinedUsage.doubled }).toEqual({ lost: 0, doubled: 0 });
    } finally {
      await clickhouse.close();
    }
  });
});
