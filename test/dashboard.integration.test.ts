// The dashboard end to end: attributor, outcome joiner and api over a private ClickHouse, the
// page driven in headless Debian Chromium (playwright-core, no downloaded browser).
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, publishConfigChanges, SchemaRegistry, type ClickHouseClient } from '@tokenledger/infra';
import { configChange, nanosToDecimal, topics, type OutcomeEvent, type UsageEvent } from '@tokenledger/schemas';
import { loadAttributorConfig, startAttributor, type AttributorService } from '@tokenledger/attributor';
import { loadJoinerConfig, startJoiner, type JoinerService } from '@tokenledger/outcome-joiner';
import { eventually, freePort, testEnv, testLogger, openMigratedStore } from './src/harness.js';
import { outcomeEvent, produce, usageEvent } from './src/fleet.js';
import { keyRingOf, startTestApi, tenantKeys } from './src/api-harness.js';

const env = testEnv('dashboard');
const kafka = createKafka(env.KAFKA_BROKERS!.split(','), 'dashboard-test', testLogger);
const registry = new SchemaRegistry({ host: env.SCHEMA_REGISTRY_URL! });
const tenant = tenantKeys('dash');
const other = tenantKeys('other');
const artifacts = fileURLToPath(new URL('./.artifacts/', import.meta.url));
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** As the machine needs them: without the background-networking flags Chromium's connections are refused. */
const chromiumArgs = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

const DAY = 86_400_000;
const today = Math.floor(Date.now() / DAY) * DAY; // 00:00 UTC
/** The page's default range: the last 30 days, today included. */
const pageRange = `from=${new Date(today - 29 * DAY).toISOString()}&to=${new Date(today + DAY).toISOString()}`;

/** 2.5 USD/MTok in, 10 USD/MTok out: exact nano-USD per event. */
const cost = (e: UsageEvent) => BigInt(e.input_tokens) * 2_500n + BigInt(e.output_tokens) * 10_000n;

/** Three weeks of a small fleet, all inside the page's default range: four projects, retries, outcomes. */
function fleet(tenantId: string, runs: number) {
  const projects = ['search', 'billing', 'support', 'onboarding'];
  const usage: UsageEvent[] = [];
  const outcomes: OutcomeEvent[] = [];
  for (let r = 0; r < runs; r++) {
    const runId = `${tenantId}-run-${r}`;
    const at = today - (1 + (r % 19)) * DAY + (r % 12) * 3_600_000;
    const call = (step: string, attempt: number, status: 'ok' | 'error', minute: number, model: string) => usageEvent(tenantId, {
      provider: 'acme', model, run_id: runId, step, attempt, status, occurred_at: at + minute * 60_000,
      input_tokens: 2_000 + 97 * r + minute, output_tokens: 300 + 11 * r, tags: { project: projects[r % projects.length]! },
      workflow: r % 2 ? 'triage' : 'codegen', user_id: `u${r % 5}`,
    });
    usage.push(call('plan', 1, 'ok', 0, 'acme-large'));
    if (r % 3 === 0) usage.push(call('act', 1, 'error', 1, 'acme-large'), call('act', 2, 'ok', 2, 'acme-large'));
    else usage.push(call('act', 1, 'ok', 1, 'acme-small'));
    if (r % 5 !== 4) {
      outcomes.push(outcomeEvent(tenantId, {
        outcome_id: `${runId}-o`, run_ids: [runId], occurred_at: at + 30 * 60_000,
        outcome_type: r % 2 ? 'ticket_resolved' : 'pr_merged', status: r % 4 === 1 ? 'rejected' : 'accepted',
        value_usd: '2.5', baseline_cost_usd: r % 2 ? '1.2' : '4.75',
      }));
    }
  }
  return { usage, outcomes };
}

const ours = fleet(tenant.tenantId, 48);
const theirs = fleet(other.tenantId, 6);
const expectedTotal = nanosToDecimal(ours.usage.reduce((s, e) => s + cost(e), 0n));

let clickhouse: ClickHouseClient;
let attributor: AttributorService;
let joiner: JoinerService;
let client: Awaited<ReturnType<typeof startTestApi>>;
let profileDir: string;
let browser: BrowserContext;

/** Opens a fresh tab (its own sessionStorage) and records what would mean a broken page. */
async function openPage(url: string, prepare?: (page: Page) => Promise<void>): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage();
  await prepare?.(page);
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (/Content Security Policy|Uncaught/i.test(message.text())) problems.push(`console: ${message.text()}`);
  });
  await page.goto(url);
  // app.js marks the document once every panel has settled (ready, error or unavailable).
  await page.locator('html[data-loaded]').waitFor({ timeout: 30_000 });
  return { page, problems };
}

const stateOf = (page: Page, panel: string) => page.locator(`#panel-${panel}`).getAttribute('data-state');

beforeAll(async () => {
  clickhouse = await openMigratedStore(env);
  await publishConfigChanges(kafka, registry, [tenant, other].map((t) => configChange({
    tenantId: t.tenantId, kind: 'price_override', itemId: 'acme', publishedBy: 'test',
    body: { provider: 'acme', model: 'acme-*', effective_from: 0, input: '2.5', cached_input: '2.5', output: '10' },
  })));
  const serviceEnv = {
    ...env, ATTRIBUTOR_PORT: String(await freePort()), JOINER_PORT: String(await freePort()), ATTRIBUTOR_HOST: '127.0.0.1', JOINER_HOST: '127.0.0.1',
    ATTRIBUTOR_GROUP_ID: `attr-${randomUUID()}`, JOINER_GROUP_ID: `join-${randomUUID()}`, JOINER_VISIBILITY_LAG_MS: '200', JOINER_SETTLE_INTERVAL_MS: '500',
  };
  attributor = await startAttributor(loadAttributorConfig(serviceEnv), { logger: testLogger, clickhouse, registry });
  joiner = await startJoiner(loadJoinerConfig(serviceEnv), { logger: testLogger, clickhouse, registry });
  await produce(kafka, registry, topics.usage, [...ours.usage, ...theirs.usage]);
  await produce(kafka, registry, topics.outcomes, [...ours.outcomes, ...theirs.outcomes]);
  client = await startTestApi(env, clickhouse, keyRingOf(tenant, other));
  await eventually(async () => {
    const r = await client.get(`/v1/spend?${pageRange}`, tenant.query);
    return (r.json.totals as { calls: number } | undefined)?.calls === ours.usage.length ? true : undefined;
  }, 60_000, 'usage facts visible');
  // Where the api already answers unit economics, let the joiner catch up before the page looks.
  await eventually(async () => {
    const r = await client.get(`/v1/unit-economics?${pageRange}&group_by=outcome_type`, tenant.query);
    return r.status !== 200 || (r.json.rows?.length ?? 0) > 0 ? true : undefined;
  }, 60_000, 'outcome facts visible');

  mkdirSync(artifacts, { recursive: true });
  profileDir = mkdtempSync(path.join(tmpdir(), 'tokenledger-chromium-'));
  browser = await chromium.launchPersistentContext(profileDir, {
    executablePath: chromiumPath,
    args: chromiumArgs,
    headless: true,
    locale: 'en-US',
    timezoneId: 'UTC',
    reducedMotion: 'reduce', // charts draw without animation, so a screenshot shows them whole
    viewport: { width: 1440, height: 1000 },
  });
});

afterAll(async () => {
  await browser?.close();
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  await client?.api.stop();
  await joiner?.stop();
  await attributor?.stop();
  await clickhouse?.close();
});

describe('dashboard: serving', () => {
  it('serves the page at / without a key, with a strict content security policy', async () => {
    const r = await client.get('/');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/html/);
    expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(r.text).toContain('id="panel-spend"');
    const again = await fetch(`${client.base}/`, { headers: { 'if-none-match': r.headers.get('etag')! } });
    expect(again.status).toBe(304);
  });

  it('serves its script, styles and the chart library; the data still needs a key', async () => {
    for (const [asset, type] of [['/dashboard/app.js', 'text/javascript'], ['/dashboard/style.css', 'text/css'], ['/dashboard/chart.umd.min.js', 'text/javascript']] as const) {
      const r = await client.get(asset);
      expect(r.status, asset).toBe(200);
      expect(r.headers.get('content-type'), asset).toContain(type);
    }
    expect((await client.get(`/v1/spend?${pageRange}`)).status).toBe(401);
  });
});

describe('dashboard: in headless Chromium', () => {
  it('renders every panel, the exact total spend in the header, and saves a screenshot', async () => {
    const { page, problems } = await openPage(`${client.base}/#key=${tenant.query}`);
    expect(await stateOf(page, 'spend')).toBe('ready');

    // The total shown is the api's exact total, which is the fleet's own sum.
    const api = await client.get(`/v1/spend?${pageRange}`, tenant.query);
    const apiTotal = (api.json.totals as { cost_usd: string }).cost_usd;
    expect(apiTotal).toBe(expectedTotal);
    const total = page.locator('#total-spend');
    expect(await total.getAttribute('data-value')).toBe(apiTotal);
    expect(await total.textContent()).toBe(new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(apiTotal as `${number}`));
    expect(await page.locator('#total-calls').textContent()).toContain(`${ours.usage.length} calls`);

    // The spend chart: one series per project, its bars adding up to the total.
    const series = (await page.evaluate('Chart.getChart("chart-spend").data.datasets.map((d) => ({ label: d.label, sum: d.data.reduce((a, b) => a + b, 0) }))')) as { label: string; sum: number }[];
    expect(series.map((s) => s.label).sort()).toEqual(['billing', 'onboarding', 'search', 'support']);
    expect(series.reduce((s, x) => s + x.sum, 0)).toBeCloseTo(Number(apiTotal), 6);

    // The other panels exist and settle: ready where the api answers, a clear message where it does not yet.
    for (const [panel, endpoint] of [
      ['unit', `/v1/unit-economics?${pageRange}&group_by=outcome_type`],
      ['waste', `/v1/waste?${pageRange}`],
      ['runs', `/v1/top-runs?${pageRange}&by=retry_tax&limit=10`],
    ] as const) {
      await expect(page.locator(`#panel-${panel}`).isVisible()).resolves.toBe(true);
      const status = (await client.get(endpoint, tenant.query)).status;
      const state = await stateOf(page, panel);
      if (status === 200) expect(state, panel).toBe('ready');
      else if (panel === 'runs' && status === 404) expect(state).toBe('unavailable');
      else {
        expect(state, panel).toBe('error');
        expect(await page.locator(`#panel-${panel} .status`).textContent()).toContain(`(${status})`);
      }
    }

    // The key left the address bar for this tab's sessionStorage.
    expect(page.url()).not.toContain(tenant.query);
    expect(await page.evaluate('sessionStorage.getItem("tokenledger.queryKey")')).toBe(tenant.query);
    expect(problems).toEqual([]);

    await page.screenshot({ path: path.join(artifacts, 'dashboard.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator('#panel-spend canvas').waitFor();
    await page.screenshot({ path: path.join(artifacts, 'dashboard-narrow.png'), fullPage: true });
    await page.close();
  });

  it('renders unit economics, waste and top runs from their contract, stubbed where the api does not answer yet', async () => {
    // Where an endpoint already answers 200 the page gets the real answer; otherwise an answer of
    // the documented shape (issue 6), built from the fleet, so the panels' rendering is checked now.
    const runs = new Map<string, { cost: bigint; retry: bigint; calls: number }>();
    for (const e of ours.usage) {
      const run = runs.get(e.run_id) ?? { cost: 0n, retry: 0n, calls: 0 };
      runs.set(e.run_id, { cost: run.cost + cost(e), retry: run.retry + (e.status === 'error' ? cost(e) : 0n), calls: run.calls + 1 });
    }
    const retryTax = [...runs.values()].reduce((s, r) => s + r.retry, 0n);
    const statusOf = new Map(ours.outcomes.map((o) => [o.run_ids[0]!, o.status]));
    const unitRow = (type: string, outcomes: number, accepted: number, cpa: string, baseline: string) => ({
      outcome_type: type, outcomes, accepted, acceptance_rate: accepted / outcomes, token_cost_usd: '0.5',
      cost_per_accepted_outcome_usd: cpa, baseline_cost_per_outcome_usd: baseline, savings_usd: '12.5', roi: 24.1,
      first_pass_yield: 0.7, retry_tax_usd: '0.1', mean_attempts: 1.3,
    });
    const stubs: Record<string, unknown> = {
      '/v1/unit-economics': {
        rows: [unitRow('pr_merged', 20, 15, '0.061234', '4.75'), unitRow('ticket_resolved', 19, 14, '0.04321', '1.2')],
        totals: unitRow('', 39, 29, '0.052987', '3.03'),
      },
      '/v1/waste': {
        retry_tax_usd: nanosToDecimal(retryTax), no_outcome_spend_usd: '0.312345', no_outcome_runs: 9, unattributed_usd: '0.05', unpriced_calls: 3,
        routing_candidates: [{
          workflow: 'codegen', current_model: 'acme-large', candidate_model: 'acme-small', current_acceptance_rate: 0.8, candidate_acceptance_rate: 0.79,
          current_mean_cost_usd: '0.061', candidate_mean_cost_usd: '0.012', current_outcomes: 20, candidate_outcomes: 6, money_at_stake_usd: '0.98',
        }],
      },
      '/v1/top-runs': {
        rows: [...runs].filter(([, r]) => r.retry > 0n).sort((a, b) => (b[1].retry > a[1].retry ? 1 : -1)).slice(0, 10)
          .map(([runId, r]) => ({ run_id: runId, retry_tax_usd: nanosToDecimal(r.retry), cost_usd: nanosToDecimal(r.cost), calls: r.calls, outcome_status: statusOf.get(runId) ?? null })),
      },
    };
    const served = new Map<string, unknown>();
    const { page, problems } = await openPage(`${client.base}/#key=${tenant.query}`, async (p) => {
      for (const [endpoint, stub] of Object.entries(stubs)) {
        // The same query the page sends (unit economics: grouped by outcome type, so rows add up to the totals).
        const real = await client.get(`${endpoint}?${pageRange}${endpoint === '/v1/unit-economics' ? '&group_by=outcome_type' : ''}`, tenant.query);
        if (real.status === 200) {
          served.set(endpoint, real.json);
          continue;
        }
        served.set(endpoint, stub);
        await p.route((url) => url.pathname === endpoint, (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(stub) }));
      }
    });
    for (const panel of ['spend', 'unit', 'waste', 'runs']) expect(await stateOf(page, panel), panel).toBe('ready');

    const unit = served.get('/v1/unit-economics') as { rows: { outcomes: number }[]; totals: { outcomes: number } };
    expect(unit.totals.outcomes).toBe(unit.rows.reduce((s, r) => s + r.outcomes, 0));
    expect(await page.locator('#total-outcomes').textContent()).toBe(new Intl.NumberFormat('en-US').format(unit.totals.outcomes));
    expect(await page.locator('#acceptance-rate').textContent()).toMatch(/^\d+(\.\d)?%$/);
    expect(await page.locator('#panel-unit tbody tr').count()).toBe(unit.rows.length);
    const waste = served.get('/v1/waste') as { retry_tax_usd: string };
    expect(await page.locator('#total-waste').getAttribute('data-value')).toBe(waste.retry_tax_usd);
    expect(await page.locator('#panel-waste .fact').count()).toBe(4);
    const top = served.get('/v1/top-runs') as { rows: { run_id: string; retry_tax_usd: string }[] };
    const firstRun = page.locator('#panel-runs tbody tr').first();
    expect(await firstRun.locator('td').first().textContent()).toBe(top.rows[0]?.run_id);
    expect(await firstRun.locator('td').nth(4).getAttribute('data-value')).toBe(top.rows[0]?.retry_tax_usd);
    expect(problems).toEqual([]);
    await page.screenshot({ path: path.join(artifacts, 'dashboard-contract.png'), fullPage: true });
    await page.close();
  });

  it("shows only the key's own tenant", async () => {
    const { page } = await openPage(`${client.base}/#key=${other.query}`);
    const theirTotal = nanosToDecimal(theirs.usage.reduce((s, e) => s + cost(e), 0n));
    expect(await page.locator('#total-spend').getAttribute('data-value')).toBe(theirTotal);
    await page.close();
  });

  it('says so when the key is wrong, instead of showing a blank page', async () => {
    const { page, problems } = await openPage(`${client.base}/#key=tlq_not-a-key`);
    const banner = page.locator('#banner');
    expect(await banner.isVisible()).toBe(true);
    expect(await banner.textContent()).toMatch(/query key was refused \(401\)/);
    expect(await stateOf(page, 'spend')).toBe('error');
    expect(await page.locator('#panel-spend .status').textContent()).toContain('401');
    expect(await page.locator('#total-spend').textContent()).toBe('—');
    expect(problems).toEqual([]);
    await page.screenshot({ path: path.join(artifacts, 'dashboard-wrong-key.png') });
    await page.close();
  });

  it('asks for a key when it has none', async () => {
    const { page } = await openPage(`${client.base}/`);
    expect(await page.locator('#banner').textContent()).toContain('Enter a query key');
    expect(await stateOf(page, 'spend')).toBe('idle');
    await page.close();
  });
});
