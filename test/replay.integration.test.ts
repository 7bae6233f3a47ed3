import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, publishConfigChanges, SchemaRegistry, type ClickHouseClient } from '@tokenledger/infra';
import { configChange, nanosToDecimal, topics, type UsageEvent } from '@tokenledger/schemas';
import { loadAttributorConfig, startAttributor, startReplay, type AttributorService } from '@tokenledger/attributor';
import { loadJoinerConfig, startJoiner, type JoinerService } from '@tokenledger/outcome-joiner';
import { repoRoot } from '@tokenledger/infra/local';
import { eventually, freePort, queryDataDir, testEnv, testLogger, openMigratedStore } from './src/harness.js';
import { outcomeEvent, produce, usageEvent } from './src/fleet.js';
import { keyRingOf, startTestApi, tenantKeys } from './src/api-harness.js';

const env = testEnv('replay');
const kafka = createKafka(env.KAFKA_BROKERS!.split(','), 'replay-test', testLogger);
const registry = new SchemaRegistry({ host: env.SCHEMA_REGISTRY_URL! });
const acme = tenantKeys('acme');
let clickhouse: ClickHouseClient;
let attributor: AttributorService;
let joiner: JoinerService;
let client: Awaited<ReturnType<typeof startTestApi>>;
const range = 'from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z';
const cost = (e: UsageEvent) => BigInt(e.input_tokens) * 2_500n + BigInt(e.output_tokens) * 10_000n;
const change = (kind: Parameters<typeof configChange>[0]['kind'], itemId: string, body: unknown) =>
  configChange({ tenantId: acme.tenantId, kind, itemId, body, publishedBy: 'test' });

// Half the calls mention PAY tickets, half OPS tickets; only PAY has an owner at first.
const usage = Array.from({ length: 80 }, (_, i) => usageEvent(acme.tenantId, {
  provider: 'acme', model: 'acme-large', run_id: `run-${i % 10}`, occurred_at: Date.UTC(2026, 9, 5, 0, i),
  input_tokens: 1_000 + i, output_tokens: 100 + i, prompt: { excerpt: i % 2 === 0 ? `fix PAY-${i}` : `restart OPS-${i}` },
}));
const outcomes = Array.from({ length: 10 }, (_, i) => outcomeEvent(acme.tenantId, {
  outcome_id: `ticket-${i}`, run_ids: [`run-${i}`], status: 'accepted', occurred_at: Date.UTC(2026, 9, 6),
}));
const spendOf = (filter: (e: UsageEvent) => boolean) => nanosToDecimal(usage.filter(filter).reduce((s, e) => s + cost(e), 0n));
const total = spendOf(() => true);
const payments = spendOf((e) => e.prompt!.excerpt!.startsWith('fix'));
const ops = spendOf((e) => e.prompt!.excerpt!.startsWith('restart'));

/** Offset of the change that gave OPS an owner: the configuration version just before it is this. */
let opsChangeOffset: number | undefined;

async function spendByProject(): Promise<Record<string, string>> {
  const r = await client.get(`/v1/spend?${range}&group_by=project`, acme.query);
  const rows = (r.json.rows as { project: string; cost_usd: string }[]).map((row) => [row.project, row.cost_usd] as const);
  return Object.fromEntries(rows.sort(([a], [b]) => a.localeCompare(b)));
}

beforeAll(async () => {
  clickhouse = await openMigratedStore(env);
  await publishConfigChanges(kafka, registry, [
    change('price_override', 'acme', { provider: 'acme', model: 'acme-*', effective_from: 0, input: '2.5', output: '10' }),
    change('ticket_prefix', 'PAY', { project: 'payments' }),
  ]);
  const serviceEnv = {
    ...env, ATTRIBUTOR_PORT: String(await freePort()), JOINER_PORT: String(await freePort()), ATTRIBUTOR_HOST: '127.0.0.1', JOINER_HOST: '127.0.0.1',
    ATTRIBUTOR_GROUP_ID: `attr-${randomUUID()}`, JOINER_GROUP_ID: `join-${randomUUID()}`, JOINER_VISIBILITY_LAG_MS: '200', JOINER_SETTLE_INTERVAL_MS: '300',
  };
  attributor = await startAttributor(loadAttributorConfig(serviceEnv), { logger: testLogger, clickhouse, registry });
  joiner = await startJoiner(loadJoinerConfig(serviceEnv), { logger: testLogger, clickhouse, registry });
  client = await startTestApi(env, clickhouse, keyRingOf(acme), {
    startReplay: (options) => startReplay({ kafka, registry, clickhouse, logger: testLogger }, options),
  });
  await produce(kafka, registry, topics.usage, usage);
  await produce(kafka, registry, topics.outcomes, outcomes);
  await eventually(async () => ((await spendByProject())['payments'] === payments ? true : undefined), 60_000, 'facts');
});

afterAll(async () => {
  await client?.api.stop();
  await joiner?.stop();
  await attributor?.stop();
  await clickhouse?.close();
});

describe('replay after a rule change', () => {
  it('dry run reports what would move, and changes nothing served', async () => {
    expect(await spendByProject()).toEqual({ '(unattributed)': ops, payments });
    [opsChangeOffset] = await publishConfigChanges(kafka, registry, [change('ticket_prefix', 'OPS', { project: 'operations' })]);
    const job = startReplay({ kafka, registry, clickhouse, logger: testLogger }, { dryRun: true });
    const status = await job.done;
    expect(status).toMatchObject({ state: 'discarded', error: null });
    expect(status.events_done).toBe(status.events_total);
    const report = job.report(acme.tenantId)!;
    expect(report.total).toMatchObject({ before_usd: total, after_usd: total, delta_usd: '0' });
    expect(report.by_project).toEqual([
      { key: '(unattributed)', before_usd: ops, after_usd: '0', delta_usd: `-${ops}` },
      { key: 'operations', before_usd: '0', after_usd: ops, delta_usd: ops },
    ]);
    expect(report.outcomes_moved).toEqual([{ from_project: '(unattributed)', to_project: 'operations', outcomes: 5 }]);
    expect(await spendByProject()).toEqual({ payments, '(unattributed)': ops });
  });

  it('moves spend to the new owner and nowhere else; the api answers old or new, never a mix', async () => {
    const before = { '(unattributed)': ops, payments };
    const after = { operations: ops, payments };
    const job = startReplay({ kafka, registry, clickhouse, logger: testLogger });
    const seen: string[] = [];
    let finished = false;
    void job.done.then(() => (finished = true));
    while (!finished) {
      const now = await spendByProject();
      seen.push(JSON.stringify(now) === JSON.stringify(before) ? 'old' : JSON.stringify(now) === JSON.stringify(after) ? 'new' : JSON.stringify(now));
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await job.done).state).toBe('done');
    expect(seen.filter((s) => s !== 'old' && s !== 'new')).toEqual([]);
    // Old numbers until the switch, new ones after: once new, never old again.
    const firstNew = seen.indexOf('new');
    expect(seen.slice(0, firstNew === -1 ? seen.length : firstNew).every((s) => s === 'old')).toBe(true);
    if (firstNew !== -1) expect(seen.slice(firstNew).every((s) => s === 'new')).toBe(true);
    expect(await spendByProject()).toEqual(after);
    const totals = (await client.get(`/v1/spend?${range}`, acme.query)).json.totals as { cost_usd: string; calls: number };
    expect(totals).toMatchObject({ cost_usd: total, calls: 80 });
  });
});

describe('replay through the admin api and the CLI', () => {
  it('needs an admin key and validates its body', async () => {
    expect((await client.call('POST', '/v1/admin/replays', acme.query, {})).status).toBe(403);
    const bad = await client.call('POST', '/v1/admin/replays', acme.admin, { dry_run: 'yes' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toContain('dry_run');
  });

  it('runs a dry run from `tokenledger replay` with progress, and prints the report', async () => {
    const run = promisify(execFile);
    const { stdout } = await run(path.join(repoRoot, 'node_modules/.bin/tokenledger'), ['replay', '--dry-run', '--api', client.base, '--key', acme.admin], {
      env: { ...process.env, ...env },
    });
    expect(stdout).toMatch(/replay [0-9a-f-]+: discarded/);
    const report = JSON.parse(stdout.slice(stdout.indexOf('\n') + 1)) as { total: { delta_usd: string }; outcomes_moved_total: number };
    expect(report).toMatchObject({ total: { delta_usd: '0' }, outcomes_moved_total: 0 });
  });
});

describe('a replay killed with -9 mid-way', () => {
  it('resumes on the next start and ends exact', async () => {
    const tenant = tenantKeys('kill');
    const killUsage = Array.from({ length: 20_000 }, (_, i) => usageEvent(tenant.tenantId, {
      provider: 'acme', model: 'acme-large', run_id: `krun-${i % 500}`, occurred_at: Date.UTC(2026, 9, 7, 0, 0, i),
      input_tokens: 500 + (i % 97), output_tokens: 50 + (i % 13), prompt: { excerpt: i % 3 === 0 ? `see OPS-${i}` : `see PAY-${i}` },
    }));
    const killChange = (kind: Parameters<typeof configChange>[0]['kind'], itemId: string, body: unknown) =>
      configChange({ tenantId: tenant.tenantId, kind, itemId, body, publishedBy: 'test' });
    await publishConfigChanges(kafka, registry, [
      killChange('price_override', 'acme', { provider: 'acme', model: 'acme-*', effective_from: 0, input: '2.5', output: '10' }),
      killChange('ticket_prefix', 'PAY', { project: 'payments' }),
    ]);
    await produce(kafka, registry, topics.usage, killUsage);

    const workerEnv = {
      ...process.env, ...testEnv('replay-kill'), ATTRIBUTOR_PORT: String(await freePort()), JOINER_PORT: String(await freePort()),
      ATTRIBUTOR_GROUP_ID: `attr-${randomUUID()}`, JOINER_GROUP_ID: `join-${randomUUID()}`, JOINER_VISIBILITY_LAG_MS: '200',
      JOINER_SETTLE_INTERVAL_MS: '3600000',
    };
    const start = (replay: boolean) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'test/src/pipeline-worker.ts')], {
        env: { ...workerEnv, WORKER_REPLAY: String(replay) }, stdio: ['ignore', 'pipe', 'inherit'], cwd: repoRoot,
      });
      const lines: { outcomes?: number; replay?: { state: string; events_done: number; events_total: number } }[] = [];
      createInterface({ input: child.stdout! }).on('line', (line) => lines.push(JSON.parse(line)));
      return { child, lines, exited: new Promise((r) => child.once('exit', r)) };
    };
    const lastReplay = (w: ReturnType<typeof start>) => [...w.lines].reverse().find((l) => l.replay)?.replay;

    // 1. The live pipeline computes projection 1.
    const live = start(false);
    await eventually(async () => {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const ends = await admin.fetchTopicOffsets(topics.usage);
        const [committed] = await admin.fetchOffsets({ groupId: workerEnv.ATTRIBUTOR_GROUP_ID, topics: [topics.usage] });
        return ends.every((e) => committed!.partitions.find((p) => p.partition === e.partition)?.offset === e.high) ? true : undefined;
      } finally {
        await admin.disconnect();
      }
    }, 180_000, 'live attributor caught up');
    live.child.kill('SIGTERM');
    await live.exited;

    // 2. OPS gets an owner; a replay starts and is killed half-way.
    await publishConfigChanges(kafka, registry, [killChange('ticket_prefix', 'OPS', { project: 'operations' })]);
    const first = start(true);
    await eventually(async () => {
      const r = lastReplay(first);
      return r?.state === 'replaying' && r.events_done > 0 ? true : undefined;
    }, 180_000, 'replay under way');
    first.child.kill('SIGKILL');
    await first.exited;

    // 3. The next start resumes the projection being built and finishes.
    const second = start(true);
    await eventually(async () => (['done', 'failed'].includes(lastReplay(second)?.state ?? '') ? true : undefined), 300_000, 'replay finished');
    expect(lastReplay(second)?.state).toBe('done');
    second.child.kill('SIGTERM');
    await second.exited;

    const rows = await queryDataDir<{ project: string; cost: string; calls: string }>(testEnv('replay-kill'),
      `SELECT project, toString(sum(cost_usd)) AS cost, toString(sum(calls)) AS calls FROM v_usage_allocations
       WHERE tenant_id = {tenant:String} GROUP BY project ORDER BY project`, { tenant: tenant.tenantId });
    const ops = killUsage.filter((e) => e.prompt!.excerpt!.includes('OPS'));
    const pay = killUsage.filter((e) => e.prompt!.excerpt!.includes('PAY'));
    const sum = (list: UsageEvent[]) => nanosToDecimal(list.reduce((s, e) => s + cost(e), 0n));
    expect(rows).toEqual([
      { project: 'operations', cost: sum(ops), calls: String(ops.length) },
      { project: 'payments', cost: sum(pay), calls: String(pay.length) },
    ]);
    const projections = await queryDataDir<{ state: string }>(testEnv('replay-kill'), 'SELECT projection, state FROM projections FINAL ORDER BY projection');
    expect(projections.filter((p) => p.state === 'serving')).toHaveLength(1);
    expect(projections.filter((p) => p.state === 'building')).toHaveLength(0);
  }, 600_000);
});

describe('replay under a named configuration version, and from a date', () => {
  it('rebuilds history as the configuration was before a change', async () => {
    const job = startReplay({ kafka, registry, clickhouse, logger: testLogger }, { configVersion: opsChangeOffset! });
    expect((await job.done).state).toBe('done');
    expect(await spendByProject()).toEqual({ '(unattributed)': ops, payments });
  });

  it('recomputes only events from the date; earlier facts are kept as served', async () => {
    const from = Date.UTC(2026, 9, 5, 0, 40);
    const job = startReplay({ kafka, registry, clickhouse, logger: testLogger }, { from });
    expect((await job.done).state).toBe('done');
    const opsBefore = spendOf((e) => e.prompt!.excerpt!.startsWith('restart') && e.occurred_at < from);
    const opsAfter = spendOf((e) => e.prompt!.excerpt!.startsWith('restart') && e.occurred_at >= from);
    expect(await spendByProject()).toEqual({ '(unattributed)': opsBefore, operations: opsAfter, payments });
    const totals = (await client.get(`/v1/spend?${range}`, acme.query)).json.totals as { cost_usd: string; calls: number };
    expect(totals).toMatchObject({ cost_usd: total, calls: 80 });
  });
});
