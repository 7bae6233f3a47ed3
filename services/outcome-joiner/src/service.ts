import {
  assertTopicsExist, BatchConsumer, createKafka, createMetricsRegistry, createServiceHttp, DeadLetterSink, Projections,
  type ClickHouseClient, type Logger, type SchemaRegistry,
} from '@tokenledger/infra';
import { outcomeEventAvro, outcomeEventSchema, topics, type OutcomeEvent } from '@tokenledger/schemas';
import { ClickHouseJoinStore } from './clickhouse-store.js';
import type { JoinerConfig } from './config.js';
import { InsertFence } from './insert-fence.js';
import { claimRows, outcomeEventRow } from './rows.js';
import { Settler, type Clock } from './settle.js';

export interface JoinerDeps {
  logger: Logger;
  clickhouse: ClickHouseClient;
  registry: SchemaRegistry;
  /** Defaults to wall time; tests move it past the horizon. */
  clock?: Clock;
}

export interface JoinerService {
  url: string;
  /** One settle pass now (tests and replays use it to wait for the join). */
  settle(): Promise<{ outcomes: number; noOutcomeRuns: number }>;
  stop(): Promise<void>;
}

/**
 * Outcome events go to ClickHouse (all of them, deduplicated) with the runs they claim; the
 * settle loop joins them to the usage facts the attributor wrote. Join state lives only in
 * ClickHouse tables, so a crash loses nothing and a restart recomputes the same facts.
 */
export async function startJoiner(config: JoinerConfig, deps: JoinerDeps): Promise<JoinerService> {
  const log = deps.logger;
  const metrics = createMetricsRegistry('outcome-joiner');
  const kafka = createKafka(config.KAFKA_BROKERS, 'tokenledger-outcome-joiner', log);
  const admin = kafka.admin();
  await admin.connect();
  await assertTopicsExist(admin, [topics.outcomes, topics.deadLetter]);
  await admin.disconnect();

  const deadLetters = new DeadLetterSink(kafka, topics.deadLetter);
  const fence = new InsertFence();
  await deadLetters.start();
  const consumer = new BatchConsumer<OutcomeEvent>({
    name: 'outcome-joiner',
    kafka,
    groupId: config.JOINER_GROUP_ID,
    topic: topics.outcomes,
    registry: deps.registry,
    readerSchema: outcomeEventAvro,
    contract: outcomeEventSchema,
    deadLetters,
    log,
    metrics,
    async handle(messages) {
      const events = messages.map((m) => outcomeEventRow(m.value, m));
      const claims = messages.flatMap((m) => claimRows(m.value));
      await deps.clickhouse.insert({ table: 'outcome_claims', values: claims, format: 'JSONEachRow' });
      // Events last: the settle loop finds outcomes by their events, and their claims are then in place.
      await fence.insert(() => deps.clickhouse.insert({ table: 'outcome_events', values: events, format: 'JSONEachRow' }));
    },
  });
  await consumer.start();

  const projections = new Projections(deps.clickhouse);
  await projections.start();
  const settler = new Settler({
    clickhouse: deps.clickhouse,
    projections: () => projections.active(),
    storeFor: (projection) => new ClickHouseJoinStore(deps.clickhouse, projection),
    horizonMs: config.JOINER_HORIZON_HOURS * 3_600_000,
    visibilityLagMs: config.JOINER_VISIBILITY_LAG_MS,
    fence,
    intervalMs: config.JOINER_SETTLE_INTERVAL_MS,
    humanRateNanoPerHour: config.JOINER_HUMAN_COST_PER_HOUR_USD,
    clock: deps.clock ?? { now: () => Date.now() },
    log,
    metrics,
  });
  settler.start();

  const app = createServiceHttp({ logger: log, metrics, isReady: () => consumer.isHealthy && settler.isHealthy });
  const url = await app.listen({ port: config.JOINER_PORT, host: config.JOINER_HOST });
  log.info({ event: 'service_started', url }, 'outcome-joiner consuming');
  return {
    url,
    settle: () => settler.settleOnce(),
    async stop() {
      await app.close();
      await settler.stop();
      await consumer.stop();
      await deadLetters.stop();
      projections.stop();
    },
  };
}
