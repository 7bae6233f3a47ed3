import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import {
  BatchConsumer, configFeed, Projections, type ClickHouseClient, type Decoded, type Logger, type SchemaRegistry,
} from '@tokenledger/infra';
import { topics, usageEventAvro, usageEventSchema, type UsageEvent } from '@tokenledger/schemas';
import { ConfigStore } from './config-store.js';
import { usageFactWriter } from './usage-writer.js';
import { whatIf, type WhatIfReport } from './what-if.js';

export interface ReplayOptions {
  /** Recompute only events that occurred from this instant (epoch ms); earlier facts are copied. */
  from?: number;
  /** Configuration version to recompute under; 0 or absent: the latest, following new changes. */
  configVersion?: number;
  /** Build, compare and report, then discard instead of switching. */
  dryRun?: boolean;
  /** How long to wait for the outcome joiner to join the new projection (ms). */
  joinTimeoutMs?: number;
}

export interface ReplayDeps {
  kafka: Kafka;
  registry: SchemaRegistry;
  clickhouse: ClickHouseClient;
  logger: Logger;
}

export type ReplayState = 'starting' | 'replaying' | 'joining' | 'comparing' | 'switching' | 'done' | 'discarded' | 'failed';

export interface ReplayStatus {
  id: string;
  projection: number;
  replacing: number;
  state: ReplayState;
  dry_run: boolean;
  events_total: number;
  events_done: number;
  rate_per_second: number;
  eta_seconds: number | null;
  started_at: string;
  finished_at: string | null;
  error: string | null;
}

export interface ReplayJob {
  id: string;
  status(): ReplayStatus;
  /** The what-if report for a tenant, once compared. */
  report(tenantId: string): WhatIfReport | undefined;
  done: Promise<ReplayStatus>;
}

/** Live writers and readers re-read the projections table every second; after this, all have. */
const writersNoticeMs = 2_500;
/** A projection's rows: its facts, and the api's rollups of them (infra/migrations 0009, 0010, 0012). */
const tables = [
  'usage_facts', 'outcome_facts', 'no_outcome_runs', 'usage_hourly', 'usage_hourly_versions', 'run_totals',
  'outcome_hourly', 'outcome_hourly_versions', 'outcome_hourly_members', 'rollup_progress',
] as const;

/**
 * Rebuilds the facts into a new projection from the topics while the api keeps serving the
 * old one, then makes it the served one with a single insert and deletes the old.
 *
 *   1. register projection N+1 as `building`: live writers start feeding it too;
 *   2. replay the usage topic from its beginning (or `from`) into N+1 with a consumer group of
 *      its own, until it reaches the end offsets taken once live writers feed N+1;
 *   3. let the outcome joiner join N+1 (it joins every active projection);
 *   4. compare N+1 with N (the what-if report), then switch, or discard on a dry run.
 * An interrupted replay leaves N+1 `building` with its group's committed offsets: the next
 * replay resumes it rather than starting over.
 */
export function startReplay(deps: ReplayDeps, options: ReplayOptions = {}): ReplayJob {
  const id = randomUUID();
  const startedAt = Date.now();
  const log = deps.logger.child({ replay: id });
  const status: ReplayStatus = {
    id, projection: 0, replacing: 0, state: 'starting', dry_run: options.dryRun ?? false, events_total: 0, events_done: 0,
    rate_per_second: 0, eta_seconds: null, started_at: new Date(startedAt).toISOString(), finished_at: null, error: null,
  };
  const reports = new Map<string, WhatIfReport>();

  const run = async (): Promise<void> => {
    const projections = new Projections(deps.clickhouse);
    const rows = await projections.refresh();
    status.replacing = projections.served();
    const resumed = rows.find((r) => r.state === 'building');
    const configVersion = resumed?.configVersion ?? options.configVersion ?? 0;
    status.projection = resumed?.projection ?? Math.max(...rows.map((r) => r.projection)) + 1;
    if (!resumed) {
      await insertProjection(deps.clickhouse, status.projection, 'building', configVersion, `replay ${id}`);
      await new Promise((r) => setTimeout(r, writersNoticeMs));
      if (options.from !== undefined) await copyBefore(deps.clickhouse, status.replacing, status.projection, options.from);
    }
    log.info({ event: 'replay_started', projection: status.projection, replacing: status.replacing, resumed: Boolean(resumed) }, 'replay started');

    status.state = 'replaying';
    await replayUsage(deps, status, configVersion, options.from, log);

    status.state = 'joining';
    await waitForJoin(deps.clickhouse, status.projection, options.joinTimeoutMs ?? 120_000);

    status.state = 'comparing';
    for (const report of await whatIf(deps.clickhouse, status.replacing, status.projection)) reports.set(report.tenant_id, report);

    if (options.dryRun) {
      await insertProjection(deps.clickhouse, status.projection, 'retired', configVersion, `dry run ${id}`);
      await deleteProjection(deps.clickhouse, status.projection);
      status.state = 'discarded';
    } else {
      status.state = 'switching';
      // One insert: readers see the old projection served, or the new one, never neither.
      await deps.clickhouse.insert({
        table: 'projections',
        values: [
          { projection: status.projection, state: 'serving', config_version: configVersion, note: `replay ${id}` },
          { projection: status.replacing, state: 'retired', config_version: 0, note: `replaced by ${status.projection}` },
        ],
        format: 'JSONEachRow',
      });
      // Readers re-read the pointer every second: delete the old rows only once they have moved on.
      await new Promise((r) => setTimeout(r, writersNoticeMs));
      await deleteProjection(deps.clickhouse, status.replacing);
      status.state = 'done';
    }
    log.info({ event: 'replay_finished', state: status.state, events: status.events_done }, 'replay finished');
  };

  const done = run().then(
    () => finish(status),
    (error: unknown) => {
      status.state = 'failed';
      status.error = error instanceof Error ? error.message : String(error);
      log.error({ event: 'replay_failed', err: error }, 'replay failed');
      return finish(status);
    },
  );
  return { id, status: () => ({ ...status }), report: (tenantId) => reports.get(tenantId), done };
}

function finish(status: ReplayStatus): ReplayStatus {
  status.finished_at = new Date().toISOString();
  status.eta_seconds = 0;
  return { ...status };
}

async function insertProjection(clickhouse: ClickHouseClient, projection: number, state: string, configVersion: number, note: string): Promise<void> {
  await clickhouse.insert({ table: 'projections', values: [{ projection, state, config_version: configVersion, note }], format: 'JSONEachRow' });
}

/** Facts before `from` are not recomputed: the new projection starts with the served ones. */
async function copyBefore(clickhouse: ClickHouseClient, served: number, target: number, from: number): Promise<void> {
  await clickhouse.command({
    // The filter sits in a subquery: beside `REPLACE (... AS projection)` a WHERE on projection
    // would read the replaced value and match nothing.
    query: `INSERT INTO usage_facts SELECT * REPLACE ({target:UInt32} AS projection) FROM (
              SELECT * FROM usage_facts FINAL
              WHERE projection = {served:UInt32} AND occurred_at < fromUnixTimestamp64Milli({from:Int64}))`,
    query_params: { served, target, from },
  });
}

async function deleteProjection(clickhouse: ClickHouseClient, projection: number): Promise<void> {
  for (const table of tables) {
    await clickhouse.command({ query: `ALTER TABLE ${table} DELETE WHERE projection = {projection:UInt32}`, query_params: { projection } });
  }
}

/** Replays the usage topic into the new projection until it reaches the end offsets taken now. */
async function replayUsage(deps: ReplayDeps, status: ReplayStatus, configVersion: number, from: number | undefined, log: Logger): Promise<void> {
  const groupId = `tokenledger-replay-p${status.projection}`;
  const admin = deps.kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topics.usage);
    const target = new Map(ends.map((p) => [p.partition, BigInt(p.high)]));
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topics.usage] });
    const startAt = new Map<number, bigint>();
    const fresh = committed!.partitions.every((p) => p.offset === '-1');
    if (fresh && from !== undefined) {
      // Start where the broker's timestamps reach `from`: events received earlier occurred earlier.
      const seek = await admin.fetchTopicOffsetsByTimestamp(topics.usage, from);
      await admin.setOffsets({ groupId, topic: topics.usage, partitions: seek.map((p) => ({ partition: p.partition, offset: p.offset })) });
      for (const p of seek) startAt.set(p.partition, BigInt(p.offset));
    } else {
      for (const p of ends) {
        const c = committed!.partitions.find((x) => x.partition === p.partition)?.offset ?? '-1';
        startAt.set(p.partition, c === '-1' ? BigInt(p.low) : BigInt(c));
      }
    }
    const total = (m: Map<number, bigint>) => [...m].reduce((sum, [partition, offset]) => sum + Number((target.get(partition) ?? 0n) - offset), 0);
    status.events_total = total(startAt);

    const store = new ConfigStore();
    const feed = configFeed(deps.kafka, deps.registry, store, log);
    await feed.start();
    const write = usageFactWriter(deps.clickhouse, store, () => [{ projection: status.projection, state: 'building', configVersion }]);
    const consumer = new BatchConsumer<UsageEvent>({
      name: 'replay',
      kafka: deps.kafka,
      groupId,
      topic: topics.usage,
      registry: deps.registry,
      readerSchema: usageEventAvro,
      contract: usageEventSchema,
      log,
      metrics: new Registry(),
      handle: (messages: Decoded<UsageEvent>[]) => write(from === undefined ? messages : messages.filter((m) => m.value.occurred_at >= from)),
    });
    const began = Date.now();
    await consumer.start();
    try {
      for (;;) {
        const [now] = await admin.fetchOffsets({ groupId, topics: [topics.usage] });
        const position = new Map(now!.partitions.map((p) => [p.partition, p.offset === '-1' ? (startAt.get(p.partition) ?? 0n) : BigInt(p.offset)]));
        status.events_done = status.events_total - total(position);
        const seconds = (Date.now() - began) / 1000;
        status.rate_per_second = seconds > 0 ? Math.round(status.events_done / seconds) : 0;
        status.eta_seconds = status.rate_per_second > 0 ? Math.ceil((status.events_total - status.events_done) / status.rate_per_second) : null;
        if ([...target].every(([partition, end]) => (position.get(partition) ?? 0n) >= end)) break;
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      await consumer.stop();
      await feed.stop();
    }
  } finally {
    await admin.disconnect();
  }
}

/** Waits until the outcome joiner has joined everything written to the projection so far. */
async function waitForJoin(clickhouse: ClickHouseClient, projection: number, timeoutMs: number): Promise<void> {
  const [{ now }] = (await (await clickhouse.query({ query: 'SELECT toString(now64(6)) AS now', format: 'JSONEachRow' })).json<{ now: string }>()) as [{ now: string }];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const rows = await (await clickhouse.query({
      query: `SELECT count() AS n FROM joiner_progress FINAL WHERE name = {name:String} AND written_until >= toDateTime64({now:String}, 6)`,
      query_params: { name: `settle:${projection}`, now },
      format: 'JSONEachRow',
    })).json<{ n: string }>();
    if (rows[0]?.n === '1') return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the outcome joiner did not join projection ${projection} within ${timeoutMs} ms: is it running?`);
}
