/**
 * Governance against real Kafka, registry and ClickHouse: budgets, stop-loss rules and webhooks
 * configured through the api (config events), facts built by the attributor and the joiner from a
 * generated fleet that crosses every rule, and the api's evaluator (with an injected clock) sending
 * alerts to the ClickHouse alerts table, the alerts topic and a webhook receiver that fails at
 * first. Then: a restart sends nothing twice, moving the clock clears every rule once, and 50
 * concurrent reservations never overshoot a budget.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AvroDecoder, createKafka, Projections, publishConfigChanges, SchemaRegistry, type ClickHouseClient } from '@tokenledger/infra';
import {
  alertEventAvro, alertEventSchema, decimalToNanos, divideRoundHalfEven, nanosToDecimal, topics,  type AlertEvent, type OutcomeEvent, type UsageEvent,
} from '@tokenledger/schemas';
import { loadAttributorConfig, startAttributor, startReplay, type AttributorService } from '@tokenledger/attributor';
import { loadJoinerConfig, startJoiner, type JoinerService } from '@tokenledger/outcome-joiner';
import type { Consumer } from 'kafkajs';
import { eventually, freePort, testEnv, testLogger, openMigratedStore } from './src/harness.js';
import { acmeCostNano, acmePriceOverride, outcomeEvent, produce, usageEvent } from './src/fleet.js';
import { keyRingOf, startTestApi, tenantKeys } from './src/api-harness.js';

const env = testEnv('governance');
const kafka = createKafka(env.KAFKA_BROKERS!.split(','), 'governance-test', testLogger);
const registry = new SchemaRegistry({ host: env.SCHEMA_REGISTRY_URL! });
const alice = tenantKeys('alice');
const bob = tenantKeys('bob');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 10, 20, 12);
const NOVEMBER = Date.UTC(2026, 10, 1);
const DECEMBER = Date.UTC(2026, 11, 1);
let now = NOW;
const clock = { now: () => now };
const apiEnv = { ...env, API_GOVERNANCE_INTERVAL_MS: '300', API_WEBHOOK_RETRY_BASE_MS: '200', API_WEBHOOK_RETRY_MAX_MS: '1000' };

/**
 * Alice's fleet:
 * - project `search`: 20 calls over November, no outcomes (spend with no outcome);
 * - project `support`: 10 ticket outcomes in the last week, 3 accepted, every other run retrying a
 *   failed call, baselines far below their token cost; plus 3 idle runs no outcome claims.
 */
function fleet(tenant: string) {
  const usage: UsageEvent[] = [];
  const outcomes: OutcomeEvent[] = [];
  const call = (run: string, at: number, project: string, p: { input: number; output: number; attempt?: number; status?: 'ok' | 'error'; step?: string }) =>
    usage.push(usageEvent(tenant, {
      provider: 'acme', model: 'acme-large', run_id: `${tenant}-${run}`, occurred_at: at, workflow: 'triage', step: p.step ?? 'act',
      attempt: p.attempt ?? 1, status: p.status ?? 'ok', input_tokens: p.input, output_tokens: p.output, tags: { project },
    }));
  for (let i = 0; i < 20; i++) call(`search-${i}`, NOVEMBER + DAY + i * 22 * HOUR, 'search', { input: 10_000 + 37 * i, output: 1_000 + i });
  for (let k = 0; k < 10; k++) {
    const at = NOW - 6 * DAY + k * 12 * HOUR;
    if (k % 2 === 0) call(`ticket-${k}`, at, 'support', { input: 3_000 + k, output: 400, status: 'error' });
    call(`ticket-${k}`, at + 60_000, 'support', { input: 3_100 + k, output: 420, attempt: k % 2 === 0 ? 2 : 1 });
    outcomes.push(outcomeEvent(tenant, {
      outcome_id: `${tenant}-ticket-${k}`, outcome_type: 'ticket_resolved', status: k < 3 ? 'accepted' : 'rejected', occurred_at: at + HOUR,
      run_ids: [`${tenant}-ticket-${k}`], tags: { project: 'support' }, baseline_cost_usd: '0.000001',
    }));
  }
  for (let j = 0; j < 3; j++) call(`idle-${j}`, NOW - 3 * DAY + j * HOUR, 'support', { input: 5_000, output: 500 });
  return { usage, outcomes };
}

const aliceFleet = fleet(alice.tenantId);
const burnOf = (project: string, from: number, to: number) =>
  aliceFleet.usage.filter((u) => u.tags.project === project && u.occurred_at >= from && u.occurred_at < to).reduce((s, u) => s + acmeCostNano(u), 0n);
const searchBurn = burnOf('search', NOVEMBER, NOW);
const supportBurn = burnOf('support', NOVEMBER, NOW);
/** Linear run-rate forecast, worked out here. */
const forecast = (burn: bigint) => burn + divideRoundHalfEven(burn * BigInt(DECEMBER - NOW), BigInt(NOW - NOVEMBER));

// A webhook receiver that answers 500 to its first three requests, then 200; it checks every signature.
const SECRET = 'whsec-0123456789abcdef';
interface Received { alertId: string; status: number; signatureOk: boolean; body: AlertEvent }
const received: Received[] = [];
let receiver: Server;
let receiverUrl = '';

let clickhouse: ClickHouseClient;
let attributor: AttributorService;
let joiner: JoinerService;
let client: Awaited<ReturnType<typeof startTestApi>>;
let alertsConsumer: Consumer;
const onTopic = new Map<string, AlertEvent[]>();

async function putConfig(kind: string, id: string, body: unknown) {
  const r = await client.call('PUT', `/v1/config/${kind}/${id}`, alice.admin, { body });
  expect(r.status, `${kind} ${id}: ${r.text}`).toBe(200);
}

const alertsOf = async () => ((await client.get('/v1/alerts?limit=1000', alice.query)).json.alerts ?? []) as (Omit<AlertEvent, 'window_start' | 'created_at'> & { window_start: string })[];
const delivered = () => received.filter((r) => r.status === 200);
const servedProjection = async () => {
  const projections = new Projections(clickhouse);
  await projections.refresh();
  return projections.served();
};

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const timestamp = String(req.headers['x-tokenledger-timestamp']);
      const expected = `sha256=${createHmac('sha256', SECRET).update(`${timestamp}.${raw}`).digest('hex')}`;
      const status = received.length < 3 ? 500 : 200;
      received.push({ alertId: String(req.headers['x-tokenledger-alert-id']), status, signatureOk: req.headers['x-tokenledger-signature'] === expected, body: JSON.parse(raw) as AlertEvent });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

  clickhouse = await openMigratedStore(env);
  await publishConfigChanges(kafka, registry, [acmePriceOverride(alice.tenantId), acmePriceOverride(bob.tenantId)]);
  const serviceEnv = {
    ...env, ATTRIBUTOR_PORT: String(await freePort()), JOINER_PORT: String(await freePort()), ATTRIBUTOR_HOST: '127.0.0.1', JOINER_HOST: '127.0.0.1',
    ATTRIBUTOR_GROUP_ID: `attr-${randomUUID()}`, JOINER_GROUP_ID: `join-${randomUUID()}`, JOINER_VISIBILITY_LAG_MS: '200', JOINER_SETTLE_INTERVAL_MS: '3600000',
  };
  attributor = await startAttributor(loadAttributorConfig(serviceEnv), { logger: testLogger, clickhouse, registry });
  joiner = await startJoiner(loadJoinerConfig(serviceEnv), { logger: testLogger, clickhouse, registry, clock: { now: () => DECEMBER } });
  await produce(kafka, registry, topics.outcomes, aliceFleet.outcomes);
  await produce(kafka, registry, topics.usage, aliceFleet.usage);
  client = await startTestApi(apiEnv, clickhouse, keyRingOf(alice, bob), { clock });

  // Facts settled before any rule exists, so no rule is judged on half the data.
  const range = 'from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z';
  await eventually(async () => {
    await joiner.settle();
    const [spend, ue, waste] = await Promise.all([
      client.get(`/v1/spend?${range}`, alice.query), client.get(`/v1/unit-economics?${range}`, alice.query), client.get(`/v1/waste?${range}`, alice.query),
    ]);
    const calls = (spend.json.totals as { calls: number } | undefined)?.calls;
    const outcomes = (ue.json.totals as { outcomes: number } | undefined)?.outcomes;
    return calls === aliceFleet.usage.length && outcomes === 10 && waste.json.no_outcome_runs === 23 ? true : undefined;
  }, 120_000, 'facts settled');

  const decoder = new AvroDecoder(registry, alertEventAvro);
  alertsConsumer = kafka.consumer({ groupId: `alerts-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await alertsConsumer.connect();
  await alertsConsumer.subscribe({ topic: topics.alerts, fromBeginning: true });
  await alertsConsumer.run({
    eachMessage: async ({ message }) => {
      const alert = alertEventSchema.parse(await decoder.decode(message.value!));
      if (alert.tenant_id !== alice.tenantId) return;
      expect(message.key?.toString()).toBe(alert.alert_id);
      onTopic.set(alert.alert_id, [...(onTopic.get(alert.alert_id) ?? []), alert]);
    },
  });

  // The webhook first, so every alert finds it.
  await putConfig('webhook', 'ops', { url: receiverUrl, secret: SECRET });
  await putConfig('budget', 'search-m', { scope: 'project', key: 'search', period: 'month', amount_usd: nanosToDecimal((searchBurn * 12n) / 10n), value_owner: 'ana' });
  await putConfig('budget', 'support-m', { scope: 'project', key: 'support', period: 'month', amount_usd: nanosToDecimal(supportBurn / 2n), value_owner: 'bo', warn_at_pct: 80 });
  await putConfig('budget', 'gateway-m', { scope: 'project', key: 'gateway', period: 'month', amount_usd: '10', value_owner: 'cy' });
  const ticket = { outcome_type: 'ticket_resolved' };
  await putConfig('stop_loss_rule', 'r-cpa', { kind: 'cost_per_accepted_outcome_above', limit_usd: '0.000001', scope: ticket, window_days: 7 });
  await putConfig('stop_loss_rule', 'r-accept', { kind: 'acceptance_rate_below', floor: 0.5, scope: ticket, window_days: 7, min_outcomes: 5 });
  await putConfig('stop_loss_rule', 'r-accept-ok', { kind: 'acceptance_rate_below', floor: 0.1, scope: ticket, window_days: 7 });
  await putConfig('stop_loss_rule', 'r-retry', { kind: 'retry_tax_share_above', share: 0.05, scope: { project: 'support' }, window_days: 7 });
  await putConfig('stop_loss_rule', 'r-idle', { kind: 'no_outcome_share_above', share: 0.1, scope: { project: 'support' }, window_days: 7 });
  await putConfig('stop_loss_rule', 'r-baseline', { kind: 'token_cost_above_baseline', scope: ticket, window_days: 7 });
}, 240_000);

afterAll(async () => {
  await alertsConsumer?.disconnect();
  await client?.api.stop();
  await joiner?.stop();
  await attributor?.stop();
  await clickhouse?.close();
  await new Promise((resolve) => receiver?.close(resolve));
});

const TRIPS = ['budget:search-m:forecast', 'budget:support-m:exceeded', 'budget:support-m:forecast', 'r-accept', 'r-baseline', 'r-cpa', 'r-idle', 'r-retry'];

describe('budgets and stop-loss rules trip', () => {
  it('sends one trip alert per crossed rule: to the alerts table, the alerts topic and the webhook (which failed at first), signed', async () => {
    const alerts = await eventually(async () => {
      const list = await alertsOf();
      return list.length >= TRIPS.length && delivered().length >= TRIPS.length ? list : undefined;
    }, 60_000, 'trip alerts delivered');
    expect(alerts.map((a) => a.rule_id).sort()).toEqual(TRIPS);
    expect(alerts.every((a) => a.transition === 'trip')).toBe(true);
    // The receiver refused three requests; each alert still arrived, once, signed.
    expect(received.slice(0, 3).every((r) => r.status === 500)).toBe(true);
    expect(delivered().map((r) => r.alertId).sort()).toEqual(alerts.map((a) => a.alert_id).sort());
    expect(received.every((r) => r.signatureOk)).toBe(true);
    for (const r of received) expect(r.body.alert_id).toBe(r.alertId);
    await eventually(async () => (onTopic.size === TRIPS.length ? true : undefined), 30_000, 'alerts on the topic');
    expect([...onTopic.keys()].sort()).toEqual(alerts.map((a) => a.alert_id).sort());

    // The evaluator's Prometheus metrics tell the same story.
    const metrics = (await client.get('/metrics')).text;
    const metric = (name: string, label = '') => Number(metrics.split('\n')
      .find((line) => line.startsWith(`${name}{`) && line.includes(label))?.split(' ').at(-1) ?? NaN);
    expect(metric('tokenledger_governance_alerts_decided_total', 'transition="trip"')).toBe(TRIPS.length);
    expect(metric('tokenledger_governance_alerts_published_total')).toBe(TRIPS.length);
    expect(metric('tokenledger_governance_webhook_deliveries_total', 'result="failed"')).toBe(3);
    expect(metric('tokenledger_governance_webhook_deliveries_total', 'result="delivered"')).toBe(TRIPS.length);
    expect(metric('tokenledger_governance_passes_total', 'result="ok"')).toBeGreaterThan(0);
    expect(metric('tokenledger_governance_evaluated_projection')).toBe(client.api.evaluator!.lastProjection);
  });

  it('reports every envelope: burn, linear run-rate forecast, warning and over flags', async () => {
    const r = await client.get('/v1/budgets', alice.query);
    expect(r.status).toBe(200);
    const budgets = r.json.budgets as Record<string, unknown>[];
    const byId = new Map(budgets.map((b) => [b.budget_id, b]));
    expect(byId.get('search-m')).toMatchObject({
      burn_usd: nanosToDecimal(searchBurn), forecast_usd: nanosToDecimal(forecast(searchBurn)), warning: true, over: false,
      period_start: '2026-11-01T00:00:00.000Z', period_end: '2026-12-01T00:00:00.000Z', value_owner: 'ana',
    });
    expect(byId.get('support-m')).toMatchObject({ burn_usd: nanosToDecimal(supportBurn), warning: true, over: true });
    expect(byId.get('gateway-m')).toMatchObject({ burn_usd: '0', warning: false, over: false });
    // Bob sees none of it.
    expect((await client.get('/v1/budgets', bob.query)).json.budgets).toEqual([]);
    expect((await client.get('/v1/alerts', bob.query)).json.alerts).toEqual([]);
  });

  it('needs a query key for budgets and alerts, and an ingest or admin key to reserve', async () => {
    expect((await client.get('/v1/budgets')).status).toBe(401);
    expect((await client.get('/v1/alerts', alice.ingest)).status).toBe(403);
    expect((await client.call('POST', '/v1/budgets/reserve', alice.query, { scope: 'project', key: 'gateway', estimated_cost_usd: '1' })).status).toBe(403);
    const bad = await client.call('POST', '/v1/budgets/reserve', alice.ingest, { scope: 'project', key: 'gateway', estimated_cost_usd: 'lots' });
    expect(bad.status).toBe(400);
    expect((await client.call('POST', '/v1/budgets/reserve', alice.ingest, { scope: 'project', key: 'nothing', estimated_cost_usd: '1' })).status).toBe(404);
    expect((await client.call('POST', '/v1/budgets/reserve', bob.ingest, { scope: 'project', key: 'gateway', estimated_cost_usd: '1' })).status).toBe(404);
  });
});

describe('idempotent across restarts', () => {
  it('a restarted api evaluates again and sends no alert twice', async () => {
    const before = (await alertsOf()).length;
    const deliveredBefore = delivered().length;
    await client.api.stop();
    client = await startTestApi(apiEnv, clickhouse, keyRingOf(alice, bob), { clock });
    const evaluator = client.api.evaluator!;
    // Several full passes of the new evaluator.
    for (let i = 0; i < 3; i++) await evaluator.tick();
    expect((await alertsOf()).length).toBe(before);
    expect(delivered().length).toBe(deliveredBefore);
    expect([...onTopic.values()].every((copies) => copies.length === 1)).toBe(true);
  });
  it('a replay rebuilds the facts into a new projection: the evaluator, reading it after the switch, sends no alert twice', async () => {
    const budgetsBefore = (await client.get('/v1/budgets', alice.query)).json.budgets;
    const alertsBefore = await alertsOf();
    const deliveredBefore = delivered().length;
    const servedBefore = await servedProjection();
    const job = startReplay({ kafka, registry, clickhouse, logger: testLogger });
    // The evaluator keeps ticking (every 300 ms) through the replay and its switch. This test's
    // joiner settles only when told to: the replay waits for it to join the new projection.
    let replaying = true;
    const settling = (async () => {
      while (replaying) {
        await joiner.settle();
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    })();
    const finished = await job.done.finally(() => (replaying = false));
    await settling;
    expect(finished.state, finished.error ?? '').toBe('done');
    await eventually(async () => ((await servedProjection()) !== servedBefore && client.api.evaluator!.lastProjection !== servedBefore ? true : undefined), 30_000, 'api reads the new projection');
    for (let i = 0; i < 3; i++) await client.api.evaluator!.tick();
    expect((await client.get('/v1/budgets', alice.query)).json.budgets).toEqual(budgetsBefore);
    expect(await alertsOf()).toEqual(alertsBefore);
    expect(delivered().length).toBe(deliveredBefore);
    expect([...onTopic.values()].every((copies) => copies.length === 1)).toBe(true);
  }, 240_000);
});

describe('reservations', () => {
  it('50 concurrent reservations against a budget that allows 13 never overshoot, and survive a restart', async () => {
    // 10 USD, 0.75 each: 13 fit (9.75), the 14th would not.
    const answers = await Promise.all(Array.from({ length: 50 }, () =>
      client.call('POST', '/v1/budgets/reserve', alice.ingest, { scope: 'project', key: 'gateway', estimated_cost_usd: '0.75', ttl_seconds: 600 })));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const allowed = answers.filter((a) => a.json.allowed === true);
    expect(allowed).toHaveLength(13);
    expect(new Set(allowed.map((a) => a.json.reservation_id)).size).toBe(13);
    const status = async () => new Map((((await client.get('/v1/budgets', alice.query)).json.budgets ?? []) as Record<string, unknown>[]).map((b) => [b.budget_id, b]));
    expect((await status()).get('gateway-m')).toMatchObject({ reserved_usd: '9.75', remaining_usd: '0.25' });

    await client.api.stop();
    client = await startTestApi(apiEnv, clickhouse, keyRingOf(alice, bob), { clock });
    expect((await status()).get('gateway-m')).toMatchObject({ reserved_usd: '9.75' });
    const more = await client.call('POST', '/v1/budgets/reserve', alice.ingest, { scope: 'project', key: 'gateway', estimated_cost_usd: '0.5' });
    expect(more.json.allowed).toBe(false);

    // A usage event tagged with a reservation settles it: its real cost replaces the estimate.
    const settled = allowed[0]!.json.reservation_id as string;
    const event = usageEvent(alice.tenantId, {
      provider: 'acme', model: 'acme-large', occurred_at: NOW - HOUR, input_tokens: 1_000, output_tokens: 100, tags: { project: 'gateway', reservation_id: settled },
    });
    await produce(kafka, registry, topics.usage, [event]);
    const cost = acmeCostNano(event);
    await eventually(async () => {
      const g = (await status()).get('gateway-m');
      return g?.reserved_usd === '9' && g.burn_usd === nanosToDecimal(cost) ? g : undefined;
    }, 60_000, 'reservation settled');
    expect((await status()).get('gateway-m')?.remaining_usd).toBe(nanosToDecimal(decimalToNanos('1') - cost));

    // Expired reservations stop counting.
    now = NOW + 601_000;
    expect((await status()).get('gateway-m')).toMatchObject({ reserved_usd: '0' });
    now = NOW;
  });
});

describe('rules clear', () => {
  it('a later clock (new period, empty windows) clears every tripped rule once', async () => {
    now = Date.UTC(2027, 0, 15, 12);
    const alerts = await eventually(async () => {
      const list = await alertsOf();
      return list.filter((a) => a.transition === 'clear').length >= TRIPS.length ? list : undefined;
    }, 60_000, 'clear alerts');
    expect(alerts.filter((a) => a.transition === 'clear').map((a) => a.rule_id).sort()).toEqual(TRIPS);
    await eventually(async () => (delivered().length === 2 * TRIPS.length ? true : undefined), 30_000, 'clears delivered');
    await client.api.evaluator!.tick();
    await client.api.evaluator!.tick();
    expect((await alertsOf()).length).toBe(2 * TRIPS.length);
    expect(delivered().length).toBe(2 * TRIPS.length);
    expect(new Set(delivered().map((r) => r.alertId)).size).toBe(2 * TRIPS.length);
  });
});
