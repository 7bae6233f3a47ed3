/**
 * What every fault test shares: a fleet with exact totals known beforehand, the tally of what
 * reached ClickHouse (counted, lost, doubled), and the one-line result each fault reports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Kafka } from 'kafkajs';
import { inject } from 'vitest';
import type { ClickHouseClient } from '@tokenledger/infra';
import { repoRoot } from '@tokenledger/infra/local';
import { decimalToNanos, nanosToDecimal, type OutcomeEvent, type UsageEvent } from '@tokenledger/schemas';
import { eventually } from '../src/harness.js';
import { acmeCostNano, outcomeEvent, usageEvent } from '../src/fleet.js';
import './results.js';

export const day = Date.parse('2026-11-01T00:00:00Z');

/** Usage payload fields of the i-th call of a fleet: acme models, tokens varied, exact cost known. */
export function fleetCall(i: number, runs: number, runPrefix: string) {
  return {
    provider: 'acme',
    model: i % 3 === 0 ? 'acme-small' : 'acme-large',
    input_tokens: 100 + ((i * 37) % 5_000),
    output_tokens: 10 + ((i * 11) % 700),
    run_id: `${runPrefix}-run-${i % runs}`,
    step: `step-${i % 4}`,
    attempt: 1 + (i % 2),
    occurred_at: day + i * 1_000,
  };
}

/** `n` usage events of one tenant, spread over `runs` runs. */
export function usageFleet(tenant: string, n: number, runs = Math.max(1, Math.ceil(n / 5))): UsageEvent[] {
  return Array.from({ length: n }, (_, i) => usageEvent(tenant, fleetCall(i, runs, tenant)));
}

/** One accepted outcome per run (weight 1): its cost is exactly its run's cost. */
export function outcomesFor(tenant: string, usage: UsageEvent[]): OutcomeEvent[] {
  const runs = [...new Set(usage.map((e) => e.run_id))];
  return runs.map((run, i) => outcomeEvent(tenant, {
    outcome_id: `${run}-o`, run_ids: [run], status: 'accepted', occurred_at: day + 2 * 86_400_000 + i, value_usd: '1.25',
  }));
}

export const totalNano = (events: UsageEvent[]): bigint => events.reduce((sum, e) => sum + acmeCostNano(e), 0n);

/** Expected outcome cost per outcome id: the sum of its (single) run's usage. */
export function expectedOutcomeCosts(usage: UsageEvent[], outcomes: OutcomeEvent[]): Map<string, bigint> {
  const byRun = new Map<string, bigint>();
  for (const e of usage) byRun.set(e.run_id, (byRun.get(e.run_id) ?? 0n) + acmeCostNano(e));
  return new Map(outcomes.map((o) => [o.outcome_id, o.run_ids.reduce((sum, r) => sum + (byRun.get(r) ?? 0n), 0n)]));
}

export interface Tally {
  /** Rows (deduplicated with FINAL) for the expected keys. */
  counted: number;
  /** Expected keys with no row. */
  lost: number;
  /** Rows beyond one per key, plus rows for keys that were never sent. */
  doubled: number;
  /** Sum of cost over every row, nano-USD. */
  costNano: bigint;
}

/** Counts the tenant's rows of `table` by `key`: what was counted, lost and doubled against `expected`. */
export async function tally(clickhouse: ClickHouseClient, table: 'usage_facts' | 'outcome_facts', tenant: string, expected: Iterable<string>): Promise<Tally> {
  const key = table === 'usage_facts' ? 'event_id' : 'outcome_id';
  const rows = await (await clickhouse.query({
    query: `SELECT ${key} AS k, count() AS n, toString(sum(cost_usd)) AS cost FROM ${table} FINAL WHERE tenant_id = {tenant:String} GROUP BY k`,
    query_params: { tenant }, format: 'JSONEachRow',
  })).json<{ k: string; n: string; cost: string }>();
  const found = new Map(rows.map((r) => [r.k, Number(r.n)]));
  const wanted = new Set(expected);
  let counted = 0;
  let lost = 0;
  let doubled = 0;
  for (const id of wanted) {
    const n = found.get(id) ?? 0;
    if (n === 0) lost++;
    counted += Math.min(n, 1);
    doubled += Math.max(0, n - 1);
  }
  for (const [id, n] of found) if (!wanted.has(id)) doubled += n;
  return { counted, lost, doubled, costNano: rows.reduce((sum, r) => sum + decimalToNanos(r.cost), 0n) };
}

/** Polls `tally` until nothing is lost (or the deadline passes), and returns the last tally. */
export async function settledTally(clickhouse: ClickHouseClient, table: 'usage_facts' | 'outcome_facts', tenant: string, expected: string[], timeoutMs = 120_000): Promise<Tally> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const t = await tally(clickhouse, table, tenant, expected).catch(() => undefined);
    if (t && t.lost === 0) return t;
    if (Date.now() > deadline) return t ?? tally(clickhouse, table, tenant, expected);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export interface FaultResult {
  fault: string;
  sent: number;
  acknowledged: number;
  counted: number;
  lost: number;
  doubled: number;
  /** Exact money: the counted cost equals the cost of the acknowledged events to the nano-dollar. */
  exact: boolean;
  seconds: number;
  note: string;
}

/** Prints the fault's line and leaves it for the table the suite prints at the end. */
export function report(r: FaultResult): void {
  const line = `[fault] ${r.fault}: sent ${r.sent}, acknowledged ${r.acknowledged}, counted ${r.counted}, lost ${r.lost}, doubled ${r.doubled}, ` +
    `money ${r.exact ? 'exact' : 'NOT EXACT'}, ${r.seconds.toFixed(1)} s${r.note ? ` (${r.note})` : ''}`;
  process.stderr.write(`${line}\n`);
  const slug = r.fault.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 60);
  writeFileSync(path.join(inject('faultResultsDir'), `${slug}.json`), JSON.stringify(r, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
}

/** Money as the table shows it. */
export const usd = (nano: bigint): string => nanosToDecimal(nano);

/** Resolves once `group` has committed up to the high watermarks in `ends` on `topic`. */
export async function caughtUp(kafka: Kafka, group: string, topic: string, ends: { partition: number; high: string }[]): Promise<boolean> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return ends.every((e) => e.high === '0' || BigInt(committed?.partitions.find((p) => p.partition === e.partition)?.offset ?? '-1') >= BigInt(e.high));
  } finally {
    await admin.disconnect();
  }
}

export async function topicEnds(kafka: Kafka, topic: string): Promise<{ partition: number; high: string }[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, high: p.high }));
  } finally {
    await admin.disconnect();
  }
}

/** The value of a Prometheus counter or gauge (summed over its label sets matching `labels`). */
export async function metric(url: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    if (labels && !line.includes(labels)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** The attributor and joiner in one child process (test/src/pipeline-worker.ts), killable with -9. */
export interface Worker {
  child: ChildProcess;
  /** Settle passes printed so far: outcome facts changed in each. */
  passes: number[];
  ready: Promise<void>;
  exited: Promise<void>;
}

export function startWorker(env: Record<string, string | undefined>): Worker {
  const script = path.join(repoRoot, 'test/src/pipeline-worker.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', script], { env, stdio: ['ignore', 'pipe', 'inherit'], cwd: repoRoot });
  const passes: number[] = [];
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      const parsed = JSON.parse(line) as { ready?: boolean; outcomes?: number };
      if (parsed.ready) markReady();
      if (parsed.outcomes !== undefined) passes.push(parsed.outcomes);
    } catch {
      // not ours
    }
  });
  return { child, passes, ready, exited };
}

export async function killWorker(w: Worker, signal: NodeJS.Signals): Promise<void> {
  if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill(signal);
  await w.exited;
}

/** Waits for two more settle passes and succeeds when the last changed nothing. */
export async function joinerQuiet(w: Worker, timeoutMs = 60_000): Promise<boolean> {
  const count = w.passes.length;
  await eventually(async () => (w.passes.length >= count + 2 ? true : undefined), timeoutMs, 'two settle passes');
  return w.passes.at(-1) === 0;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const seconds = (since: number): number => (Date.now() - since) / 1_000;
