import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, ensureTopics, migrate, publishConfigChanges, SchemaRegistry, type ClickHouseClient } from '@tokenledger/infra';
import { repoRoot } from '@tokenledger/infra/local';
import { configChange, nanosToDecimal, topics, topicSpecs, type OutcomeEvent, type UsageEvent } from '@tokenledger/schemas';
import { loadAttributorConfig, startAttributor, type AttributorService } from '@tokenledger/attributor';
import { joinOutcome, loadJoinerConfig, startJoiner, type JoinerService, type OutcomeRecord, type UsageCall } from '@tokenledger/outcome-joiner';
import { eventually, freePort, openClickHouse, testEnv, testLogger } from './src/harness.js';
import { outcomeEvent, produce, usageEvent } from './src/fleet.js';

const env = testEnv('joiner');
const kafka = createKafka(env.KAFKA_BROKERS!.split(','), 'joiner-test', testLogger);
const registry = new SchemaRegistry({ host: env.SCHEMA_REGISTRY_URL! });
const hour = 3_600_000;
const usageTime = Date.parse('2026-11-01T10:00:00Z');

/** 2.5 USD/MTok in and 10 USD/MTok out for `acme` models: 2,500 and 10,000 nano-USD per token. */
const costNano = (e: UsageEvent) => BigInt(e.input_tokens) * 2_500n + BigInt(e.output_tokens) * 10_000n;

async function configurePrices(tenant: string): Promise<void> {
  await publishConfigChanges(kafka, registry, [configChange({
    tenantId: tenant, kind: 'price_override', itemId: 'acme', publishedBy: 'test',
    body: { provider: 'acme', model: 'acme-*', effective_from: 0, input: '2.5', output: '10' },
  })]);
}

/** A small fleet: retries, failures, a run shared by two outcomes, an outcome with two events, unclaimed runs. */
function fleet(tenant: string) {
  const run = (n: number) => `${tenant}-run-${n}`;
  const call = (r: number, step: string, attempt: number, status: 'ok' | 'error', minute: number, model = 'acme-large') =>
    usageEvent(tenant, {
      provider: 'acme', model, run_id: run(r), step, attempt, status, input_tokens: 1_000 + 37 * r + minute, output_tokens: 100 + r,
      occurred_at: usageTime + minute * 60_000,
    });
  const usage: UsageEvent[] = [];
  for (let r = 0; r < 9; r++) {
    usage.push(call(r, 'plan', 1, 'ok', r));
    if (r % 3 === 0) usage.push(call(r, 'act', 1, 'error', r + 1), call(r, 'act', 2, 'ok', r + 2, 'acme-small'));
    else usage.push(call(r, 'act', 1, 'ok', r + 1));
  }
  const outcome = (id: string, runs: number[], status: 'accepted' | 'rejected', minute: number, extra: Record<string, unknown> = {}) =>
    outcomeEvent(tenant, { outcome_id: `${tenant}-${id}`, run_ids: runs.map(run), status, occurred_at: usageTime + minute * 60_000, value_usd: '1.25', baseline_cost_usd: '0.5', ...extra });
  const outcomes: OutcomeEvent[] = [
    outcome('o0', [0], 'accepted', 30),
    outcome('o1', [1, 2], 'accepted', 31),
    outcome('o2', [3], 'accepted', 32),
    outcome('o3', [3], 'rejected', 33, { run_weights: { [run(3)]: 3 } }),
    outcome('o4', [4], 'rejected', 34),
    outcome('o4', [4, 5], 'accepted', 40, { human_minutes: 12.5 }),
    outcome('o5', [6], 'accepted', 35),
  ];
  return { usage, outcomes, run }; // runs 7 and 8: spend with no outcome
}

/** The facts computed in one pass from everything, with costs from the rates above. */
function reference(tenant: string, usage: UsageEvent[], outcomes: OutcomeEvent[]) {
  const calls: UsageCall[] = usage.map((e) => ({
    event_id: e.event_id, run_id: e.run_id, occurred_at: e.occurred_at, provider: e.provider, model: e.model, workflow: e.workflow ?? '', step: e.step ?? '',
    attempt: e.attempt, status: e.status, cost_nano: costNano(e), input_tokens: e.input_tokens, output_tokens: e.output_tokens,
    cached_input_tokens: 0, cache_write_tokens: 0, reasoning_tokens: 0,
  }));
  const records: OutcomeRecord[] = outcomes.map((o) => ({
    event_id: o.event_id, outcome_id: o.outcome_id, outcome_type: o.outcome_type, occurred_at: o.occurred_at, status: o.status,
    run_ids: o.run_ids, run_weights: o.run_weights ?? null, value_nano: 1_250_000_000n, baseline_cost_nano: 500_000_000n,
    human_milliminutes: o.human_milliminutes, quality: o.quality, tags: o.tags,
  }));
  const usageByRun = new Map<string, UsageCall[]>();
  for (const c of calls) usageByRun.set(c.run_id, [...(usageByRun.get(c.run_id) ?? []), c]);
  const byOutcome = new Map<string, OutcomeRecord[]>();
  for (const r of records) byOutcome.set(r.outcome_id, [...(byOutcome.get(r.outcome_id) ?? []), r]);
  const claimsByRun = new Map<string, { outcome_id: string; weight: number }[]>();
  for (const [outcomeId, events] of byOutcome) {
    const latest = [...events].sort((a, b) => a.occurred_at - b.occurred_at).at(-1)!;
    for (const runId of new Set(events.flatMap((e) => e.run_ids))) {
      claimsByRun.set(runId, [...(claimsByRun.get(runId) ?? []), { outcome_id: outcomeId, weight: latest.run_weights?.[runId] ?? 1 }]);
    }
  }
  return new Map([...byOutcome].map(([id, events]) => [id, joinOutcome(tenant, events, usageByRun, claimsByRun, null)]));
}

type FactRow = { outcome_id: string; status: string; cost_usd: string; retry_tax_usd: string; calls: string; attempts: number; failed_attempts: number; first_pass: boolean; run_ids: string[]; input_tokens: string };

async function outcomeFacts(clickhouse: ClickHouseClient, tenant: string): Promise<Map<string, FactRow>> {
  const rows = await (await clickhouse.query({
    query: `SELECT outcome_id, status, cost_usd, retry_tax_usd, calls, attempts, failed_attempts, first_pass, run_ids, input_tokens
            FROM outcome_facts FINAL WHERE tenant_id = {tenant:String} ORDER BY outcome_id`,
    query_params: { tenant }, format: 'JSONEachRow',
  })).json<FactRow>();
  return new Map(rows.map((r) => [r.outcome_id, r]));
}

function expectedRows(expected: ReturnType<typeof reference>): Map<string, FactRow> {
  return new Map([...expected].map(([id, f]) => [id, {
    outcome_id: id, status: f.status, cost_usd: nanosToDecimal(f.cost_nano), retry_tax_usd: nanosToDecimal(f.retry_tax_nano),
    calls: String(f.calls), attempts: f.attempts, failed_attempts: f.failed_attempts, first_pass: f.first_pass, run_ids: f.run_ids,
    input_tokens: String(f.input_tokens),
  }]));
}

function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Sends each event alone, in the given order across both topics. */
async function arrive(events: (UsageEvent | OutcomeEvent)[]): Promise<void> {
  for (const e of events) await produce(kafka, registry, 'run_id' in e ? topics.usage : topics.outcomes, [e]);
}

beforeAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topicSpecs(3));
  await admin.disconnect();
});

describe('outcome joiner in process, with an injectable clock', () => {
  let clickhouse: ClickHouseClient;
  let attributor: AttributorService;
  let joiner: JoinerService;
  let now = usageTime + 2 * hour;
  const clock = { now: () => now };

  beforeAll(async () => {
    clickhouse = await openClickHouse(env);
    await migrate(clickhouse, {}, testLogger);
    const serviceEnv = {
      ...env, ATTRIBUTOR_PORT: String(await freePort()), JOINER_PORT: String(await freePort()), ATTRIBUTOR_HOST: '127.0.0.1', JOINER_HOST: '127.0.0.1',
      ATTRIBUTOR_GROUP_ID: `attr-${randomUUID()}`, JOINER_GROUP_ID: `join-${randomUUID()}`, JOINER_VISIBILITY_LAG_MS: '200', JOINER_SETTLE_INTERVAL_MS: '3600000',
    };
    attributor = await startAttributor(loadAttributorConfig(serviceEnv), { logger: testLogger, clickhouse, registry });
    joiner = await startJoiner(loadJoinerConfig(serviceEnv), { logger: testLogger, clickhouse, registry, clock });
  });
  afterAll(async () => {
    await joiner?.stop();
    await attributor?.stop();
    await clickhouse?.close();
  });

  it('ends with the one-pass facts whatever the arrival order, duplicates included; late usage updates in place', async () => {
    const tenant = `t-${randomUUID().slice(0, 8)}`;
    await configurePrices(tenant);
    const { usage, outcomes, run } = fleet(tenant);
    await arrive(shuffled([...usage, ...outcomes, ...usage.slice(0, 5), outcomes[1]!], 7));
    const expected = expectedRows(reference(tenant, usage, outcomes));
    await eventually(async () => {
      await joiner.settle();
      const facts = await outcomeFacts(clickhouse, tenant);
      return JSON.stringify([...facts]) === JSON.stringify([...expected]) ? true : undefined;
    }, 90_000, 'outcome facts equal the one-pass reference');

    // Usage arriving long after its outcome closed: the outcome's fact changes, no new row appears.
    const late = usageEvent(tenant, { provider: 'acme', model: 'acme-large', run_id: run(0), step: 'review', input_tokens: 5_000, output_tokens: 50, occurred_at: usageTime + 3 * hour });
    await arrive([late]);
    const updated = expectedRows(reference(tenant, [...usage, late], outcomes));
    await eventually(async () => {
      await joiner.settle();
      const facts = await outcomeFacts(clickhouse, tenant);
      return JSON.stringify([...facts]) === JSON.stringify([...updated]) ? true : undefined;
    }, 90_000, 'late usage reflected');
    expect((await outcomeFacts(clickhouse, tenant)).size).toBe(6);
  });

  it('declares runs with no outcome after the horizon, and withdraws one an outcome later claims', async () => {
    const tenant = `t-${randomUUID().slice(0, 8)}`;
    await configurePrices(tenant);
    const { usage, outcomes, run } = fleet(tenant);
    await arrive([...usage, ...outcomes]);
    const noOutcome = async () => (await (await clickhouse.query({
      query: 'SELECT run_id, cost_usd FROM no_outcome_runs FINAL WHERE tenant_id = {tenant:String} ORDER BY run_id',
      query_params: { tenant }, format: 'JSONEachRow',
    })).json<{ run_id: string; cost_usd: string }>());
    const unclaimedCost = (r: number) => nanosToDecimal(usage.filter((e) => e.run_id === run(r)).reduce((sum, e) => sum + costNano(e), 0n));
    await eventually(async () => {
      await joiner.settle();
      return (await outcomeFacts(clickhouse, tenant)).size === 6 ? true : undefined;
    }, 90_000, 'joined');
    expect(await noOutcome()).toEqual([]); // within the horizon: not yet waste

    now = usageTime + 7 * 24 * hour + hour; // past the default 7-day horizon
    await joiner.settle();
    expect(await noOutcome()).toEqual([{ run_id: run(7), cost_usd: unclaimedCost(7) }, { run_id: run(8), cost_usd: unclaimedCost(8) }]);

    await arrive([outcomeEvent(tenant, { outcome_id: `${tenant}-late`, run_ids: [run(8)], status: 'accepted', occurred_at: now })]);
    await eventually(async () => {
      await joiner.settle();
      const rows = await noOutcome();
      return rows.length === 1 ? rows : undefined;
    }, 90_000, 'claimed run withdrawn');
    expect(await noOutcome()).toEqual([{ run_id: run(7), cost_usd: unclaimedCost(7) }]);
  });
});

describe('outcome joiner killed with -9 mid-batch', () => {
  it('restarts and ends with exact facts', async () => {
    const tenant = `t-${randomUUID().slice(0, 8)}`;
    await configurePrices(tenant);
    const fleets = Array.from({ length: 40 }, (_, i) => fleet(`${tenant}-${i}`));
    const usage = fleets.flatMap((f) => f.usage.map((u) => ({ ...u, tenant_id: tenant })));
    const outcomes = fleets.flatMap((f) => f.outcomes.map((o) => ({ ...o, tenant_id: tenant })));
    await produce(kafka, registry, topics.usage, usage);
    await produce(kafka, registry, topics.outcomes, outcomes);

    const workerEnv = {
      ...process.env, ...testEnv('joiner-kill'), ATTRIBUTOR_PORT: String(await freePort()), JOINER_PORT: String(await freePort()),
      ATTRIBUTOR_GROUP_ID: `attr-${randomUUID()}`, JOINER_GROUP_ID: `join-${randomUUID()}`, JOINER_VISIBILITY_LAG_MS: '200',
      JOINER_SETTLE_INTERVAL_MS: '3600000',
    };
    const worker = path.join(repoRoot, 'test/src/pipeline-worker.ts');
    const start = (): { child: ChildProcess; passes: { outcomes: number }[] } => {
      const child = spawn(process.execPath, ['--import', 'tsx', worker], { env: workerEnv, stdio: ['ignore', 'pipe', 'inherit'], cwd: repoRoot });
      const passes: { outcomes: number }[] = [];
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const parsed = JSON.parse(line) as { outcomes?: number };
        if (parsed.outcomes !== undefined) passes.push({ outcomes: parsed.outcomes });
      });
      return { child, passes };
    };

    const first = start();
    // Kill as soon as the join has written something: the batch under way is cut off.
    await eventually(async () => (first.passes.some((p) => p.outcomes > 0) ? true : undefined), 120_000, 'first facts');
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));

    const second = start();
    // Done when a pass after everything was consumed finds nothing more to change.
    await eventually(async () => {
      const offsets = await kafka.admin();
      await offsets.connect();
      try {
        for (const [group, topic] of [[workerEnv.ATTRIBUTOR_GROUP_ID, topics.usage], [workerEnv.JOINER_GROUP_ID, topics.outcomes]] as const) {
          const ends = await offsets.fetchTopicOffsets(topic);
          const [committed] = await offsets.fetchOffsets({ groupId: group, topics: [topic] });
          const behind = ends.some((e) => BigInt(committed!.partitions.find((p) => p.partition === e.partition)?.offset ?? '-1') < BigInt(e.high) && e.high !== '0');
          if (behind) return undefined;
        }
      } finally {
        await offsets.disconnect();
      }
      const count = second.passes.length;
      await eventually(async () => (second.passes.length >= count + 2 ? true : undefined), 60_000);
      return second.passes.at(-1)!.outcomes === 0 ? true : undefined;
    }, 180_000, 'caught up after restart');
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));

    const clickhouse = await openClickHouse(testEnv('joiner-kill'));
    try {
      const expected = new Map<string, FactRow>();
      for (const f of fleets) {
        const scoped = reference(tenant, f.usage.map((u) => ({ ...u, tenant_id: tenant })), f.outcomes.map((o) => ({ ...o, tenant_id: tenant })));
        for (const [id, row] of expectedRows(scoped)) expected.set(id, row);
      }
      const facts = await outcomeFacts(clickhouse, tenant);
      expect(facts.size).toBe(expected.size);
      expect(new Map([...facts].sort())).toEqual(new Map([...expected].sort()));
    } finally {
      await clickhouse.close();
    }
  });
});
