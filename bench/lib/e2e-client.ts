/**
 * End-to-end load client, run as its own process (see e2e.ts): offers usage over HTTP at fixed
 * rates (open loop: a batch every batchSize/rate seconds, whatever the answers) and watches,
 * through the api, when each batch's facts become visible. Each batch's runs also finish with an
 * outcome (POST /v1/outcomes): one batch in five sends them before its usage, the others 0.5 to
 * 5 s after their usage was accepted, in shuffled order, as business systems report them.
 *
 * Every batch carries its own workflow name (and run and event ids prefixed with it), so one
 * `GET /v1/spend?group_by=workflow` over the recent range tells, for every batch still awaited,
 * how many of its calls a user can see. A batch is visible when that count reaches the events
 * its 202 accepted; its end-to-end latency runs from that 202 to the poll answer that showed it.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { OutcomePayload, UsagePayload } from '@tokenledger/schemas';
import { usagePayloads } from './fleet.js';
import { percentile } from './stats.js';

export interface E2eStep {
  /** Offered usage events per second. */
  rate: number;
  /** Seconds of measured sending. */
  seconds: number;
}

export interface E2eRequest {
  ingestUrl: string;
  apiUrl: string;
  ingestKey: string;
  queryKey: string;
  batchSize: number;
  steps: E2eStep[];
  /** Seconds of sending at the first step's rate before it is measured (its batches not counted). */
  warmupSeconds: number;
  /** Pause between two visibility polls, ms. */
  pollMs: number;
  /** After a step's sending, how long to wait for its last batches to become visible, s. */
  drainSeconds: number;
  /** Requests in flight at most; at the cap the sender waits and falls behind its schedule. */
  maxInFlight: number;
  seed: number;
}

export interface Percentiles {
  p50: number;
  p99: number;
  max: number;
}

export interface StepResult {
  rate: number;
  seconds: number;
  /** Batches scheduled in the measured window, and those answered 202. */
  batches: number;
  acked: number;
  /** Events the 202 answers accepted, per second of the measured window. */
  ackedRate: number;
  /** Every answer but 202, and transport errors, by status or message. */
  failures: Record<string, number>;
  /** Request until its 202. */
  httpMs: Percentiles;
  /** 202 until visible through the api; Infinity for batches not visible before the drain deadline. */
  e2eMs: Percentiles;
  /** Request sent until visible. */
  sentToVisibleMs: Percentiles;
  notVisible: number;
  /** Most the sender fell behind its schedule (in-flight cap reached), ms. */
  maxSendLagMs: number;
}

export interface E2eResult {
  steps: StepResult[];
  /** Outcomes offered (one per run), accepted with 202, and joined: counted by GET /v1/unit-economics after the last step. */
  outcomes: { offered: number; accepted: number; joined: number; failures: Record<string, number> };
  polls: number;
  /** How long one visibility poll (GET /v1/spend) took: the resolution of the latencies. */
  pollMs: Percentiles;
}

export type E2eMessage =
  | { kind: 'step'; edge: 'open' | 'close'; index: number }
  | { kind: 'result'; result: E2eResult }
  | { kind: 'failed'; error: string };

interface Batch {
  workflow: string;
  /** Measured step, or -1 for warm-up batches. */
  step: number;
  occurredAt: number;
  sentAt: number;
  ackedAt?: number;
  accepted?: number;
  visibleAt?: number;
}

const POOL_EVENTS = 20_000;

function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? 0 };
}

/** The pool's events for batch `index`, made unique to it: its own workflow, run ids, event ids, and now as occurred_at. */
function batchEvents(pool: UsagePayload[], size: number, index: number, workflow: string, occurredAt: number): UsagePayload[] {
  const start = (index * size) % (pool.length - size);
  const occurred = new Date(occurredAt).toISOString();
  return pool.slice(start, start + size).map((p) => ({
    ...p,
    workflow,
    occurred_at: occurred,
    run_id: `${workflow}-${p.run_id}`,
    ...(p.event_id ? { event_id: `${workflow}:${p.event_id}` } : {}),
  }));
}

/** Out of 20 outcomes: 14 accepted, 3 rejected, 2 reworked, 1 escalated. */
const OUTCOME_STATUSES = ['accepted', 'rejected', 'reworked', 'escalated'] as const;
const statusOf = (n: number) => OUTCOME_STATUSES[n % 20 < 14 ? 0 : n % 20 < 17 ? 1 : n % 20 < 19 ? 2 : 3];

/** One outcome per run of the batch, in shuffled order, finished a second after the batch's calls. */
function batchOutcomes(events: UsagePayload[], occurredAt: number, seed: number): OutcomePayload[] {
  const runs = [...new Set(events.map((e) => e.run_id!))];
  for (let i = runs.length - 1; i > 0; i--) {
    const j = (seed * 7_919 + i * 104_729) % (i + 1);
    [runs[i], runs[j]] = [runs[j]!, runs[i]!];
  }
  const occurred = new Date(occurredAt + 1_000).toISOString();
  return runs.map((run, i) => ({
    event_id: `${run}:outcome`, occurred_at: occurred, outcome_type: 'ticket_resolved', outcome_id: `${run}-ticket`, run_ids: [run],
    status: statusOf(seed + i), value_usd: '4.50', baseline_cost_usd: '2.10', human_minutes: (seed + i) % 3, tags: { queue: 'support' },
  }));
}

export async function runE2e(o: E2eRequest, onStep: (edge: 'open' | 'close', index: number) => void = () => {}): Promise<E2eResult> {
  const pool = usagePayloads(Math.max(POOL_EVENTS, 2 * o.batchSize), o.seed);
  const batches: Batch[] = [];
  const failures = new Map<number, Record<string, number>>();
  const fail = (step: number, reason: string) => {
    const byReason = failures.get(step) ?? {};
    byReason[reason] = (byReason[reason] ?? 0) + 1;
    failures.set(step, byReason);
  };

  // The visibility poller: one GET /v1/spend at a time, over the range of the batches awaited.
  const pollTimes: number[] = [];
  let polling = true;
  const awaited = () => batches.filter((b) => b.ackedAt !== undefined && b.visibleAt === undefined && (b.accepted ?? 0) > 0);
  const poller = (async () => {
    while (polling) {
      const waiting = awaited();
      if (waiting.length > 0) {
        const from = new Date(Math.min(...waiting.map((b) => b.occurredAt)) - 5_000).toISOString();
        const to = new Date(Date.now() + 3_600_000).toISOString();
        const started = performance.now();
        const response = await fetch(`${o.apiUrl}/v1/spend?group_by=workflow&from=${from}&to=${to}`, {
          headers: { authorization: `Bearer ${o.queryKey}` },
        });
        if (response.status !== 200) throw new Error(`GET /v1/spend answered ${response.status}: ${await response.text()}`);
        const body = (await response.json()) as { rows: { workflow: string; calls: number }[] };
        const seenAt = performance.now();
        pollTimes.push(seenAt - started);
        const calls = new Map(body.rows.map((r) => [r.workflow, r.calls]));
        for (const b of waiting) if ((calls.get(b.workflow) ?? 0) >= b.accepted!) b.visibleAt = seenAt;
      }
      await sleep(o.pollMs);
    }
  })();

  const headers = { authorization: `Bearer ${o.ingestKey}`, 'content-type': 'application/json' };
  const inFlight = new Set<Promise<void>>();
  const outcomes = { offered: 0, accepted: 0, joined: 0, failures: {} as Record<string, number> };
  const outcomeFailed = (reason: string) => void (outcomes.failures[reason] = (outcomes.failures[reason] ?? 0) + 1);
  const sendOutcomes = (payloads: OutcomePayload[]): void => {
    outcomes.offered += payloads.length;
    const request = (async () => {
      try {
        const response = await fetch(`${o.ingestUrl}/v1/outcomes`, { method: 'POST', headers, body: JSON.stringify(payloads) });
        const answer = (await response.json()) as { accepted?: number };
        if (response.status !== 202) return outcomeFailed(String(response.status));
        outcomes.accepted += answer.accepted ?? 0;
      } catch (error) {
        outcomeFailed(error instanceof Error ? error.message : String(error));
      }
    })();
    inFlight.add(request);
    void request.finally(() => inFlight.delete(request));
  };
  const later = new Set<Promise<void>>();
  const sendOutcomesLater = (payloads: OutcomePayload[], delayMs: number): void => {
    const timer = sleep(delayMs).then(() => sendOutcomes(payloads));
    later.add(timer);
    void timer.finally(() => later.delete(timer));
  };
  const send = (batch: Batch, body: string, onAccepted: () => void): void => {
    const request = (async () => {
      try {
        const response = await fetch(`${o.ingestUrl}/v1/usage`, { method: 'POST', headers, body });
        const answer = (await response.json()) as { accepted?: number };
        if (response.status !== 202) return fail(batch.step, String(response.status));
        batch.accepted = answer.accepted ?? 0;
        batch.ackedAt = performance.now();
        onAccepted();
      } catch (error) {
        fail(batch.step, error instanceof Error ? error.message : String(error));
      }
    })();
    inFlight.add(request);
    void request.finally(() => inFlight.delete(request));
  };

  /** Sends at `rate` for `seconds`, batches tagged `step`; returns how far it fell behind. */
  const offer = async (step: number, rate: number, seconds: number): Promise<number> => {
    const interval = (1000 * o.batchSize) / rate;
    const start = performance.now();
    let lag = 0;
    for (let i = 0; i * interval < seconds * 1000; i++) {
      const due = start + i * interval;
      if (due > performance.now()) await sleep(due - performance.now());
      while (inFlight.size >= o.maxInFlight) await Promise.race(inFlight);
      lag = Math.max(lag, performance.now() - due);
      const index = batches.length;
      const workflow = `e2e-${o.seed}-${index}`;
      const batch: Batch = { workflow, step, occurredAt: Date.now(), sentAt: performance.now() };
      batches.push(batch);
      const events = batchEvents(pool, o.batchSize, index, workflow, batch.occurredAt);
      const finished = batchOutcomes(events, batch.occurredAt, index);
      const early = index % 5 === 0;
      if (early) sendOutcomes(finished);
      send(batch, JSON.stringify(events), () => {
        if (!early) sendOutcomesLater(finished, 500 + ((index * 7_919) % 4_500));
      });
    }
    return lag;
  };

  const results: StepResult[] = [];
  try {
    for (const [index, step] of o.steps.entries()) {
      if (index === 0 && o.warmupSeconds > 0) await offer(-1, step.rate, o.warmupSeconds);
      onStep('open', index);
      const maxSendLagMs = await offer(index, step.rate, step.seconds);
      onStep('close', index);
      await Promise.all(inFlight);
      const mine = batches.filter((b) => b.step === index);
      const deadline = performance.now() + o.drainSeconds * 1000;
      while (mine.some((b) => b.ackedAt !== undefined && b.visibleAt === undefined && (b.accepted ?? 0) > 0) && performance.now() < deadline) {
        await sleep(o.pollMs);
      }
      const acked = mine.filter((b) => b.ackedAt !== undefined);
      const expected = acked.filter((b) => (b.accepted ?? 0) > 0);
      results.push({
        rate: step.rate,
        seconds: step.seconds,
        batches: mine.length,
        acked: acked.length,
        ackedRate: acked.reduce((sum, b) => sum + (b.accepted ?? 0), 0) / step.seconds,
        failures: failures.get(index) ?? {},
        httpMs: percentiles(acked.map((b) => b.ackedAt! - b.sentAt)),
        e2eMs: percentiles(expected.map((b) => (b.visibleAt === undefined ? Infinity : Math.max(0, b.visibleAt - b.ackedAt!)))),
        sentToVisibleMs: percentiles(expected.map((b) => (b.visibleAt === undefined ? Infinity : b.visibleAt - b.sentAt))),
        notVisible: expected.filter((b) => b.visibleAt === undefined).length,
        maxSendLagMs,
      });
    }
    // Every outcome accepted is joined: wait (up to the drain time) until the api counts them all.
    while (later.size > 0) await Promise.race(later);
    await Promise.all(inFlight);
    const deadline = performance.now() + o.drainSeconds * 1000;
    const from = new Date(Math.min(...batches.map((b) => b.occurredAt)) - 5_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();
    do {
      const response = await fetch(`${o.apiUrl}/v1/unit-economics?from=${from}&to=${to}`, { headers: { authorization: `Bearer ${o.queryKey}` } });
      if (response.status !== 200) throw new Error(`GET /v1/unit-economics answered ${response.status}: ${await response.text()}`);
      outcomes.joined = ((await response.json()) as { totals: { outcomes: number } }).totals.outcomes;
      if (outcomes.joined >= outcomes.accepted) break;
      await sleep(500);
    } while (performance.now() < deadline);
  } finally {
    polling = false;
    await poller;
  }
  return { steps: results, outcomes, polls: pollTimes.length, pollMs: percentiles(pollTimes) };
}

// Run as a child process: one request in, step edges and one result out.
if (process.send) {
  process.once('disconnect', () => process.exit(1)); // the benchmark went away: stop sending
  const send = (message: E2eMessage, then: () => void = () => {}) => process.send!(message, then);
  process.once('message', (request: E2eRequest) => {
    runE2e(request, (edge, index) => send({ kind: 'step', edge, index })).then(
      (result) => send({ kind: 'result', result }, () => process.exit(0)),
      (error: unknown) => send({ kind: 'failed', error: error instanceof Error ? (error.stack ?? error.message) : String(error) }, () => process.exit(1)),
    );
  });
}
